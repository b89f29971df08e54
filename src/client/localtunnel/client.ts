/**
 * A localtunnel/pipenet-protocol client with burrow's reliability: it speaks the localtunnel wire
 * protocol to any localtunnel, pipenet or burrow server (handshake, a pool of raw sockets, the
 * shared-port `<id>\n` line), keeps the pool full with backoff + jitter + cap, and when the pool
 * port stays unreachable it redoes the handshake asking for the same name.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { BurrowError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import { backoffDelay, type BackoffOptions } from '../../core/backoff.js';
import { describeTarget, parseLocalTarget, type LocalTarget } from '../burrow/local-target.js';
import { HandshakeError, handshakeUrl, requestTunnel, type LocaltunnelAssignment } from './handshake.js';
import { openPoolSocket } from './pool-socket.js';
import type { RequestLine } from './request-framer.js';

/** After this many consecutive pool connection failures with no socket up, redo the handshake. */
export const REHANDSHAKE_AFTER_FAILURES = 4;
/** A pool socket that closes sooner than this without carrying a request counts as a failure, in ms. */
export const MIN_HEALTHY_SOCKET_MS = 1_000;
/** How long open() waits for the first pool socket to connect, in ms. */
export const FIRST_SOCKET_TIMEOUT_MS = 15_000;
/** Default server (a local `burrow server`). */
export const DEFAULT_LOCALTUNNEL_SERVER = 'http://localhost:8080';

/** Options in both spellings: localtunnel's snake_case and pipenet's camelCase. */
export interface LocaltunnelOptions {
  port?: number;
  /** Server base URL (lt --host / pipenet --host). */
  host?: string;
  subdomain?: string;
  local_host?: string;
  localHost?: string;
  local_https?: boolean;
  localHttps?: boolean;
  local_cert?: string;
  localCert?: string;
  local_key?: string;
  localKey?: string;
  local_ca?: string;
  localCa?: string;
  allow_invalid_cert?: boolean;
  allowInvalidCert?: boolean;
  /** Extra handshake headers (pipenet --headers). */
  headers?: Record<string, string>;
  /** Keep the pool full and redo the handshake after drops (default true). */
  reconnect?: boolean;
  backoff?: BackoffOptions;
  /** Use at most this many pool sockets even if the server allows more. */
  maxSockets?: number;
  logger?: Logger;
}

export interface LocaltunnelClientEvents {
  url: [string];
  request: [RequestLine];
  error: [Error];
  close: [];
  /** burrow extras. */
  reconnecting: [{ attempt: number; delayMs: number; error: Error }];
  reconnected: [{ url: string }];
}

export class LocaltunnelClient extends EventEmitter<LocaltunnelClientEvents> {
  url: string | undefined;
  clientId: string | undefined;
  cachedUrl: string | undefined;
  closed = false;
  readonly target: LocalTarget;
  readonly #o: LocaltunnelOptions;
  readonly #host: string;
  readonly #rewriteHost: string | undefined;
  readonly #log: Logger;
  #info: LocaltunnelAssignment | undefined;
  readonly #sockets = new Map<net.Socket, { openedAt: number; connected: boolean; served: boolean }>();
  #failures = 0;
  #rehandshaking = false;
  #connected = 0;
  #timers = new Set<NodeJS.Timeout>();
  #firstOpen: ((err?: Error) => void) | undefined;

