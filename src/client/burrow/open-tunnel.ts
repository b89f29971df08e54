/** openTunnel(): put a local HTTP service on a public URL through a burrow server. */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { BurrowError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { RegisteredTunnel, RequestEvent } from '../../wire/mux/messages.js';
import type { MuxStream } from '../../wire/mux/mux.js';
import { AgentConnection } from './agent.js';
import type { BackoffOptions } from '../../core/backoff.js';
import { describeTarget, dialLocal, parseLocalTarget, type LocalTarget } from './local-target.js';

/** Default server when none is given (a local `burrow server`). */
export const DEFAULT_SERVER_URL = 'http://localhost:8080';

export interface OpenTunnelOptions {
  /** Local port (or use `url`). */
  port?: number;
  /** Local URL or host:port, e.g. http://localhost:3000 (overrides port/localHost/localHttps). */
  url?: string;
  /** Host of the local service (default localhost). */
  localHost?: string;
  localHttps?: boolean;
  allowInvalidCert?: boolean;
  localCert?: string;
  localKey?: string;
  localCa?: string;
  /** burrow server URL (default http://localhost:8080, or BURROW_SERVER). */
  server?: string;
  /** Requested name (subdomain). */
  subdomain?: string;
  token?: string;
  /** Reconnect after drops (default true). */
  reconnect?: boolean;
  backoff?: BackoffOptions;
  /** Receive per-request events (default true). */
  requestEvents?: boolean;
  window?: number;
  logger?: Logger;
  /** Visitor access rules enforced by the server. */
  access?: Record<string, unknown>;
  /** Rewrite the Host header the local service sees (default: the visitor's Host is kept). */
  hostHeader?: string;
}

export interface TunnelEvents {
  ready: [{ url: string; name: string; id: string }];
  request: [RequestEvent];
  reconnecting: [{ attempt: number; delayMs: number; error: BurrowError }];
  reconnected: [{ url: string }];
  disconnected: [BurrowError];
  error: [BurrowError];
  close: [];
}

export class Tunnel extends EventEmitter<TunnelEvents> {
  readonly target: LocalTarget;
  readonly agent: AgentConnection;
  #current: RegisteredTunnel | undefined;
  #closed = false;

  constructor(agent: AgentConnection, target: LocalTarget) {
    super();
    this.agent = agent;
    this.target = target;
  }

  get url(): string {
    return this.#current?.url ?? '';
  }
  get name(): string {
    return this.#current?.name ?? '';
  }
  get id(): string {
    return this.#current?.id ?? '';
  }
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal */
  setRegistered(t: RegisteredTunnel): void {
    const first = this.#current === undefined;
    this.#current = t;
    if (first) this.emit('ready', { url: t.url, name: t.name, id: t.id });
    else this.emit('reconnected', { url: t.url });
  }

  /**
   * Close the tunnel: the server is told goodbye (ahead of any data still queued) and holds the name
   * briefly for this client's restart. Returns at once; await whenClosed() before the process exits.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.agent.close();
    this.emit('close');
  }

  /**
   * Resolves once close() is over: the server confirmed the goodbye (the WebSocket close handshake),
   * or GOODBYE_TIMEOUT_MS passed. Never rejects; `tunnel.close(); await tunnel.whenClosed();`.
   */
  whenClosed(): Promise<void> {
    return this.agent.whenClosed();
  }
}

/** Copy bytes between a stream and the local service; errors reset the stream with a clear code. */
export function serveStreamLocally(stream: MuxStream, target: LocalTarget): void {
  dialLocal(target).then(
    (local: Duplex) => bridgeStream(stream, local, target),
    (err: BurrowError) => stream.reset(err),
  );
}

/** Copy bytes both ways between a stream and a connected local socket; errors reset the stream. */
export function bridgeStream(stream: MuxStream, local: Duplex, target: LocalTarget): void {
  if (stream.destroyed) {
    local.destroy();
    return;
  }
  local.on('error', (err) =>
    stream.reset(new BurrowError('BURROW_ERR_ORIGIN_ERROR', `${describeTarget(target)}: ${err.message}`)),
  );
  stream.on('error', () => local.destroy());
  local.on('close', () => {
    if (!stream.destroyed && !stream.writableFinished) stream.destroy();
  });
  stream.on('close', () => local.destroy());
  stream.pipe(local);
  local.pipe(stream);
}

export async function openTunnel(options: OpenTunnelOptions): Promise<Tunnel> {
  const defaults: Partial<LocalTarget> = { host: options.localHost ?? 'localhost' };
  if (options.localHttps) defaults.https = true;
  if (options.allowInvalidCert) defaults.allowInvalidCert = true;
  if (options.localCert) defaults.cert = options.localCert;
  if (options.localKey) defaults.key = options.localKey;
  if (options.localCa) defaults.ca = options.localCa;
  const spec = options.url ?? options.port;
  if (spec === undefined) throw new BurrowError('BURROW_ERR_BAD_REQUEST', 'openTunnel needs a local port or url');
  const target = parseLocalTarget(spec, defaults);

  const agent = new AgentConnection({
    server: options.server ?? process.env['BURROW_SERVER'] ?? DEFAULT_SERVER_URL,
    token: options.token,
    ...(options.reconnect !== undefined ? { reconnect: options.reconnect } : {}),
    ...(options.backoff ? { backoff: options.backoff } : {}),
    ...(options.window ? { window: options.window } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const tunnel = new Tunnel(agent, target);
  agent.on('reconnecting', (r) => tunnel.emit('reconnecting', r));
  agent.on('disconnected', (e) => tunnel.emit('disconnected', e));
  agent.on('registered', (_spec, t) => tunnel.setRegistered(t));
  agent.on('close', () => tunnel.close());

  const registered = agent.register({
    kind: 'http',
    name: options.subdomain,
    requestEvents: options.requestEvents ?? true,
    target: describeTarget(target),
    ...(options.access ? { access: options.access } : {}),
    ...(options.hostHeader ? { hostHeader: options.hostHeader } : {}),
    onStream: (stream) => serveStreamLocally(stream, target),
    onRequest: (ev) => tunnel.emit('request', ev),
  });
  await startRegistered(agent, registered, tunnel);
  return tunnel;
}

/**
 * Connect the agent and wait for its registration (closing it again if either fails); after that,
 * agent errors are the tunnel's 'error' events (the agent keeps reconnecting unless an error is final).
 */
export async function startRegistered(
  agent: AgentConnection,
  registered: Promise<unknown>,
  tunnel: { listenerCount(event: 'error'): number; emit(event: 'error', err: Error): boolean },
): Promise<void> {
  registered.catch(() => {});
  try {
    await agent.start();
    await registered;
  } catch (err) {
    agent.close();
    throw err;
  }
  agent.on('error', (e) => {
    if (tunnel.listenerCount('error') > 0) tunnel.emit('error', e);
  });
}
