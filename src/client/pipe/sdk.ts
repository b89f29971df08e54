/**
 * The pipe's client side: `pipe.send(path, body, opts)` and `pipe.receive(path, opts)` return Node
 * streams; failures arrive as typed BurrowErrors (on the stream and on its `response`/`done`).
 */
import {
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import { PassThrough, Readable } from 'node:stream';
import { BurrowError, type ErrorCode } from '../../core/errors.js';
import type { TlsTrust } from '../../core/tls-trust.js';
import { serverUnreachable } from '../../core/unreachable.js';
import { MAX_PATH_LENGTH, MAX_RECEIVERS } from '../../wire/pipe/limits.js';
import { PIPE_API_PREFIX } from '../../wire/pipe/target.js';
import type { PipeHealth } from '../../wire/pipe/health.js';

export interface PipeClientOptions {
  /** Base URL of the pipe: `http://host:port` (pipe port/host) or `https://host/api/v1/pipe`. */
  server: string;
  /** Extra request headers. */
  headers?: OutgoingHttpHeaders;
  /** A token for a server that requires one (`--auth token`): sent as `Authorization: Bearer`. */
  token?: string;
  signal?: AbortSignal;
  /** Which server certificates to trust over https:// (a private CA: `{ ca }`; default Node's list). */
  tls?: TlsTrust;
}

export interface PipeSendOptions extends PipeClientOptions {
  /** Number of receivers (1–256, all peers must agree). */
  n?: number;
  contentType?: string;
  /** Known body size: sent as Content-Length so receivers see it (and progress has an ETA). */
  contentLength?: number;
  /** Suggested filename for receivers (sent as Content-Disposition). */
  filename?: string;
  /** `X-Piping` / `X-Hoody-Pipe` side-channel values. */
  xPiping?: string | string[];
  xHoodyPipe?: string;
  method?: 'PUT' | 'POST';
}

export interface PipeReceiveOptions extends PipeClientOptions {
  n?: number;
  download?: boolean;
  filename?: string;
}

export interface PipeResponseInfo {
  status: number;
  headers: IncomingHttpHeaders;
  /** From Content-Length when the sender sent one. */
  contentLength: number | undefined;
}

/** The sender's `[INFO]` log as a text stream; `done` settles when the transfer does. */
export interface PipeSendStream extends Readable {
  readonly response: Promise<PipeResponseInfo>;
  readonly done: Promise<void>;
}

/** The received bytes; `response` resolves with the headers once the transfer starts. */
export interface PipeReceiveStream extends Readable {
  readonly response: Promise<PipeResponseInfo>;
}

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'BURROW_ERR_PIPE_REJECTED',
  401: 'BURROW_ERR_UNAUTHORIZED',
  403: 'BURROW_ERR_FORBIDDEN',
  405: 'BURROW_ERR_PIPE_REJECTED',
  408: 'BURROW_ERR_PIPE_TIMEOUT',
  414: 'BURROW_ERR_PIPE_PATH_TOO_LONG',
  429: 'BURROW_ERR_PIPE_BUSY',
  503: 'BURROW_ERR_SHUTTING_DOWN',
};

/** Encodes a pipe path for a URL, segment by segment (slashes kept). */
function encodePath(path: string): string {
  return path
    .replace(/^\/+/, '')
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

function checkPath(path: string): void {
  const p = path.replace(/^\/+/, '');
  if (p === '') throw new BurrowError('BURROW_ERR_PIPE_REJECTED', 'the pipe path is empty');
  if (encodePath(p).length > MAX_PATH_LENGTH) {
    throw new BurrowError('BURROW_ERR_PIPE_PATH_TOO_LONG', `path must be at most ${MAX_PATH_LENGTH} characters`);
  }
}

function checkN(n: number | undefined): void {
  if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > MAX_RECEIVERS)) {
    throw new BurrowError('BURROW_ERR_PIPE_REJECTED', `n must be an integer from 1 to ${MAX_RECEIVERS}`);
  }
}

/** The URL of `path` on `server`, with a query. */
export function pipeUrl(server: string, path: string, query: Record<string, string | number | undefined> = {}): URL {
  const url = new URL(`${server.replace(/\/+$/, '')}/${encodePath(path)}`);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  return url;
}

export interface PipeUrls {
  send: string;
  receive: string;
  progress: string;
  video: string;
  curlSend: string;
  curlReceive: string;
  curlProgress: string;
}

/** Every URL and curl line for one path (`burrow pipe url`). */
export function pipeUrls(server: string, path: string, n?: number): PipeUrls {
  const q = n !== undefined && n > 1 ? { n } : {};
  const base = pipeUrl(server, path, q).toString();
  const progress = pipeUrl(server, path, { progress: 1 }).toString();
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  return {
    send: base,
    receive: base,
    progress,
    video: pipeUrl(server, path, { ...q, video: 1 }).toString(),
    curlSend: `curl -T myfile ${quote(base)}`,
    curlReceive: `curl ${quote(base)} > myfile`,
    curlProgress: `curl -N -H 'Accept: text/event-stream' ${quote(progress)}`,
  };
}

