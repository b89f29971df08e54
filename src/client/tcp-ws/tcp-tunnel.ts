import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createLogger, type Logger } from '../../core/logger.js';
import {
  TCP_CLIENT_MAX_RECONNECT_ATTEMPTS,
  TCP_CLIENT_MAX_RECONNECT_DELAY_MS,
  TCP_CLIENT_PING_INTERVAL_MS,
  TCP_CLIENT_RECONNECT_DELAY_MS,
  TCP_CLIENT_RECONNECT_QUEUE_BYTES,
  TCP_MUX_WINDOW_BYTES,
  TCP_MUX_WINDOW_MAX_BYTES,
  TCP_MUX_WINDOW_MIN_BYTES,
} from '../../wire/tcp-ws/limits.js';
import { MultiplexedClient, type MultiplexedStats } from './multiplexed.js';
import { SingletonLink, type SingletonLinkOptions } from './singleton-link.js';
import { ConnectionStateTracker } from './state.js';
import type {
  TcpWsClosableTunnel,
  LogLevel,
  TcpTunnelEnd,
  TcpWsBaseOptions,
} from './types.js';

export type {
  TcpTunnelEnd,
  LogLevel,
  TcpWsTunnelShape,
  TunnelConnectionState,
  TunnelConnectionStateCallback,
  TunnelMode,
  TcpTunnelTlsOptions,
} from './types.js';
export { SingletonLink, type LinkEnd } from './singleton-link.js';
export type { MultiplexedStats } from './multiplexed.js';

/** Logged (warn) when singleton mode closes a second local connection. */
export const SINGLETON_REFUSED_MESSAGE =
  "refused a second local connection: singleton mode carries one local connection at a time; use --mode multiplexed (mode: 'multiplexed') to carry several";

/** limrun's options plus burrow's (docs/tcp.md "Client SDK"). */
export interface TcpTunnelOptions extends TcpWsBaseOptions {
  /**
   * burrow extension, multiplexed mode: offer per-connection flow control to the server (a burrow
   * server accepts; others ignore the offer). @default true
   */
  flowControl?: boolean;
  /** burrow extension, multiplexed mode: the receive window offered per connection, in bytes. @default 1 MiB */
  muxWindowBytes?: number;
}

/** What startTcpTunnel resolves to: limrun's `Tunnel`, `closed`, and `stats()`. */
export interface BurrowTcpTunnel extends TcpWsClosableTunnel {
  /**
   * burrow extension: what the tunnel carries now. Multiplexed mode reports flow control and its
   * buffers; singleton mode reports its connection only (flowControl false, zeros).
   */
  stats(): MultiplexedStats;
}

/** The logger behind `logLevel` (limrun prints to the console; burrow logs JSON to stderr). */
export function tcpTunnelLogger(options: TcpTunnelOptions | undefined): Logger {
  if (options?.logger) return options.logger;
  const level: LogLevel = options?.logLevel ?? 'info';
  return createLogger({ level: level === 'none' ? 'silent' : level, name: 'burrow-tcp', destination: process.stderr });
}

/** Options of one singleton link (and the multiplexed client's common part), with limrun's defaults. */
export function singletonLinkOptions(
  remoteURL: string,
  token: string,
  options: TcpTunnelOptions | undefined,
  state: ConnectionStateTracker,
  logger: Logger,
): SingletonLinkOptions {
  return {
    url: remoteURL,
    token,
    maxReconnectAttempts: options?.maxReconnectAttempts ?? TCP_CLIENT_MAX_RECONNECT_ATTEMPTS,
    reconnectDelay: options?.reconnectDelay ?? TCP_CLIENT_RECONNECT_DELAY_MS,
    maxReconnectDelay: options?.maxReconnectDelay ?? TCP_CLIENT_MAX_RECONNECT_DELAY_MS,
    reconnectQueueBytes: options?.reconnectQueueBytes ?? TCP_CLIENT_RECONNECT_QUEUE_BYTES,
    pingIntervalMs: TCP_CLIENT_PING_INTERVAL_MS,
    tls: options?.tls,
    logger,
    state,
  };
}

export interface ConnectTcpOptions extends TcpTunnelOptions {
  /** The ws(s):// TCP endpoint: a `burrow tcp` tunnel's WebSocket access URL, or a server's --tcp-target. */
  url: string;
  /** Its access token (sent as `Authorization: Bearer …`). */
  token: string;
  /** Local address to listen on (default 127.0.0.1). */
  host?: string;
  /** Local port to listen on (default 0: any free port; the tunnel says which). */
  port?: number;
}

/**
 * Listen on a local port and carry each connection to `url` over a WebSocket (what `burrow connect`
 * does): the options-object form of the limrun-shaped startTcpTunnel(url, token, host, port, options).
 */
