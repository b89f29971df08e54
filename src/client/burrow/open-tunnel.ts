/** openTunnel(): put a local HTTP service on a public URL through a burrow server. */
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeSocketPooled } from '../../core/pooled-reads.js';
import { BurrowError } from '../../core/errors.js';
import type { TunnelRegistration, RequestEvent } from '../../wire/mux/messages.js';
import type { MuxStream } from '../../wire/mux/mux.js';
import {
  AgentConnection,
  agentOptions,
  type ConnectAttempt,
  type ConnectionSettings,
  type RetryInfo,
} from './agent.js';
import { DEFAULT_SERVER_URL, FIRST_CONNECT_TIMEOUT_MS } from './limits.js';
import { formatPortList, inPortList, parsePortList } from '../../core/port-range.js';
import { describeTarget, dialLocal, parseLocalTarget, type LocalTarget } from './local-target.js';
import { Inspector, startInspector, type InspectOptions } from '../inspector/inspector.js';

export { DEFAULT_SERVER_URL };

export interface OpenTunnelOptions extends FirstConnectOptions, ConnectionSettings {
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
  /** Requested name (subdomain). */
  subdomain?: string;
  /** Receive per-request events (default true). */
  requestEvents?: boolean;
  /** Visitor access rules enforced by the server. */
  access?: Record<string, unknown>;
  /** Rewrite the Host header the local service sees (default: the visitor's Host is kept). */
  hostHeader?: string;
  /**
   * More local ports visitors may reach, at `<name>-http-<port>.<domain>` (HTTP to the port) and
   * `<name>-https-<port>.<domain>` (HTTPS to it): ports and ranges, e.g. [5173, '8000-8010'].
   * They are dialled on localHost, with the same certificate settings as the main port.
   */
  allowPorts?: ReadonlyArray<number | string> | string;
  /**
   * Record every request and response in a local inspector (docs/inspector.md): true for one on
   * 127.0.0.1:4040 (or the next free port), its options, or a running Inspector to share (it is not
   * closed with the tunnel). Default off. The tunnel's `inspector` is it.
   */
  inspect?: boolean | InspectOptions | Inspector;
}

/** How the first connection is made: the promise settles, it never pends for ever. */
export interface FirstConnectOptions {
  /**
   * Reject with the last attempt's reason when the first registration has not succeeded this soon,
   * in ms (default FIRST_CONNECT_TIMEOUT_MS = 30 s; 0 = keep trying). A refusal (bad token, name
   * taken, not a burrow server …) rejects at once.
   */
  connectTimeoutMs?: number;
  /** Abort the first connection (rejects with BURROW_ERR_SHUTTING_DOWN); after it, use close(). */
  signal?: AbortSignal;
  /** Called as each attempt starts (the first included), e.g. to print `connecting to …`. */
  onConnecting?: (attempt: ConnectAttempt) => void;
  /** Called when an attempt failed and the next one is scheduled. */
  onRetry?: (retry: RetryInfo) => void;
}

export interface TunnelEvents {
  ready: [{ url: string; name: string; id: string }];
  request: [RequestEvent];
  reconnecting: [RetryInfo];
  reconnected: [{ url: string }];
  disconnected: [BurrowError];
  error: [BurrowError];
  close: [];
}

export class Tunnel extends EventEmitter<TunnelEvents> {
  readonly target: LocalTarget;
  readonly agent: AgentConnection;
  /** The inspector recording this tunnel's requests (the `inspect` option), if any. */
  readonly inspector: Inspector | undefined;
  readonly #ownsInspector: boolean;
  #current: TunnelRegistration | undefined;
  #closed = false;

