import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { wsPackage } from '../../core/packages.js';
import { BurrowError, RateLimitedError } from '../../core/errors.js';
import type { FailedAuthGate } from '../../core/failed-auth-gate.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { InFlightItem, ServerAdapter, ServerContext } from '../../server/adapter.js';
import { bearerToken } from '../../core/bearer.js';
import { sendJson } from '../../core/http-json.js';
import { watchLiveness } from '../../wire/tcp-ws/flow.js';
import * as L from '../../wire/tcp-ws/limits.js';
import { TcpWsMuxSession } from './mux-session.js';
import { createRegistryTcpResolver, type RegistryTcpResolverOptions } from './registry-resolver.js';
import { SessionStore } from './session-store.js';
import { SingletonSession } from './singleton-session.js';
import {
  createStaticTcpResolver,
  isValidTargetName,
  type StaticTcpTargetSpec,
  type TcpOpenInfo,
  type TcpTarget,
  type TcpTargetResolver,
} from './targets.js';
import { rejectUpgrade } from './upgrade-error.js';
import {
  BURROW_TCP_HEADER,
  BURROW_TCP_VERSION,
  BURROW_TCP_WINDOW_HEADER,
  parseMuxWindow,
} from '../../wire/tcp-ws/wire.js';

export interface TcpWsAdapterOptions {
  /** Static targets (`--tcp-target`, parsed with parseTcpTargetSpec). */
  targets?: readonly StaticTcpTargetSpec[];
  /** More resolvers, tried after the static targets (e.g. createRegistryTcpResolver). */
  resolvers?: readonly TcpTargetResolver[];
  /**
   * Resolve `burrow tcp` tunnels from the server's registry (ServerContext.registry, at start()).
   * tokenFor gives each tunnel's access token (see RegistryTcpResolverOptions).
   */
  registryTokens?: RegistryTcpResolverOptions['tokenFor'];
  /** Extra WebSocket paths mapped to target names (besides /tcp/<name> and the targets' path=). */
  paths?: Readonly<Record<string, string>>;
  /** Offer burrow's wire extensions to burrow clients (default true; false = behave exactly like limrun's server). */
  burrowExtensions?: boolean;
  /** Path prefix of the per-name endpoint (default "/tcp/"). */
  prefix?: string;
  detachedGraceMs?: number;
  detachedBufferBytes?: number;
  maxSessions?: number;
  endedSessionTtlMs?: number;
  endedSessionMax?: number;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  maxMessageBytes?: number;
  connectTimeoutMs?: number;
  muxMaxConnections?: number;
  /**
   * Receive window per multiplexed connection offered to burrow clients that ask for per-connection
   * flow control (`X-Burrow-Tcp-Window`); default TCP_MUX_WINDOW_BYTES (1 MiB), 16 KiB … 16 MiB, or 0
   * to never accept it (flow control then stays per WebSocket, as with limrun's clients).
   */
  muxWindowBytes?: number;
  /** Used until start(ctx) provides the server's logger. */
  logger?: Logger;
  /** Address of the WebSocket client (default: the socket's); start(ctx) uses ctx.clientAddress. */
  clientAddress?: (req: IncomingMessage) => string;
  /**
   * The failed-auth limiter's `tcp-ws` surface (composeServer passes the server's): wrong access
   * tokens count per client address; a locked-out address gets 429 + Retry-After, even with a right token.
   */
  failedAuth?: FailedAuthGate;
}

/** Counts for /health and /api/status (a type alias, so it is a Record<string, number>). */
export type TcpWsAdapterStats = {
  /** Live singleton sessions (attached or detached). */
  tcpSessions: number;
  /** Singleton sessions waiting for their client to resume. */
  tcpDetachedSessions: number;
  /** Singleton sessions whose target is paused (detached buffer full, or the client reads slowly). */
  tcpPausedSessions: number;
  /** Open multiplexed WebSockets. */
  tcpMuxSockets: number;
  /** Target connections open on multiplexed WebSockets. */
  tcpMuxConnections: number;
  /** Multiplexed WebSockets with burrow's per-connection flow control. */
  tcpMuxFlowControlled: number;
  /** Multiplexed connections whose target is paused waiting for the client's credit. */
  tcpMuxStalledConnections: number;
  /** Client bytes held for multiplexed targets (dial queues and target write backlogs). */
  tcpMuxBufferedBytes: number;
  tcpSessionsTotal: number;
  tcpMuxSocketsTotal: number;
  /** Upgrades answered with an HTTP error (401/403/404/410/5xx). */
  tcpRejectedUpgrades: number;
  /** Bytes from WebSocket clients to targets. */
  tcpBytesIn: number;
  /** Bytes from targets to WebSocket clients. */
  tcpBytesOut: number;
};

