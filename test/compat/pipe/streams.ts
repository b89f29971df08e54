/** Streams for pipe tests: a deterministic source, its hash, a hashing receiver and a sender. */
import { request, type IncomingHttpHeaders } from 'node:http';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/** A deterministic byte source of `total` bytes in 64 KiB chunks, generated lazily. */
export function source(total: number): Readable {
  let sent = 0;
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) & 0xff;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

export function sha(total: number): string {
  const h = createHash('sha256');
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) & 0xff;
  for (let sent = 0; sent < total; sent += chunk.length)
    h.update(chunk.subarray(0, Math.min(chunk.length, total - sent)));
  return h.digest('hex');
}

/** A receiver that hashes what it gets; `slowEvery` pauses it briefly to make it the slowest. */
export function receiver(url: string, opts: { abortAfter?: number; slow?: boolean } = {}) {
  return new Promise<{ bytes: number; hash: string; complete: boolean; status: number }>((resolve) => {
    const req = request(url, { agent: false }, (res) => {
      const h = createHash('sha256');
      let bytes = 0;
      let finished = false;
      const done = (complete: boolean) => {
        if (finished) return;
        finished = true;
        resolve({ bytes, hash: h.digest('hex'), complete, status: res.statusCode ?? 0 });
      };
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        h.update(c);
        if (opts.abortAfter !== undefined && bytes >= opts.abortAfter) {
          req.destroy();
          done(false);
          return;
        }
        if (opts.slow) {
          res.pause();
          setImmediate(() => setImmediate(() => res.resume()));
        }
      });
      res.on('end', () => done(res.complete));
      res.on('error', () => done(false));
      res.on('close', () => done(res.complete && res.readableEnded));
    });
    req.on('error', () => resolve({ bytes: 0, hash: '', complete: false, status: 0 }));
    req.end();
  });
}

export function sender(url: string, body: Readable, length?: number, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; text: string; headers: IncomingHttpHeaders }>((resolve) => {
    const req = request(
      url,
      {
        method: 'PUT',
        agent: false,
        headers: { ...headers, ...(length === undefined ? {} : { 'content-length': length }) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
      },
    );
    req.on('error', () => resolve({ status: 0, text: '', headers: {} }));
    body.pipe(req);
  });
}
