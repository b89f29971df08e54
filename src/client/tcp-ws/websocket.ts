import type { IncomingHttpHeaders } from 'node:http';
import { WebSocket, type ClientOptions } from 'ws';
import { backoffDelay } from '../../core/backoff.js';
import { maskOptions } from '../../core/ws-mask.js';
import { TCP_WS_MAX_MESSAGE_BYTES } from '../../wire/tcp-ws/limits.js';
import { BURROW_TCP_HEADER, BURROW_TCP_VERSION } from '../../wire/tcp-ws/wire.js';
import type { TcpLinkOptions, TcpTunnelTlsOptions } from './types.js';

export interface TcpWebSocket {
  ws: WebSocket;
  /** Set once the upgrade succeeded: did the server agree to burrow's extensions? */
  extensions(): boolean;
  /** Headers of the server's 101 answer (undefined until the upgrade succeeded). */
  upgradeHeaders(): IncomingHttpHeaders | undefined;
  /** HTTP status of a refused upgrade, if that is how it failed. */
  refusedStatus(): number | undefined;
  lastError(): string | undefined;
}

export interface OpenTcpWebSocketOptions {
  /** More request headers (e.g. multiplexed mode's flow-control offer). */
  headers?: Record<string, string>;
  /** For wss://: the CAs to trust, or no verification at all. */
  tls?: TcpTunnelTlsOptions | undefined;
}

/**
 * Open a WebSocket the way limrun's client does (Bearer token, no compression, query kept), offer
 * burrow's extensions with the X-Burrow-Tcp header, and apply the tunnel's TLS settings. Both modes
 * (singleton links and the multiplexed client) open theirs here.
 */
export function openTcpWebSocket(url: URL, token: string, options: OpenTcpWebSocketOptions = {}): TcpWebSocket {
  const wsOptions: ClientOptions = {
    headers: { Authorization: `Bearer ${token}`, [BURROW_TCP_HEADER]: BURROW_TCP_VERSION, ...options.headers },
    perMessageDeflate: false,
    maxPayload: TCP_WS_MAX_MESSAGE_BYTES,
    // the zero key over TLS or to loopback: no masked copy of every message here, no unmask at the server
    ...maskOptions(url),
  };
  const tls = options.tls;
  if (tls?.ca !== undefined) wsOptions.ca = tls.ca;
  if (tls?.rejectUnauthorized !== undefined) wsOptions.rejectUnauthorized = tls.rejectUnauthorized;
  const ws = new WebSocket(url, wsOptions);
  let upgradeHeaders: IncomingHttpHeaders | undefined;
  let status: number | undefined;
  let lastError: string | undefined;
  ws.on('upgrade', (res) => {
    upgradeHeaders = res.headers;
  });
  ws.on('error', (err) => {
    lastError = err.message;
    const m = /Unexpected server response: (\d+)/.exec(err.message);
    if (m) status = Number(m[1]);
  });
  return {
    ws,
    extensions: () => upgradeHeaders?.[BURROW_TCP_HEADER] !== undefined,
    upgradeHeaders: () => upgradeHeaders,
    refusedStatus: () => status,
    lastError: () => lastError,
  };
}

/** limrun's rule: a 4xx answer to the upgrade is final. */
export function isFinalStatus(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500;
}

/**
 * limrun's backoff: delay·2^tries, capped, no jitter — core/backoff.ts with the tries since the
 * last open counted from 0.
 */
export function limrunReconnectDelay(tries: number, delay: number, maxDelay: number): number {
  return backoffDelay(tries + 1, { initialDelayMs: delay, maxDelayMs: maxDelay, jitter: 0 });
}

/**
 * limrun's reconnect policy, for both modes: after a drop, up to maxReconnectAttempts tries with
 * limrunReconnectDelay() between them; the count starts again once a WebSocket opens.
 */
export class ReconnectSchedule {
  readonly #opts: Pick<TcpLinkOptions, 'maxReconnectAttempts' | 'reconnectDelay' | 'maxReconnectDelay'>;
  #attempts = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: Pick<TcpLinkOptions, 'maxReconnectAttempts' | 'reconnectDelay' | 'maxReconnectDelay'>) {
    this.#opts = options;
  }

  /** Tries made since the last open. */
  get attempts(): number {
    return this.#attempts;
  }

  get exhausted(): boolean {
    return this.#attempts >= this.#opts.maxReconnectAttempts;
  }

  /** A WebSocket opened: the next drop gets the full number of tries again. */
  opened(): void {
    this.#attempts = 0;
  }

  /** Count a try and run `connect` after its delay; returns that delay in ms. */
  schedule(connect: () => void): number {
    const delay = limrunReconnectDelay(this.#attempts, this.#opts.reconnectDelay, this.#opts.maxReconnectDelay);
    this.#attempts++;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      connect();
    }, delay);
    return delay;
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
