/**
 * bench/soak's visitors: one function per kind of traffic, each doing one bounded operation through
 * the burrow server at 127.0.0.1 and throwing an Error whose message is the cause ("HTTP 502
 * BURROW_ERR_AGENT_GONE", "ECONNRESET", "sha256 mismatch", "timeout after 30 s", …) when anything is
 * not exactly as expected.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { WebSocket } from 'ws';
import { patternBytes, patternChunks, patternDigest } from './soak-data.js';

export interface Target {
  port: number;
  /** The Host header: `<name>.localhost` for a tunnel, `127.0.0.1:<port>` for the server itself. */
  host: string;
}

export interface CallOptions {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** A body of `bytes` bytes of the soak pattern from `seed`, with Content-Length or chunked. */
  body?: { bytes: number; seed: number; chunked: boolean };
  agent: http.Agent | false;
  timeoutMs: number;
  /** Hash the response body (SHA-256 hex in `sha256`). */
  digest?: boolean;
  /** Keep up to this many bytes of the body as text. */
  keepText?: number;
}

export interface CallResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  bytes: number;
  sha256?: string;
  text: string;
}

/** The cause of a socket-level failure, short and stable enough to count by. */
export function causeOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? e?.message ?? String(err);
}

function statusCause(status: number, headers: http.IncomingHttpHeaders): string {
  const code = headers['x-burrow-error'];
  return `HTTP ${status}${typeof code === 'string' ? ` ${code}` : ''}`;
}

/** One HTTP request; resolves once the whole response body has arrived. */
export function call(t: Target, o: CallOptions): Promise<CallResult> {
  return new Promise<CallResult>((resolve, reject) => {
    let done = false;
    const finish = (err: Error | undefined, r?: CallResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(r!);
    };
    const headers: Record<string, string> = { host: t.host, ...o.headers };
    if (o.body && !o.body.chunked) headers['content-length'] = String(o.body.bytes);
    const req = http.request({
      host: '127.0.0.1',
      port: t.port,
      method: o.method ?? 'GET',
      path: o.path,
      headers,
      agent: o.agent,
    });
    const timer = setTimeout(() => finish(new Error(`timeout after ${o.timeoutMs / 1000} s`)), o.timeoutMs);
    req.on('error', (e) => finish(new Error(causeOf(e))));
    req.on('response', (res) => {
      const hash = o.digest ? createHash('sha256') : undefined;
      let bytes = 0;
      let text = '';
      const keep = o.keepText ?? 4096;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        hash?.update(c);
        if (text.length < keep) text += c.toString('latin1', 0, Math.min(c.length, keep - text.length));
      });
      res.on('aborted', () => finish(new Error(`response cut after ${bytes} bytes`)));
      res.on('error', (e) => finish(new Error(`response cut after ${bytes} bytes (${causeOf(e)})`)));
      res.on('end', () => {
        const r: CallResult = { status: res.statusCode ?? 0, headers: res.headers, bytes, text };
        if (hash) r.sha256 = hash.digest('hex');
        finish(undefined, r);
      });
    });
    if (!o.body) {
      req.end();
      return;
    }
    const chunks = patternChunks(o.body.bytes, o.body.seed);
    const pump = (): void => {
      for (;;) {
        if (done) return;
        const c = chunks.next();
        if (c.done) {
          req.end();
          return;
        }
        if (!req.write(c.value)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

/** Throw unless the status is `want`. */
export function expectStatus(r: CallResult, want: number): void {
  if (r.status !== want) throw new Error(statusCause(r.status, r.headers));
}

/** A small keep-alive GET: 200 and "ok\n". */
export async function smallGet(t: Target, agent: http.Agent): Promise<number> {
  const r = await call(t, { path: '/small', agent, timeoutMs: 15_000 });
  expectStatus(r, 200);
  if (r.text !== 'ok\n') throw new Error(`wrong body (${r.bytes} bytes)`);
  return r.bytes;
}

/** Download `bytes` bytes: status, byte count, and (if `check`) SHA-256 against the pattern. */
export async function download(
  t: Target,
  agent: http.Agent | false,
  bytes: number,
  seed: number,
  check: boolean,
): Promise<number> {
  const r = await call(t, { path: `/download?bytes=${bytes}&seed=${seed}`, agent, timeoutMs: 60_000, digest: check });
  expectStatus(r, 200);
  if (r.bytes !== bytes) throw new Error(`short body ${r.bytes}/${bytes}`);
  if (check && r.sha256 !== patternDigest(bytes, seed)) throw new Error('sha256 mismatch');
  return bytes;
}

/** Upload `bytes` bytes (Content-Length or chunked); the origin's count and SHA-256 must match. */
export async function upload(
  t: Target,
  agent: http.Agent,
  bytes: number,
  seed: number,
  chunked: boolean,
): Promise<number> {
  const r = await call(t, {
    method: 'POST',
    path: '/upload',
    agent,
    timeoutMs: 60_000,
    body: { bytes, seed, chunked },
  });
  expectStatus(r, 200);
  const got = JSON.parse(r.text) as { bytes: number; sha256: string; chunked: boolean };
  if (got.bytes !== bytes) throw new Error(`origin got ${got.bytes}/${bytes} bytes`);
  if (got.sha256 !== patternDigest(bytes, seed)) throw new Error('sha256 mismatch at the origin');
  if (got.chunked !== chunked) throw new Error(`framing changed (chunked ${chunked} → ${got.chunked})`);
  return bytes;
}

/** An SSE stream of `n` events: every one, in order, and then the end. */
export async function sse(t: Target, agent: http.Agent, n: number, ms: number): Promise<number> {
  const r = await call(t, { path: `/sse?n=${n}&ms=${ms}`, agent, timeoutMs: 30_000, keepText: 65536 });
  expectStatus(r, 200);
  const data = [...r.text.matchAll(/^data: (\d+)$/gm)].map((m) => Number(m[1]));
  if (data.length !== n) throw new Error(`${data.length}/${n} events`);
  data.forEach((v, i) => {
    if (v !== i) throw new Error(`event ${v} where ${i} was due`);
  });
  return n;
}

/** The origin's GET /drop: it closes without answering, so the visitor must get a 502. */
export async function dropped(t: Target): Promise<void> {
  const r = await call(t, { path: '/drop', agent: false, timeoutMs: 30_000 });
  expectStatus(r, 502);
}

/** Open a WebSocket through the tunnel; rejects with the HTTP status if the upgrade is refused. */
export function openWs(t: Target, timeoutMs = 15_000): Promise<WebSocket> {
  return new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/ws`, { headers: { host: t.host }, handshakeTimeout: timeoutMs });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`upgrade refused: ${statusCause(res.statusCode ?? 0, res.headers)}`));
      res.resume();
      ws.terminate();
    });
    ws.once('error', (e) => reject(new Error(causeOf(e))));
  });
}

/** Send one message and wait for its echo (byte for byte). */
export function echoOnce(ws: WebSocket, payload: Buffer, timeoutMs = 15_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no echo in ${timeoutMs / 1000} s`)), timeoutMs);
    const onMessage = (data: Buffer): void => done(data.equals(payload) ? undefined : new Error('echo differs'));
    const onClose = (code: number): void => done(new Error(`closed (${code}) before the echo`));
    const done = (err?: Error): void => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.send(payload);
  });
}

