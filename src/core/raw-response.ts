/**
 * HTTP responses written straight onto a socket no ServerResponse owns: a refused WebSocket
 * upgrade, or an answer inside a pool socket. Written once here; the visitor-facing error pages
 * (src/server/http/pages.ts) build theirs from the error table.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { CLOSE_HANDSHAKE_GRACE_MS } from './limits.js';

/** `HTTP/1.1 <status> <reason>`, the headers in the order given, a blank line, the body. */
export function rawHttpResponse(status: number, headers: Readonly<Record<string, string | number>>, body = ''): string {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return `${head}\r\n${body}`;
}

/**
 * Refuse an upgrade with a complete response and close the socket (never accept-then-close):
 * `response` is written and the socket ended; a peer that never reads is cut after
 * CLOSE_HANDSHAKE_GRACE_MS.
 */
export function refuseUpgrade(socket: Duplex, response: string): void {
  if (socket.destroyed) return;
  socket.end(response);
  const timer = setTimeout(() => socket.destroy(), CLOSE_HANDSHAKE_GRACE_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}