export function connectTcp(options: ConnectTcpOptions): Promise<BurrowTcpTunnel> {
  const { url, token, host = '127.0.0.1', port = 0, ...rest } = options;
  return startTcpTunnel(url, token, host, port, rest);
}

/**
 * A local TCP listener whose connections are forwarded over a WebSocket to `remoteURL` — limrun's
 * `startTcpTunnel` signature, defaults, modes and state API, and the same wire (docs/tcp.md).
 * Differences: bytes read during a singleton reconnect are kept, not dropped; with a burrow
 * server, half-close (FIN) is carried, a closed target ends only its connection, and multiplexed
 * connections get per-connection flow control (one stalled connection does not stall the others).
 *
 * Singleton mode resolves once listening and carries one local connection at a time, on its own
 * WebSocket (a second one is closed at once, with a warning); multiplexed mode resolves once its
 * WebSocket is open and rejects if it cannot be opened. In both, a wss:// server is verified
 * against Node's CA list, or against `tls.ca` (`tls.rejectUnauthorized: false` skips verification).
 */
export async function startTcpTunnel(
  remoteURL: string,
  token: string,
  hostname: string,
  port: number,
  options?: TcpTunnelOptions,
): Promise<BurrowTcpTunnel> {
  const muxWindow = options?.flowControl === false ? 0 : (options?.muxWindowBytes ?? TCP_MUX_WINDOW_BYTES);
  if (
    muxWindow !== 0 &&
    (!Number.isInteger(muxWindow) || muxWindow < TCP_MUX_WINDOW_MIN_BYTES || muxWindow > TCP_MUX_WINDOW_MAX_BYTES)
  ) {
    throw new RangeError(
      `muxWindowBytes must be an integer from ${TCP_MUX_WINDOW_MIN_BYTES} to ${TCP_MUX_WINDOW_MAX_BYTES}`,
    );
  }
  const logger = tcpTunnelLogger(options);
  const state = new ConnectionStateTracker('connecting', logger);
  const server = createServer({ allowHalfOpen: true });
  let closed = false;
  let resolveClosed!: (end: TcpTunnelEnd) => void;
  const closedPromise = new Promise<TcpTunnelEnd>((resolve) => (resolveClosed = resolve));
  const closeServer = (end: TcpTunnelEnd = { reason: 'closed' }): void => {
    closed = true;
    if (server.listening) server.close();
    resolveClosed(end);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`TCP server error: ${err.message}`)));
    server.listen(port, hostname, () => resolve());
  });
  const address = server.address() as AddressInfo;
  server.on('error', (err) => logger.error({ err: err.message }, 'local listener error'));
  /** The tunnel object of either mode: `stop` ends what the mode carries, then the listener closes. */
  const tunnel = (stop: () => void, stats: () => MultiplexedStats): BurrowTcpTunnel => ({
    address: { address: address.address, port: address.port },
    close: () => {
      closed = true;
      stop();
      closeServer();
    },
    getConnectionState: () => state.state,
    onConnectionStateChange: (cb) => state.subscribe(cb),
    closed: closedPromise,
    stats,
  });

  if (options?.mode === 'multiplexed') {
    const mux = new MultiplexedClient({
      ...singletonLinkOptions(remoteURL, token, options, state, logger),
      window: muxWindow,
      onGiveUp: (end) => closeServer(end),
    });
    server.on('connection', (socket: Socket) => {
      socket.setNoDelay(true);
      mux.accept(socket);
    });
    try {
      await mux.start();
    } catch (err) {
      closeServer();
      throw err;
    }
    return tunnel(
      () => mux.close(),
      () => mux.stats(),
    );
  }

  let active: SingletonLink | undefined;
  server.on('connection', (socket: Socket) => {
    if (closed) {
      socket.destroy();
      return;
    }
    if (active) {
      // Singleton mode carries one local connection at a time: say so instead of a silent close.
      logger.warn({ remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}` }, SINGLETON_REFUSED_MESSAGE);
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const link = new SingletonLink(socket, singletonLinkOptions(remoteURL, token, options, state, logger));
    active = link;
    void link.done.then((end) => {
      if (active === link) active = undefined;
      // Like limrun: a refused upgrade (bad token, unknown target) or exhausted reconnects close the
      // whole tunnel. A target that closed (410 / 4410) ends only its connection.
      if (end.reason === 'refused' && end.status !== 410) closeServer(end);
      else if (end.reason === 'exhausted') closeServer({ reason: 'exhausted' });
    });
  });

  return tunnel(
    () => {
      active?.close();
      state.set('disconnected');
    },
    () => ({ connections: active ? 1 : 0, flowControl: false, bufferedBytes: 0, stalledConnections: 0 }),
  );
}