function errorFromStatus(status: number, body: string): BurrowError {
  const text = body.replace(/^\[ERROR\]\s*/, '').trim() || `HTTP ${status}`;
  return new BurrowError(STATUS_CODES[status] ?? 'BURROW_ERR_PIPE_REJECTED', text);
}

function readText(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      if (size < 64 * 1024) chunks.push(c);
      size += c.length;
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** The request headers of `opts`: its own, `defaults` under them, the token as a bearer. */
function requestHeaders(opts: PipeClientOptions, defaults: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ...defaults, ...opts.headers };
  if (opts.token !== undefined && opts.token !== '') headers.authorization = `Bearer ${opts.token}`;
  return headers;
}

function startRequest(method: string, url: URL, headers: OutgoingHttpHeaders, opts: PipeClientOptions) {
  const signal = opts.signal ? { signal: opts.signal } : {};
  if (url.protocol === 'https:') return httpsRequest(url, { method, headers, ...signal, ...opts.tls });
  return httpRequest(url, { method, headers, ...signal });
}

function info(res: IncomingMessage): PipeResponseInfo {
  const cl = res.headers['content-length'];
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    contentLength: cl === undefined ? undefined : Number(cl),
  };
}

/** Sends `body` to `path`. The returned stream carries the server's `[INFO]` lines. */
export function send(
  path: string,
  body: Readable | Buffer | Uint8Array | string,
  opts: PipeSendOptions,
): PipeSendStream {
  checkPath(path);
  checkN(opts.n);
  const url = pipeUrl(opts.server, path, { n: opts.n !== undefined && opts.n > 1 ? opts.n : undefined });
  const headers = requestHeaders(opts);
  if (opts.contentType !== undefined) headers['content-type'] = opts.contentType;
  const size =
    opts.contentLength ??
    (typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.length : undefined);
  if (size !== undefined) headers['content-length'] = size;
  if (opts.filename !== undefined) {
    headers['content-disposition'] = `attachment; filename="${opts.filename.replace(/[^\x20-\x7e]|"/g, '_')}"`;
  }
  if (opts.xPiping !== undefined) headers['x-piping'] = opts.xPiping;
  if (opts.xHoodyPipe !== undefined) headers['x-hoody-pipe'] = opts.xHoodyPipe;
  const out = new PassThrough() as PassThrough & { response: Promise<PipeResponseInfo>; done: Promise<void> };
  let tail = '';
  let resolveResponse!: (i: PipeResponseInfo) => void;
  let rejectResponse!: (e: BurrowError) => void;
  let resolveDone!: () => void;
  let rejectDone!: (e: BurrowError) => void;
  Object.defineProperty(out, 'response', {
    value: new Promise<PipeResponseInfo>((a, b) => ((resolveResponse = a), (rejectResponse = b))),
  });
  Object.defineProperty(out, 'done', { value: new Promise<void>((a, b) => ((resolveDone = a), (rejectDone = b))) });
  out.response.catch(() => {});
  out.done.catch(() => {});
  let failed = false;
  const req = startRequest(opts.method ?? 'PUT', url, headers, opts);
  const fail = (err: BurrowError): void => {
    if (failed) return;
    failed = true;
    rejectResponse(err);
    rejectDone(err);
    out.destroy(err);
    req.destroy(); // stop uploading: the transfer is over
  };
  let responded = false;
  /** The upload was cut after the server answered: its last [ERROR] line says why, when it got out. */
  const cut = (): void => {
    setImmediate(() => {
      const lastLine = tail.trimEnd().split('\n').pop() ?? '';
      fail(
        lastLine.startsWith('[ERROR]')
          ? errorFromStatus(400, lastLine)
          : new BurrowError('BURROW_ERR_PIPE_ABORTED', 'the server cut the upload before the transfer completed'),
      );
    });
  };
  req.on('error', (err) => (responded ? cut() : fail(serverUnreachable(url, err))));
  out.once('close', () => {
    if (!failed) req.destroy();
  });
  req.on('response', (res) => {
    if (res.statusCode !== 200) {
      void readText(res).then((text) => fail(errorFromStatus(res.statusCode ?? 0, text)));
      return;
    }
    responded = true;
    resolveResponse(info(res));
    res.on('data', (c: Buffer) => {
      tail = (tail + c.toString('latin1')).slice(-4096);
      out.write(c);
    });
    res.on('error', cut);
    res.on('end', () => {
      if (!res.complete) return cut();
      const lastLine = tail.trimEnd().split('\n').pop() ?? '';
      if (lastLine.startsWith('[ERROR]')) return fail(errorFromStatus(400, lastLine));
      failed = true;
      resolveDone();
      out.end();
    });
  });
  if (typeof body === 'string' || body instanceof Uint8Array) req.end(body);
  else {
    body.on('error', (err) => {
      fail(new BurrowError('BURROW_ERR_PIPE_ABORTED', `reading the body failed: ${err.message}`, { cause: err }));
      req.destroy();
    });
    // the server counts the sender from its headers, not from its first byte (a stream may wait)
    req.flushHeaders();
    body.pipe(req);
  }
  return out;
}

