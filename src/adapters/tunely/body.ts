/**
 * Visitor request bodies for tunely: read whole (tunely sends them inside one JSON message) under a
 * named cap, and decoded as strict UTF-8 — a binary body would be corrupted by the text protocol,
 * so it is refused instead (BURROW_ERR_TUNELY_BINARY_BODY).
 */
import type { IncomingMessage } from 'node:http';
import { BurrowError } from '../../core/errors.js';
import './errors.js';

/** Strict UTF-8: invalid sequences throw; a leading BOM is kept (it is part of the bytes). */
export function decodeUtf8Strict(buf: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf);
  } catch {
    return undefined;
  }
}

/** Text of a complete body, or BURROW_ERR_TUNELY_BINARY_BODY. */
export function bodyText(buf: Buffer, contentType: string | undefined): string {
  const text = decodeUtf8Strict(buf);
  if (text === undefined) {
    throw new BurrowError(
      'BURROW_ERR_TUNELY_BINARY_BODY',
      `the ${buf.length}-byte body${contentType ? ` (${contentType.slice(0, 80)})` : ''} would be corrupted; use \`burrow http\` for binary uploads`,
    );
  }
  return text;
}

/**
 * Read a request body (up to maxBytes) and return it as text, or null when there is none (GET,
 * HEAD, empty). Rejects with BURROW_ERR_TUNELY_BODY_TOO_LARGE / BURROW_ERR_TUNELY_BINARY_BODY, or
 * the stream's error when the visitor goes away.
 */
export function readTextBody(req: IncomingMessage, maxBytes: number): Promise<string | null> {
  const method = (req.method ?? 'GET').toUpperCase();
  const tooLarge = (): BurrowError =>
    new BurrowError('BURROW_ERR_TUNELY_BODY_TOO_LARGE', `the limit is ${maxBytes} bytes (maxBodyBytes)`);
  if (method === 'GET' || method === 'HEAD') {
    req.resume();
    return Promise.resolve(null);
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (c: Buffer): void => {
      if (done) return;
      size += c.length;
      if (size > maxBytes) {
        done = true;
        req.off('data', onData);
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (done) return;
      done = true;
      if (size === 0) return resolve(null);
      try {
        resolve(bodyText(Buffer.concat(chunks, size), req.headers['content-type']));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    req.once('error', (err) => {
      if (done) return;
      done = true;
      reject(err);
    });
    req.once('close', () => {
      if (done) return;
      done = true;
      reject(new Error('the visitor closed the request before its body ended'));
    });
  });
}
