/**
 * createTiflisAdapter: tiflis's tunnel server as a burrow ServerAdapter. One WebSocket path for
 * workstations and devices (default /ws), the Watch polling API under /api/v1/watch/, and
 * stats() for /health's `connections`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERROR_CODES } from '../../core/errors.js';
import type { FailedAuthGate } from '../../core/failed-auth-gate.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { rawHttpResponse } from '../../core/raw-response.js';
import { FailedAuthLimiter } from '../../auth/failed-auth-limiter.js';
import type { ServerAdapter, ServerContext } from '../../server/adapter.js';
import { hashKey, validateRegistrationKey } from './keys.js';
import {
  TIFLIS_AUTH_TIMEOUT_MS,
  TIFLIS_DEFAULT_WS_PATH,
  TIFLIS_HEARTBEAT_INTERVAL_MS,
  TIFLIS_MAX_DEVICES_PER_TUNNEL,
  TIFLIS_MAX_MESSAGE_BYTES,
  TIFLIS_PROTOCOL_VERSION,
  TIFLIS_SILENCE_TIMEOUT_MS,
  TIFLIS_TUNNEL_VERSION,
  TIFLIS_WATCH_CLIENT_TIMEOUT_MS,
  TIFLIS_WATCH_MAX_BODY_BYTES,
  TIFLIS_WATCH_MAX_CLIENTS,
} from './limits.js';
import { Relay } from './relay.js';
import { WATCH_API_PREFIX, WatchApi } from './watch-api.js';
import { MemoryWorkstationStore, type WorkstationStore } from './workstation-store.js';
import { TiflisWsEndpoint, type TiflisCluster } from './ws-endpoint.js';

export interface TiflisAdapterOptions {
  /** TUNNEL_REGISTRATION_API_KEY / --registration-key; at least 32 characters (checked). */
  registrationKey: string;
  /** WS_PATH: the WebSocket path (default /ws). */
  wsPath?: string;
  /**
   * PUBLIC_BASE_URL, e.g. wss://tunnel.example.com: base of the public_url given to workstations.
   * Default: the server's own base URL for the request (http→ws, https→wss).
   */
  publicBaseUrl?: string;
  /** Where tunnel ids persist (default: in memory, lost on restart). */
  store?: WorkstationStore;
  /** Logger (default: the server's, else silent). */
  logger?: Logger;
  /** Serve the Watch HTTP polling API under /api/v1/watch/ (default true). */
  watchApi?: boolean;
  silenceTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  authTimeoutMs?: number;
  maxMessageBytes?: number;
  maxDevicesPerTunnel?: number;
  watchClientTimeoutMs?: number;
  watchMaxBodyBytes?: number;
  watchMaxClients?: number;
  /** Versions reported in `connected`. */
  tunnelVersion?: string;
  protocolVersion?: string;
  /** Clock (tests). */
  now?: () => number;
  /**
   * The failed-auth limiter's `tiflis` surface (composeServer passes the server's): wrong
   * registration keys and device auth keys count per client address. Default: a limiter of this
   * adapter's own with the same limits.
   */
  failedAuth?: FailedAuthGate;
  /** A cluster's nodes (composeServer with --cluster): devices reach workstations on other nodes. */
  cluster?: TiflisCluster | undefined;
}

export interface TiflisAdapter extends ServerAdapter {
  readonly wsPath: string;
  /** workstations and clients (WebSocket devices) for /health; watchClients; tiflisSockets: open WebSockets (registered or not). */
  stats(): { workstations: number; clients: number; watchClients: number; tiflisSockets: number };
  close(): Promise<void>;
}

/** http(s)://host[:port][/] → ws(s)://host[:port] */
export function toWebSocketBase(base: string): string {
  return base.replace(/^http(s?):/i, 'ws$1:').replace(/\/+$/, '');
}

