import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { BurrowError, isBurrowError, RateLimitedError } from '../../core/errors.js';
import { CLOSE_HANDSHAKE_GRACE_MS } from '../../core/limits.js';

/**
 * Answer an upgrade with a complete HTTP error response (status line, JSON body) and then close
 * the socket — never accept-then-close: limrun's client treats a 4xx here as final.
 */
export function rejectUpgrade(socket: Duplex, err: unknown): void {
  const e = isBurrowError(err) ? err : new BurrowError('BURROW_ERR_BAD_REQUEST', String(err));
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: e.toJSON() });
  const head = [
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...(e instanceof RateLimitedError ? [`Retry-After: ${e.retryAfter}`] : []),
    '',
    '',
  ].join('\r\n');
  socket.end(head + body);
  // end() flushes; make sure a peer that never reads cannot keep the socket.
  const timer = setTimeout(() => socket.destroy(), CLOSE_HANDSHAKE_GRACE_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}