/** Receives `path`. The stream ends when the transfer completes and errors when it is cut. */
export function receive(path: string, opts: PipeReceiveOptions): PipeReceiveStream {
  checkPath(path);
  checkN(opts.n);
  const url = pipeUrl(opts.server, path, {
    n: opts.n !== undefined && opts.n > 1 ? opts.n : undefined,
    download: opts.download === undefined ? undefined : opts.download ? '1' : '0',
    filename: opts.filename,
  });
  const out = new PassThrough() as PassThrough & { response: Promise<PipeResponseInfo> };
  let resolveResponse!: (i: PipeResponseInfo) => void;
  let rejectResponse!: (e: BurrowError) => void;
  Object.defineProperty(out, 'response', {
    value: new Promise<PipeResponseInfo>((a, b) => ((resolveResponse = a), (rejectResponse = b))),
  });
  out.response.catch(() => {});
  let settled = false;
  const fail = (err: BurrowError): void => {
    if (settled) return;
    settled = true;
    rejectResponse(err);
    out.destroy(err);
  };
  const req = startRequest('GET', url, requestHeaders(opts, { accept: '*/*' }), opts);
  req.on('error', (err) => fail(serverUnreachable(url, err)));
  // Destroying the stream gives up the receiver slot.
  out.once('close', () => {
    if (!settled) req.destroy();
  });
  req.on('response', (res) => {
    if (res.statusCode !== 200) {
      void readText(res).then((text) => fail(errorFromStatus(res.statusCode ?? 0, text)));
      return;
    }
    resolveResponse(info(res));
    const cut = (): void =>
      fail(new BurrowError('BURROW_ERR_PIPE_ABORTED', 'the sender left before the transfer completed'));
    res.on('error', cut);
    res.on('aborted', cut);
    res.on('end', () => {
      if (!res.complete) return cut();
      settled = true;
    });
    res.pipe(out);
  });
  req.end();
  return out;
}

/** GET the pipe's health JSON. */
export async function health(opts: PipeClientOptions): Promise<PipeHealth> {
  const base = opts.server.replace(/\/+$/, '');
  const url = new URL(base.endsWith(PIPE_API_PREFIX) ? `${base}/health` : `${base}${PIPE_API_PREFIX}/health`);
  return new Promise((resolve, reject) => {
    const req = startRequest('GET', url, requestHeaders(opts, { accept: 'application/json' }), opts);
    req.on('error', (err) => reject(serverUnreachable(url, err)));
    req.on('response', (res) => {
      void readText(res).then((text) => {
        if (res.statusCode !== 200) return reject(errorFromStatus(res.statusCode ?? 0, text));
        try {
          resolve(JSON.parse(text) as PipeHealth);
        } catch {
          reject(
            new BurrowError('BURROW_ERR_PIPE_REJECTED', `${url.href} did not answer JSON; is this a burrow pipe?`),
          );
        }
      });
    });
    req.end();
  });
}

/** One `?progress` Server-Sent Event. */
export interface PipeWatchEvent {
  event: 'state' | 'progress' | 'done';
  data: Record<string, unknown>;
}

/** Watches `path` (`?progress`, SSE) until its transfer is done; takes no receiver slot. */
export async function* watch(path: string, opts: PipeClientOptions): AsyncGenerator<PipeWatchEvent> {
  checkPath(path);
  const url = pipeUrl(opts.server, path, { progress: 1 });
  const req = startRequest('GET', url, requestHeaders(opts, { accept: 'text/event-stream' }), opts);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    req.on('error', (err) => reject(serverUnreachable(url, err)));
    req.on('response', resolve);
    req.end();
  });
  try {
    if (res.statusCode !== 200) throw errorFromStatus(res.statusCode ?? 0, await readText(res));
    res.setEncoding('utf8');
    let buf = '';
    for await (const chunk of res as AsyncIterable<string>) {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n\n')) !== -1) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const name = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if ((name === 'state' || name === 'progress' || name === 'done') && data !== undefined) {
          yield { event: name, data: JSON.parse(data) as Record<string, unknown> };
          if (name === 'done') return;
        }
      }
    }
  } finally {
    req.destroy();
  }
}

/** The SDK namespace: `import { pipe } from 'burrow/pipe'` then `pipe.send(…)`. */
export const pipe = { send, receive, watch, health, url: pipeUrl, urls: pipeUrls } as const;
