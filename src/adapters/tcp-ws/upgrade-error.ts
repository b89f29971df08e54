import type { Duplex } from 'node:stream';
import { BurrowError, isBurrowError, RateLimitedError } from '../../core/errors.js';
import { rawHttpResponse, refuseUpgrade } from '../../core/raw-response.js';

/**
 * Answer an upgrade with a complete HTTP error response (status line, JSON body) and then close
 * the socket — never accept-then-close: limrun's client treats a 4xx here as final.
 */
export function rejectUpgrade(socket: Duplex, err: unknown): void {
  const e = isBurrowError(err) ? err : new BurrowError('BURROW_ERR_BAD_REQUEST', String(err));
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: e.toJSON() });
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
  };
  if (e instanceof RateLimitedError) headers['Retry-After'] = e.retryAfter;
  refuseUpgrade(socket, rawHttpResponse(e.status, headers, body));
}