export interface TcpWsAdapter extends ServerAdapter {
  readonly name: 'limrun';
  stats(): TcpWsAdapterStats;
  inFlight(): InFlightItem[];
  close(): Promise<void>;
}

/** A session open now, as the console lists it. */
interface LiveSession {
  readonly id: string;
  readonly target: string;
  readonly mode: 'singleton' | 'multiplexed';
  readonly remoteAddress: string;
  readonly startedAt: number;
  bytesIn: number;
  bytesOut: number;
  connections: () => number;
}

interface Route {
  name: string;
}

/**
 * TCP over WebSocket, wire-compatible with limrun's `startTcpTunnel` (docs/tcp.md): endpoints at
 * `/tcp/<name>` and at operator-mapped paths; singleton mode with `sessionId` resume and
 * multiplexed mode (`?mode=multiplexed`). Mount it with handleUpgrade/handleRequest.
 */
export function createTcpWsAdapter(options: TcpWsAdapterOptions = {}): TcpWsAdapter {
  const prefix = options.prefix ?? '/tcp/';
  const detachedGraceMs = options.detachedGraceMs ?? L.TCP_DETACHED_GRACE_MS;
  const maxSessions = options.maxSessions ?? L.TCP_MAX_SESSIONS;
  const pingIntervalMs = options.pingIntervalMs ?? L.TCP_WS_PING_INTERVAL_MS;
  const pongTimeoutMs = options.pongTimeoutMs ?? L.TCP_WS_PONG_TIMEOUT_MS;
  const targetEndGraceMs = L.TCP_TARGET_END_GRACE_MS;
  const muxWindow = options.muxWindowBytes ?? L.TCP_MUX_WINDOW_BYTES;
  if (
    muxWindow !== 0 &&
    (!Number.isInteger(muxWindow) || muxWindow < L.TCP_MUX_WINDOW_MIN_BYTES || muxWindow > L.TCP_MUX_WINDOW_MAX_BYTES)
  ) {
    throw new BurrowError(
      'BURROW_ERR_INVALID_CONFIG',
      `muxWindowBytes must be 0 or an integer from ${L.TCP_MUX_WINDOW_MIN_BYTES} to ${L.TCP_MUX_WINDOW_MAX_BYTES}`,
    );
  }
  let logger = options.logger ?? silentLogger();
  let clientAddress = options.clientAddress ?? ((req: IncomingMessage) => req.socket.remoteAddress ?? '');

  const resolvers: TcpTargetResolver[] = [];
  const staticTargets = options.targets ?? [];
  if (staticTargets.length > 0) {
    resolvers.push(
      createStaticTcpResolver(
        staticTargets,
        options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {},
      ),
    );
  }
  resolvers.push(...(options.resolvers ?? []));

  const pathMap = new Map<string, string>();
  for (const t of staticTargets) if (t.path) pathMap.set(t.path, t.name);
  for (const [path, name] of Object.entries(options.paths ?? {})) pathMap.set(path, name);

  const wantsExtensions = (req: IncomingMessage): boolean =>
    options.burrowExtensions !== false && req.headers[BURROW_TCP_HEADER] !== undefined;

  /** Multiplexed upgrades whose flow-control offer was accepted: the client's window. */
  const flowOffers = new WeakMap<IncomingMessage, number>();
  // made at the first upgrade: an idle server has not loaded ws (src/core/packages.ts)
  let wss: WebSocketServer | undefined;
  const upgrader = (): WebSocketServer => {
    if (wss) return wss;
    wss = new (wsPackage().WebSocketServer)({
      noServer: true,
      perMessageDeflate: false,
      clientTracking: false,
      maxPayload: options.maxMessageBytes ?? L.TCP_WS_MAX_MESSAGE_BYTES,
    });
    wss.on('headers', (headers: string[], req: IncomingMessage) => {
      if (wantsExtensions(req)) headers.push(`X-Burrow-Tcp: ${BURROW_TCP_VERSION}`);
      if (flowOffers.has(req)) headers.push(`X-Burrow-Tcp-Window: ${muxWindow}`);
    });
    return wss;
  };

  const store = new SessionStore({
    endedTtlMs: options.endedSessionTtlMs ?? L.TCP_ENDED_SESSION_TTL_MS,
    endedMax: options.endedSessionMax ?? L.TCP_ENDED_SESSION_MAX,
  });
  const muxSessions = new Set<TcpWsMuxSession>();
  const dialing = new Set<string>();
  const sockets = new Set<WebSocket>();
  const counters = { bytesIn: 0, bytesOut: 0, sessionsTotal: 0, muxTotal: 0, rejected: 0 };
  const count = (direction: 'in' | 'out', bytes: number): void => {
    if (direction === 'in') counters.bytesIn += bytes;
    else counters.bytesOut += bytes;
  };
  /** Every session open now, with its own byte counts (the console's list). */
  const live = new Map<string, LiveSession>();
  let nextLiveId = 0;
  /** Track a session in `live` until `ended` settles; its bytes count there and in the totals. */
  function liveSession(
    target: string,
    mode: 'singleton' | 'multiplexed',
    info: TcpOpenInfo,
    connections: () => number,
  ): { count: (direction: 'in' | 'out', bytes: number) => void; end: () => void } {
    const id = `tcp-${++nextLiveId}`;
    const s: LiveSession = {
      id,
      target,
      mode,
      remoteAddress: info.remoteAddress,
      startedAt: Date.now(),
      bytesIn: 0,
      bytesOut: 0,
      connections,
    };
    live.set(id, s);
    return {
      count(direction, bytes) {
        count(direction, bytes);
        if (direction === 'in') s.bytesIn += bytes;
        else s.bytesOut += bytes;
      },
      end: () => live.delete(id),
    };
  }
  let closing = false;

  function route(url: URL): Route | undefined {
    const mapped = pathMap.get(url.pathname);
    if (mapped !== undefined) return { name: mapped };
    if (!url.pathname.startsWith(prefix)) return undefined;
    const name = url.pathname.slice(prefix.length).replace(/\/$/, '').toLowerCase();
    return { name };
  }

  function resolve(name: string): TcpTarget | undefined {
    if (!isValidTargetName(name)) return undefined;
    for (const r of resolvers) {
      const t = r.resolve(name);
      if (t) return t;
    }
    return undefined;
  }

  /** Count the WebSocket and watch that it lives; returns the watch's seen() (for reads it does not see). */
  function track(ws: WebSocket): () => void {
    sockets.add(ws);
    ws.once('close', () => sockets.delete(ws));
    return watchLiveness(ws, pingIntervalMs, pongTimeoutMs, () => logger.debug('tcp websocket stopped answering pings'))
      .seen;
  }

  function fail(socket: Duplex, err: BurrowError): true {
    counters.rejected++;
    logger.debug({ code: err.code, status: err.status }, 'tcp upgrade rejected');
    rejectUpgrade(socket, err);
    return true;
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean {
    const r = route(url);
    if (!r) return false;
    socket.on('error', () => socket.destroy());
    if (closing) return fail(socket, new BurrowError('BURROW_ERR_SHUTTING_DOWN'));
    const target = resolve(r.name);
    if (!target) return fail(socket, new BurrowError('BURROW_ERR_TCP_TARGET_NOT_FOUND', `"${r.name}"`));
    const token = bearerToken(req.headers.authorization);
    const wait = token === undefined ? 0 : (options.failedAuth?.retryAfter(clientAddress(req)) ?? 0);
    if (wait > 0) {
      return fail(socket, new RateLimitedError(wait, `too many failed access tokens; try again in ${wait} s`));
    }
    if (!target.authorize(token)) {
      if (token !== undefined) options.failedAuth?.fail(clientAddress(req));
      return fail(
        socket,
        new BurrowError(
          token === undefined ? 'BURROW_ERR_UNAUTHORIZED' : 'BURROW_ERR_FORBIDDEN',
          `tcp target "${r.name}"`,
        ),
      );
    }
    const extensions = wantsExtensions(req);
    const info = { remoteAddress: clientAddress(req) };
    const mode = url.searchParams.get('mode') ?? 'singleton';
    if (mode === 'multiplexed') {
      const peerWindow =
        extensions && muxWindow > 0 ? parseMuxWindow(req.headers[BURROW_TCP_WINDOW_HEADER]) : undefined;
      if (peerWindow !== undefined) flowOffers.set(req, peerWindow);
      upgrader().handleUpgrade(req, socket, head, (ws) => {
        const seen = track(ws);
        counters.muxTotal++;
        let session: TcpWsMuxSession | undefined = undefined;
        const tracked = liveSession(target.name, 'multiplexed', info, () => session?.connections ?? 0);
        session = new TcpWsMuxSession(ws, target, info, extensions, {
          maxConnections: options.muxMaxConnections ?? L.TCP_MUX_MAX_CONNECTIONS,
          dialQueueBytes: L.TCP_MUX_DIAL_QUEUE_BYTES,
          closedIdMemory: L.TCP_MUX_CLOSED_ID_MEMORY,
          highWaterBytes: L.TCP_WS_HIGH_WATER_BYTES,
          lowWaterBytes: L.TCP_WS_LOW_WATER_BYTES,
          targetEndGraceMs,
          flowControl:
            peerWindow !== undefined
              ? { window: muxWindow, peerWindow, bufferBytes: L.TCP_MUX_BUFFER_BYTES }
              : undefined,
          maxFrameBytes: options.maxMessageBytes ?? L.TCP_WS_MAX_MESSAGE_BYTES,
          logger,
          count: tracked.count,
          onRead: seen,
        });
        const open = session;
        muxSessions.add(open);
        ws.once('close', () => {
          muxSessions.delete(open);
          tracked.end();
        });
      });
      return true;
    }
    if (mode !== 'singleton')
      return fail(
        socket,
        new BurrowError('BURROW_ERR_BAD_REQUEST', `unknown mode "${mode}" (singleton or multiplexed)`),
      );

    const sessionId = url.searchParams.get('sessionId');
    if (
      sessionId !== null &&
      (sessionId.length === 0 || sessionId.length > L.TCP_SESSION_ID_MAX_LENGTH || !/^[\w.-]+$/.test(sessionId))
    ) {
      return fail(
        socket,
        new BurrowError(
          'BURROW_ERR_BAD_REQUEST',
          'sessionId must be 1–128 characters of A–Z, a–z, 0–9, ".", "_" and "-"',
        ),
      );
    }
    const key = sessionId === null ? undefined : `${target.name}\n${sessionId}`;
    if (key !== undefined) {
      if (store.isEnded(key)) return fail(socket, new BurrowError('BURROW_ERR_TCP_SESSION_ENDED'));
      const existing = store.get(key);
      if (existing) {
        upgrader().handleUpgrade(req, socket, head, (ws) => {
          existing.attach(ws, extensions, track(ws));
        });
        return true;
      }
      if (dialing.has(key))
        return fail(socket, new BurrowError('BURROW_ERR_TCP_SESSION_LIMIT', 'this session is still being opened'));
    }
    if (store.size + dialing.size >= maxSessions)
      return fail(socket, new BurrowError('BURROW_ERR_TCP_SESSION_LIMIT', `${maxSessions} sessions`));

    // Dial first, so a target that is down answers 502/504 (retryable) instead of accept-then-close.
    const sessionKey = key ?? `${target.name}\n#${counters.sessionsTotal}:${Math.random()}`;
    dialing.add(sessionKey);
    target.open(info).then(
      (conn) => {
        dialing.delete(sessionKey);
        if (closing) {
          conn.destroy();
          fail(socket, new BurrowError('BURROW_ERR_SHUTTING_DOWN'));
          return;
        }
        counters.sessionsTotal++;
        const tracked = liveSession(target.name, 'singleton', info, () => 1);
        const session = new SingletonSession(sessionKey, conn, extensions, {
          maxFrameBytes: options.maxMessageBytes ?? L.TCP_WS_MAX_MESSAGE_BYTES,
          detachedGraceMs: key === undefined ? 0 : detachedGraceMs,
          detachedBufferBytes: options.detachedBufferBytes ?? L.TCP_DETACHED_BUFFER_BYTES,
          highWaterBytes: L.TCP_WS_HIGH_WATER_BYTES,
          lowWaterBytes: L.TCP_WS_LOW_WATER_BYTES,
          targetEndGraceMs,
          logger,
          count: tracked.count,
          onEnd: (s) => {
            tracked.end();
            store.end(s);
          },
        });
        store.add(session);
        // If the client went away while we dialled, the session waits detached for its resume.
        if (socket.destroyed) return;
        upgrader().handleUpgrade(req, socket, head, (ws) => {
          session.attach(ws, extensions, track(ws));
        });
      },
      (err: unknown) => {
        dialing.delete(sessionKey);
        const e =
          err instanceof BurrowError
            ? err
            : new BurrowError('BURROW_ERR_TCP_TARGET_UNREACHABLE', err instanceof Error ? err.message : String(err));
        logger.info({ target: target.name, code: e.code }, 'tcp target dial failed');
        fail(socket, e);
      },
    );
    return true;
  }

  function handleRequest(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    if (!route(url)) return false;
    const e = new BurrowError('BURROW_ERR_UPGRADE_REQUIRED');
    sendJson(res, e.status, { error: e.toJSON() }, { headers: { Upgrade: 'websocket', Connection: 'Upgrade' } });
    return true;
  }

  return {
    name: 'limrun',
    start(ctx: ServerContext): void {
      logger = ctx.logger.child({ adapter: 'limrun' });
      if (!options.clientAddress) clientAddress = (req) => ctx.clientAddress(req);
      if (options.registryTokens)
        resolvers.push(createRegistryTcpResolver({ registry: ctx.registry, tokenFor: options.registryTokens }));
      for (const t of staticTargets) {
        if (t.token === undefined)
          logger.warn({ target: t.name }, 'tcp target has no token: anyone who can reach the server can reach it');
      }
    },
    handleUpgrade,
    handleRequest,
    inFlight(): InFlightItem[] {
      return [...live.values()].map((s) => ({
        kind: 'tcp-ws',
        id: s.id,
        label: s.target,
        startedAt: s.startedAt,
        bytesIn: s.bytesIn,
        bytesOut: s.bytesOut,
        detail: { mode: s.mode, client: s.remoteAddress, connections: s.connections() },
      }));
    },
    stats(): TcpWsAdapterStats {
      let muxConnections = 0;
      let flowControlled = 0;
      let stalled = 0;
      let buffered = 0;
      for (const s of muxSessions) {
        muxConnections += s.connections;
        if (s.flowControlled) flowControlled++;
        stalled += s.stalledConnections;
        buffered += s.bufferedBytes;
      }
      return {
        tcpSessions: store.size,
        tcpDetachedSessions: store.detachedCount(),
        tcpPausedSessions: store.pausedCount(),
        tcpMuxSockets: muxSessions.size,
        tcpMuxConnections: muxConnections,
        tcpMuxFlowControlled: flowControlled,
        tcpMuxStalledConnections: stalled,
        tcpMuxBufferedBytes: buffered,
        tcpSessionsTotal: counters.sessionsTotal,
        tcpMuxSocketsTotal: counters.muxTotal,
        tcpRejectedUpgrades: counters.rejected,
        tcpBytesIn: counters.bytesIn,
        tcpBytesOut: counters.bytesOut,
      };
    },
    async close(): Promise<void> {
      closing = true;
      for (const s of store.values()) s.destroy();
      for (const s of muxSessions) s.destroy();
      for (const ws of sockets) ws.terminate();
      if (wss) await new Promise<void>((resolve) => wss!.close(() => resolve()));
    },
  };
}