const WS_SIZES = [1, 100, 4096, 65536, 300_000];

/** A short WebSocket session: open, `messages` echoes of varied sizes, a clean close. */
export async function wsSession(t: Target, messages: number, seed: number): Promise<number> {
  const ws = await openWs(t);
  try {
    for (let i = 0; i < messages; i++) await echoOnce(ws, patternBytes(WS_SIZES[i % WS_SIZES.length]!, seed + i));
    const closed = new Promise<number>((r) => ws.once('close', (code: number) => r(code)));
    ws.close(1000);
    const code = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))]);
    if (code !== 1000) throw new Error(code === -1 ? 'no close handshake in 10 s' : `closed with ${code}`);
    return messages;
  } finally {
    ws.terminate();
  }
}

/** Echo `bytes` bytes of the pattern through a TCP port; every byte must come back, in order. */
export function tcpEcho(port: number, bytes: number, seed: number, timeoutMs = 30_000): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const hash = createHash('sha256');
    let got = 0;
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      if (err) reject(err);
      else resolve(bytes);
    };
    const timer = setTimeout(
      () => finish(new Error(`timeout after ${timeoutMs / 1000} s (${got}/${bytes})`)),
      timeoutMs,
    );
    s.on('error', (e) => finish(new Error(causeOf(e))));
    s.on('close', () => finish(new Error(`closed after ${got}/${bytes} bytes`)));
    s.on('data', (c: Buffer) => {
      got += c.length;
      hash.update(c);
      if (got > bytes) finish(new Error(`${got - bytes} bytes too many`));
      else if (got === bytes)
        finish(hash.digest('hex') === patternDigest(bytes, seed) ? undefined : new Error('sha256 mismatch'));
    });
    s.once('connect', () => {
      const chunks = patternChunks(bytes, seed);
      const pump = (): void => {
        for (;;) {
          if (done) return;
          const c = chunks.next();
          if (c.done) return;
          if (!s.write(c.value)) {
            s.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
  });
}

/** One pipe transfer on the server's own host: a sender (PUT, Content-Length) and a receiver. */
export async function pipeTransfer(
  server: Target,
  agent: http.Agent,
  path: string,
  bytes: number,
  seed: number,
): Promise<number> {
  const url = `/api/v1/pipe/${path}`;
  const [recv, send] = await Promise.all([
    call(server, { path: url, agent, timeoutMs: 60_000, digest: true }),
    call(server, { method: 'PUT', path: url, agent, timeoutMs: 60_000, body: { bytes, seed, chunked: false } }),
  ]);
  expectStatus(send, 200);
  if (/\[ERROR\]/.test(send.text)) throw new Error(`sender: ${/\[ERROR\][^\n]*/.exec(send.text)![0]}`);
  expectStatus(recv, 200);
  if (recv.bytes !== bytes) throw new Error(`receiver got ${recv.bytes}/${bytes}`);
  if (recv.sha256 !== patternDigest(bytes, seed)) throw new Error('sha256 mismatch');
  return bytes;
}

/**
 * A visitor that gives up: a raw socket sends `method /slow?id=<id>` (with a small body, or
 * Content-Length: 0) and closes after `abandonMs`, before the slow origin answers. Any byte back before that is a
 * failure (the origin answers after 10 s).
 */
export function abandon(t: Target, method: string, withBody: boolean, id: string, abandonMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const body = withBody ? `{"id":"${id}"}` : '';
    const s = net.connect(t.port, '127.0.0.1');
    let answered = '';
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => finish(answered ? new Error(`answered: ${answered}`) : undefined), abandonMs);
    s.on('error', (e) => finish(new Error(causeOf(e))));
    s.on('data', (c: Buffer) => {
      answered ||= c.toString('latin1').split('\r\n')[0] ?? '';
    });
    s.on('close', () => finish(new Error(answered ? `answered: ${answered}` : 'closed by the server')));
    s.write(
      `${method} /slow?id=${id} HTTP/1.1\r\nHost: ${t.host}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
}