export function createTiflisAdapter(options: TiflisAdapterOptions): TiflisAdapter {
  validateRegistrationKey(options.registrationKey);
  const wsPath = options.wsPath ?? TIFLIS_DEFAULT_WS_PATH;
  if (!wsPath.startsWith('/')) throw new Error(`tiflis wsPath must start with "/": ${wsPath}`);
  const now = options.now ?? Date.now;
  const store = options.store ?? new MemoryWorkstationStore();
  let ctx: ServerContext | undefined;
  // The logger may come from the server at start(); until then, the option or a silent one.
  let logger: Logger = options.logger ?? silentLogger();
  const log: Logger = new Proxy({} as Logger, {
    get: (_t, prop: string | symbol) => {
      const v = (logger as unknown as Record<string | symbol, unknown>)[prop];
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(logger) : v;
    },
  });

  // honours --trust-proxy when mounted in burrow's server
  const clientAddress = (req: IncomingMessage): string => ctx?.clientAddress(req) ?? req.socket.remoteAddress ?? '';

  const relayOptions: ConstructorParameters<typeof Relay>[0] = {
    store,
    apiKeyHash: hashKey(options.registrationKey),
    logger: log,
    now,
    maxDevicesPerTunnel: options.maxDevicesPerTunnel ?? TIFLIS_MAX_DEVICES_PER_TUNNEL,
    failedAuth: options.failedAuth ?? new FailedAuthLimiter({ now }).forSurface('tiflis'),
    // a workstation's new tunnel counts against the server's per-client limit (none when mounted alone)
    takeNewTunnel: (address) =>
      ctx ? ctx.takeNewTunnel(address, 'tiflis') : { cancel: () => undefined, release: () => undefined },
  };
  const relay = new Relay(relayOptions);

  const watch =
    options.watchApi === false
      ? undefined
      : new WatchApi({
          relay,
          logger: log,
          maxBodyBytes: options.watchMaxBodyBytes ?? TIFLIS_WATCH_MAX_BODY_BYTES,
          maxClients: options.watchMaxClients ?? TIFLIS_WATCH_MAX_CLIENTS,
          clientTimeoutMs: options.watchClientTimeoutMs ?? TIFLIS_WATCH_CLIENT_TIMEOUT_MS,
          now,
          clientAddress,
        });

  const publicUrl = (tunnelId: string, req: IncomingMessage): string => {
    const base = options.publicBaseUrl ?? ctx?.baseUrlFor(req) ?? `http://${req.headers.host ?? 'localhost'}`;
    return `${toWebSocketBase(base)}${wsPath}?tunnel_id=${encodeURIComponent(tunnelId)}`;
  };

  const endpointOptions: ConstructorParameters<typeof TiflisWsEndpoint>[0] = {
    relay,
    logger: log,
    maxMessageBytes: options.maxMessageBytes ?? TIFLIS_MAX_MESSAGE_BYTES,
    silenceTimeoutMs: options.silenceTimeoutMs ?? TIFLIS_SILENCE_TIMEOUT_MS,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? TIFLIS_HEARTBEAT_INTERVAL_MS,
    authTimeoutMs: options.authTimeoutMs ?? TIFLIS_AUTH_TIMEOUT_MS,
    tunnelVersion: options.tunnelVersion ?? TIFLIS_TUNNEL_VERSION,
    protocolVersion: options.protocolVersion ?? TIFLIS_PROTOCOL_VERSION,
    publicUrl,
    clientAddress,
    now,
    cluster: options.cluster,
  };
  if (watch) endpointOptions.onSweep = () => watch.sweep();
  const endpoint = new TiflisWsEndpoint(endpointOptions);
  let closed = false;

  return {
    name: 'tiflis',
    wsPath,
    start(context: ServerContext): void {
      ctx = context;
      if (!options.logger) logger = context.logger.child({ adapter: 'tiflis' });
    },
    handleRequest(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
      if (!watch || !url.pathname.startsWith(WATCH_API_PREFIX)) return false;
      watch.handle(req, res, url);
      return true;
    },
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean {
      if (url.pathname !== wsPath) return false;
      if (closed) {
        const spec = ERROR_CODES.BURROW_ERR_SHUTTING_DOWN;
        socket.end(rawHttpResponse(spec.status, { Connection: 'close', 'Content-Length': 0 }));
        return true;
      }
      endpoint.handleUpgrade(req, socket, head);
      return true;
    },
    stats() {
      return { ...relay.stats(), tiflisSockets: endpoint.size };
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      watch?.closeAll();
      const spec = ERROR_CODES.BURROW_ERR_SHUTTING_DOWN;
      await endpoint.close(spec.wsClose, spec.message);
    },
  };
}
