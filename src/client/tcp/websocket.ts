import { WebSocket } from 'ws';
import { TCP_WS_MAX_MESSAGE_BYTES } from '../../adapters/limrun/limits.js';
import { BURROW_TCP_HEADER, BURROW_TCP_VERSION } from '../../adapters/limrun/wire.js';

export interface TcpWebSocket {
  ws: WebSocket;
  /** Set once the upgrade succeeded: did the server agree to burrow's extensions? */
  extensions(): boolean;
  /** HTTP status of a refused upgrade, if that is how it failed. */
  refusedStatus(): number | undefined;
  lastError(): string | undefined;
}

/**
 * Open the WebSocket the way limrun's client does (Bearer token, no compression, query kept) and
 * offer burrow's extensions with the X-Burrow-Tcp header.
 */
export function openTcpWebSocket(url: URL, token: string): TcpWebSocket {
  const ws = new WebSocket(url, {
    headers: { Authorization: `Bearer ${token}`, [BURROW_TCP_HEADER]: BURROW_TCP_VERSION },
    perMessageDeflate: false,
    maxPayload: TCP_WS_MAX_MESSAGE_BYTES,
  });
  let extensions = false;
  let status: number | undefined;
  let lastError: string | undefined;
  ws.on('upgrade', (res) => {
    extensions = res.headers[BURROW_TCP_HEADER] !== undefined;
  });
  ws.on('error', (err) => {
    lastError = err.message;
    const m = /Unexpected server response: (\d+)/.exec(err.message);
    if (m) status = Number(m[1]);
  });
  return { ws, extensions: () => extensions, refusedStatus: () => status, lastError: () => lastError };
}

/** limrun's rule: a 4xx answer to the upgrade is final. */
export function isFinalStatus(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500;
}

/** limrun's backoff: delay·2^attempt, capped. */
export function backoffDelay(attempt: number, delay: number, maxDelay: number): number {
  return Math.min(delay * Math.pow(2, attempt), maxDelay);
}