  constructor(agent: AgentConnection, target: LocalTarget, inspector?: Inspector, ownsInspector = false) {
    super();
    this.agent = agent;
    this.target = target;
    this.inspector = inspector;
    this.#ownsInspector = ownsInspector;
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
  setRegistered(t: TunnelRegistration): void {
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
    if (this.#ownsInspector) void this.inspector?.close();
    this.emit('close');
  }

  /**
   * Resolves once close() is over: the server confirmed the goodbye (the WebSocket close handshake),
   * or GOODBYE_TIMEOUT_MS passed. Never rejects; `tunnel.close(); await tunnel.whenClosed();`.
   */
  async whenClosed(): Promise<void> {
    await this.agent.whenClosed();
    if (this.#ownsInspector) await this.inspector?.close();
  }
}

/**
 * Watches a stream and its local connection as they are piped together (the inspector's tap): it
 * may listen to both, never write, pause or delay them. The local side's 'data' chunks are valid
 * only while they are emitted (its reads reuse their buffers, core/pooled-reads.ts): what it keeps,
 * it copies.
 */
export type StreamObserver = (stream: MuxStream, local: Duplex, target: LocalTarget) => void;

/** Copy bytes between a stream and the local service; errors reset the stream with a clear code. */
export function serveStreamLocally(stream: MuxStream, target: LocalTarget, observe?: StreamObserver): void {
  dialLocal(target).then(
    (local: Duplex) => bridgeStream(stream, local, target, observe),
    (err: BurrowError) => stream.reset(err),
  );
}

/** Copy bytes both ways between a stream and a connected local socket; errors reset the stream. */
export function bridgeStream(stream: MuxStream, local: Duplex, target: LocalTarget, observe?: StreamObserver): void {
  if (stream.destroyed) {
    local.destroy();
    return;
  }
  local.on('error', (err) =>
    stream.reset(new BurrowError('BURROW_ERR_ORIGIN_ERROR', `${describeTarget(target)}: ${err.message}`)),
  );
  stream.on('error', () => local.destroy());
  local.on('close', () => {
    if (stream.destroyed) return;
    if (!stream.writableFinished) stream.destroy();
    // the pipe's unpipe paused the stream: read on (nowhere to write now) so that the server's end is
    // seen and the stream closes; a local service answering `Connection: close` closes first
    else stream.resume();
  });
  stream.on('close', () => local.destroy());
  stream.pipe(local);
  // the local service's bytes are read into reused buffers (core/pooled-reads.ts) where the socket
  // allows it; an observer still sees them as 'data' events, each valid only while it is emitted
  // (the inspector copies what it keeps). Bytes the socket already holds would be passed on before
  // the observer listens: such a socket is piped as usual.
  const watch = observe ? (chunk: Buffer): boolean => local.emit('data', chunk) : undefined;
  const pooled =
    local instanceof Socket && !(observe && local.readableLength > 0) && pipeSocketPooled(local, stream, watch);
  if (!pooled) local.pipe(stream);
  // after the pipes: each chunk is passed on first, then seen (flowing starts on the next tick)
  if (observe) observe(stream, local, target);
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
  const allowPorts = options.allowPorts === undefined ? [] : parsePortList(portListText(options.allowPorts));

  const agent = new AgentConnection(agentOptions(options));
  const inspect = options.inspect;
  const inspector =
    inspect instanceof Inspector
      ? inspect
      : inspect
        ? await startInspector(inspect === true ? {} : inspect)
        : undefined;
  const tunnel = new Tunnel(agent, target, inspector, inspector !== undefined && inspector !== inspect);
  const observe: StreamObserver | undefined = inspector
    ? (stream, local, t) => inspector.tap(stream, local, t, tapInfo(tunnel.name, stream))
    : undefined;
  agent.on('reconnecting', (r) => tunnel.emit('reconnecting', r));
  agent.on('disconnected', (e) => tunnel.emit('disconnected', e));
  agent.on('registered', (_spec, t) => tunnel.setRegistered(t));
  endWhenUnregistered(agent, tunnel);
  agent.on('close', () => tunnel.close());

  const registered = agent.register({
    kind: 'http',
    name: options.subdomain,
    requestEvents: options.requestEvents ?? true,
    target: describeTarget(target),
    ...(options.access ? { access: options.access } : {}),
    ...(options.hostHeader ? { hostHeader: options.hostHeader } : {}),
    ...(allowPorts.length ? { allowPorts: formatPortList(allowPorts) } : {}),
    onStream: (stream, open) => {
      if (open.port === undefined) serveStreamLocally(stream, target, observe);
      // another local port (`<name>-http-<port>`): only one this tunnel allows, whatever the server says
      else if (!inPortList(open.port, allowPorts)) {
        stream.reset(new BurrowError('BURROW_ERR_PORT_NOT_ALLOWED', `port ${open.port} is not allowed by this agent`));
      } else serveStreamLocally(stream, { ...target, port: open.port, https: open.tls === true }, observe);
    },
    onRequest: (ev) => tunnel.emit('request', ev),
  });
  try {
    await startRegistered(agent, registered, tunnel, options);
  } catch (err) {
    if (inspector !== inspect) await inspector?.close();
    throw err;
  }
  return tunnel;
}

/** The tunnel's name and the visitor's address (the server says it when the stream opens) for the record. */
function tapInfo(tunnel: string, stream: MuxStream): { tunnel?: string; remoteAddress?: string } {
  const remote = stream.open.remoteAddress;
  return { ...(tunnel ? { tunnel } : {}), ...(remote ? { remoteAddress: remote } : {}) };
}

/** The server closed the agent's one tunnel (an operator's action): report why, then stop (no reconnect). */
export function endWhenUnregistered(
  agent: AgentConnection,
  tunnel: { listenerCount(event: 'error'): number; emit(event: 'error', err: Error): boolean },
): void {
  agent.on('unregistered', (_spec, e) => {
    if (tunnel.listenerCount('error') > 0) tunnel.emit('error', e);
    agent.close();
  });
}

/**
 * Connect the agent and wait for its registration (closing it again if either fails, is aborted or
 * takes longer than connectTimeoutMs: then it rejects with the last attempt's reason); after that,
 * agent errors are the tunnel's 'error' events (the agent keeps reconnecting unless an error is final).
 */
export async function startRegistered(
  agent: AgentConnection,
  registered: Promise<unknown>,
  tunnel: { listenerCount(event: 'error'): number; emit(event: 'error', err: Error): boolean },
  first: FirstConnectOptions = {},
): Promise<void> {
  registered.catch(() => {});
  let last: BurrowError | undefined;
  const onConnecting = (a: ConnectAttempt): void => first.onConnecting?.(a);
  const onRetry = (r: RetryInfo): void => {
    last = r.error;
    first.onRetry?.(r);
  };
  // a final error during the first connection is the rejection's reason, not an unhandled 'error'
  const ignore = (): void => {};
  agent.on('error', ignore);
  agent.on('connecting', onConnecting);
  agent.on('reconnecting', onRetry);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const limitMs = first.connectTimeoutMs ?? FIRST_CONNECT_TIMEOUT_MS;
  const givenUp = new Promise<never>((_resolve, reject) => {
    if (limitMs > 0) {
      timer = setTimeout(() => {
        const seconds = `${Math.round(limitMs / 100) / 10} s`;
        reject(
          last
            ? new BurrowError(last.code, `${last.detail ?? last.message} (gave up after ${seconds})`, {
                cause: last,
                fix: last.fix,
              })
            : new BurrowError('BURROW_ERR_SERVER_UNREACHABLE', `no answer in ${seconds}`),
        );
      }, limitMs);
    }
    const signal = first.signal;
    if (signal) {
      onAbort = () => reject(new BurrowError('BURROW_ERR_SHUTTING_DOWN', 'stopped before the tunnel was ready'));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  givenUp.catch(() => {});
  try {
    await Promise.race([agent.start().then(() => registered), givenUp]);
  } catch (err) {
    agent.close();
    throw err;
  } finally {
    clearTimeout(timer);
    if (onAbort) first.signal?.removeEventListener('abort', onAbort);
    agent.off('error', ignore);
    agent.off('connecting', onConnecting);
    agent.off('reconnecting', onRetry);
  }
  agent.on('error', (e) => {
    if (tunnel.listenerCount('error') > 0) tunnel.emit('error', e);
  });
}

function portListText(list: ReadonlyArray<number | string> | string): string[] {
  return typeof list === 'string' ? [list] : list.map(String);
}