  constructor(options: LocaltunnelOptions) {
    super();
    this.#o = options;
    this.#host = options.host ?? process.env['BURROW_SERVER'] ?? DEFAULT_LOCALTUNNEL_SERVER;
    this.#log = options.logger ?? silentLogger();
    const localHost = options.localHost ?? options.local_host;
    this.#rewriteHost = localHost;
    if (options.port === undefined) throw new BurrowError('BURROW_ERR_BAD_REQUEST', 'localtunnel needs a local port');
    const defaults: Partial<LocalTarget> = { host: localHost ?? 'localhost' };
    if (options.localHttps ?? options.local_https) defaults.https = true;
    if (options.allowInvalidCert ?? options.allow_invalid_cert) defaults.allowInvalidCert = true;
    const cert = options.localCert ?? options.local_cert;
    const key = options.localKey ?? options.local_key;
    const ca = options.localCa ?? options.local_ca;
    if (cert) defaults.cert = cert;
    if (key) defaults.key = key;
    if (ca) defaults.ca = ca;
    this.target = parseLocalTarget(options.port, defaults);
    handshakeUrl(this.#host, options.subdomain); // validate early
  }

  /** Live pool sockets. */
  get connectedSockets(): number {
    return this.#connected;
  }

  /** Handshake (retrying while the server is unreachable), then fill the pool. Resolves once one pool socket is up. */
  async open(): Promise<this> {
    const info = await this.#handshakeWithRetry(this.#o.subdomain);
    this.#apply(info);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          done(
            new BurrowError(
              'BURROW_ERR_SERVER_UNREACHABLE',
              `could not connect to the tunnel pool at ${this.#poolHost(info)}:${info.port} within ${FIRST_SOCKET_TIMEOUT_MS} ms (firewall? the server's pool ports must be reachable)`,
            ),
          ),
        FIRST_SOCKET_TIMEOUT_MS,
      );
      const done = (err?: Error): void => {
        clearTimeout(timer);
        this.#firstOpen = undefined;
        if (err) reject(err);
        else resolve();
      };
      this.#firstOpen = done;
      this.#fill();
    }).catch((err: unknown) => {
      this.close();
      throw err;
    });
    this.emit('url', this.url!);
    return this;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const s of this.#sockets.keys()) s.destroy();
    this.#sockets.clear();
    this.#firstOpen?.(new BurrowError('BURROW_ERR_AGENT_GONE', 'closed before the tunnel was up'));
    this.emit('close');
  }

  #emitError(err: Error): void {
    this.#log.warn({ err: err.message }, 'localtunnel client error');
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    this.#timers.add(t);
  }

  async #handshakeWithRetry(subdomain: string | undefined): Promise<LocaltunnelAssignment> {
    const url = handshakeUrl(this.#host, subdomain);
    for (let attempt = 1; ; attempt++) {
      try {
        return await requestTunnel(url, { headers: this.#o.headers });
      } catch (err) {
        const e = err as Error;
        if (this.closed) throw new BurrowError('BURROW_ERR_AGENT_GONE', 'closed');
        if ((e instanceof HandshakeError && e.final) || this.#o.reconnect === false) throw e;
        const delayMs = backoffDelay(attempt, this.#o.backoff);
        this.#log.info({ attempt, delayMs, err: e.message }, 'localtunnel handshake failed, retrying');
        this.emit('reconnecting', { attempt, delayMs, error: e });
        await new Promise<void>((r) => this.#later(delayMs, r));
        if (this.closed) throw new BurrowError('BURROW_ERR_AGENT_GONE', 'closed');
      }
    }
  }

  #apply(info: LocaltunnelAssignment): void {
    this.#info = info;
    this.url = info.url;
    this.clientId = info.id;
    this.cachedUrl = info.cachedUrl;
  }

  #poolHost(info: LocaltunnelAssignment): string {
    return info.ip ?? new URL(this.#host).hostname.replace(/^\[|\]$/g, '');
  }

  #poolSize(): number {
    const n = this.#info?.maxConn ?? 1;
    return this.#o.maxSockets ? Math.max(1, Math.min(n, this.#o.maxSockets)) : n;
  }

  /** Open sockets until the pool has its advertised size. */
  #fill(): void {
    if (this.closed || !this.#info || this.#rehandshaking) return;
    while (this.#sockets.size < this.#poolSize()) this.#openOne(this.#info);
  }

  #openOne(info: LocaltunnelAssignment): void {
    const state = { openedAt: Date.now(), connected: false, served: false };
    const socket = openPoolSocket({
      host: this.#poolHost(info),
      port: info.port,
      idLine: info.sharedTunnel ? info.id : undefined,
      target: this.target,
      rewriteHost: this.#rewriteHost,
      onRequest: (r) => {
        state.served = true;
        this.emit('request', r);
      },
      onLocalError: (err) => this.#emitError(err),
    });
    this.#sockets.set(socket, state);
    socket.once('connect', () => {
      state.connected = true;
      this.#connected++;
      this.#firstOpen?.();
    });
    let lastError: Error | undefined;
    socket.on('error', (err) => {
      lastError = err;
    });
    socket.once('close', () => {
      if (state.connected) this.#connected--;
      this.#sockets.delete(socket);
      if (this.closed) return;
      const healthy = state.served || (state.connected && Date.now() - state.openedAt >= MIN_HEALTHY_SOCKET_MS);
      if (healthy) {
        this.#failures = 0;
        this.#fill();
        return;
      }
      if (this.#o.reconnect === false) {
        if (this.#sockets.size === 0) {
          this.#emitError(new BurrowError('BURROW_ERR_AGENT_GONE', 'all pool sockets closed'));
          this.close();
        }
        return;
      }
      this.#failures++;
      const err =
        lastError ??
        new BurrowError(
          'BURROW_ERR_AGENT_GONE',
          `the server closed pool socket ${this.#poolHost(info)}:${info.port} at once`,
        );
      if (this.#failures >= REHANDSHAKE_AFTER_FAILURES && this.#connected === 0) {
        this.#rehandshake(err);
        return;
      }
      const delayMs = backoffDelay(this.#failures, this.#o.backoff);
      if (this.#failures === 1 || this.#connected === 0)
        this.emit('reconnecting', { attempt: this.#failures, delayMs, error: err });
      this.#later(delayMs, () => this.#fill());
    });
  }

  /** The pool port is gone (tunnel expired, server restarted): ask for the same name again. */
  #rehandshake(cause: Error): void {
    if (this.#rehandshaking) return;
    this.#rehandshaking = true;
    for (const s of this.#sockets.keys()) s.destroy();
    this.#log.info({ err: cause.message }, 'localtunnel pool unreachable, redoing the handshake');
    this.#handshakeWithRetry(this.clientId ?? this.#o.subdomain).then(
      (info) => {
        this.#rehandshaking = false;
        this.#failures = 0;
        if (this.closed) return;
        const changed = info.url !== this.url;
        this.#apply(info);
        if (changed) this.#log.warn({ url: info.url }, 'localtunnel tunnel URL changed after reconnect');
        this.emit('reconnected', { url: info.url });
        this.#fill();
      },
      (err: Error) => {
        this.#rehandshaking = false;
        if (this.closed) return;
        this.#emitError(err);
        this.close();
      },
    );
  }

  /** For logs: where requests go. */
  describe(): string {
    return `${this.url ?? '(not open)'} → ${describeTarget(this.target)}`;
  }
}
