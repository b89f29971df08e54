import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Readable } from 'node:stream';

/** A request under `http.createServer` or `http2.createServer` (compatibility API). */
export type PipeRequest = IncomingMessage | Http2ServerRequest;
/** A response under `http.createServer` or `http2.createServer` (compatibility API). */
export type PipeResponse = ServerResponse | Http2ServerResponse;

/** The request surface the pipe uses, common to http and http2 compat. */
export interface Req extends Readable {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly httpVersion: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly rawHeaders: string[];
  readonly complete: boolean;
  readonly socket?: object | null;
}

/** The response surface the pipe uses, common to http and http2 compat. */
export interface Res {
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  write(chunk: string | Uint8Array, cb?: (err?: Error | null) => void): boolean;
  end(chunk?: string | Uint8Array): unknown;
  on(event: 'drain' | 'close' | 'finish', fn: () => void): unknown;
  once(event: 'drain' | 'close' | 'finish', fn: () => void): unknown;
  removeListener(event: 'drain' | 'close' | 'finish', fn: () => void): unknown;
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly writableFinished: boolean;
  readonly writableLength?: number;
  readonly destroyed?: boolean;
}

export function asReq(req: PipeRequest): Req {
  return req;
}
export function asRes(res: PipeResponse): Res {
  return res;
}

/** Headers of every sender message and error (piping-server's own: exactly `text/plain`, no charset). */
export const TEXT_HEADERS = { 'Content-Type': 'text/plain', 'Access-Control-Allow-Origin': '*' } as const;

/** Ends `res` with a complete body and its Content-Length. */
export function endWithLength(res: Res, status: number, headers: OutgoingHttpHeaders, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Answers a `[ERROR] …` text (ASCII) with the given status. */
export function sendPipeError(res: Res, status: number, message: string, extra: OutgoingHttpHeaders = {}): void {
  endWithLength(res, status, { ...TEXT_HEADERS, ...extra }, `[ERROR] ${message}\n`);
}

/**
 * Node writes `HTTP/1.1` status lines even to HTTP/1.0 clients; old clients (and piping-server's own behaviour) want
 * `HTTP/1.0`. Rewrites the status line of the first string write on the socket.
 */
export function forceHttp10StatusLine(res: PipeResponse): void {
  const socket = (res as ServerResponse).socket;
  if (!socket) return;
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const original = socket.write;
  const patched = (chunk: unknown, ...rest: unknown[]): boolean => {
    if (typeof chunk === 'string') {
      socket.write = original;
      return (original as (...a: unknown[]) => boolean).apply(socket, [
        chunk.replace(/^HTTP\/1\.1/, 'HTTP/1.0'),
        ...rest,
      ]);
    }
    return (original as (...a: unknown[]) => boolean).apply(socket, [chunk, ...rest]);
  };
  socket.write = patched;
}

/** Cuts a response mid-body so the client sees a truncated transfer, not a complete one. */
export function abortResponse(res: Res): void {
  const r = res as unknown as { stream?: { destroy(err?: Error): void }; destroy?: (err?: Error) => void };
  if (r.stream && typeof r.stream.destroy === 'function') r.stream.destroy();
  else if (typeof r.destroy === 'function') r.destroy();
}

/** Host header under http1 (`host`) and http2 (`:authority`). */
export function hostOf(req: Req): string | undefined {
  const h = req.headers.host ?? req.headers[':authority'];
  return typeof h === 'string' ? h : undefined;
}

/** First value of a header. */
export function header(req: Req, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
