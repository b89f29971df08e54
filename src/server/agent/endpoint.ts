/**
 * burrow's own agent endpoint: a WebSocket on the server's own host carrying the multiplexed
 * protocol (docs/PROTOCOL.md). Each connection is one MuxSession; its tunnels live in the registry.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebSocket, WebSocketServer } from 'ws';
import { wsPackage } from '../../core/packages.js';
import { takeOverBinary, wsSocket } from '../../core/ws-link.js';
import { BurrowError, isBurrowError } from '../../core/errors.js';
import { decodeJson, FrameType, type Frame } from '../../wire/mux/frames.js';
import {
  DEFAULT_DEAD_PEER_TIMEOUT_MS,
  DEFAULT_PING_INTERVAL_MS,
  MAX_FRAME_PAYLOAD,
  MAX_MESSAGE_SIZE,
  MAX_STREAM_WINDOW,
  MAX_TUNNELS_PER_SESSION,
  MIN_STREAM_WINDOW,
  PROTOCOL_VERSION,
  TRANSPORT_HIGH_WATER,
} from '../../wire/mux/limits.js';
import {
  parseHello,
  parseRegisterRequest,
  toWireError,
  type Hello,
  type RegisterRequest,
  type Welcome,
} from '../../wire/mux/messages.js';
import { MuxSession, webSocketTransport } from '../../wire/mux/mux.js';
import { AGENT_PATH } from '../../wire/mux/paths.js';
import { VERSION } from '../../version.js';
import type { ServerAdapter, ServerContext } from '../adapter.js';
import { BurrowTunnel } from './tunnel.js';
import { principalKeyOf, type RegisteredTunnel } from '../registry.js';
import { GOODBYE_HOLD_MS } from '../../core/limits.js';
import { parsePortList, type PortRange } from '../../core/port-range.js';
import { OPEN_ADMISSION, type AgentAdmission, type AgentPrincipal } from '../admission.js';

/** An agent must send HELLO within this many ms of connecting. */
export const HELLO_TIMEOUT_MS = 10_000;

export interface AgentEndpointOptions {
  window: number;
  resumeGraceMs: number;
  maxStreamsPerTunnel: number;
  pingIntervalMs?: number;
  deadPeerTimeoutMs?: number;
  /** Who may connect and register (default: everyone). */
  admission?: AgentAdmission;
  /** Extra fields for a registered tcp tunnel (public address, WebSocket access URL, token). */
  onTcpTunnel?: (
    tunnel: BurrowTunnel,
    req: RegisterRequest,
    upgrade: IncomingMessage,
  ) => Promise<Record<string, unknown>>;
  onTunnelGone?: (tunnel: BurrowTunnel) => void;
}

interface AgentConnection {
  ws: WebSocket;
  session: MuxSession;
  remoteAddress: string;
  ownerKey: string;
  principal: AgentPrincipal | undefined;
  tunnels: Map<string, BurrowTunnel>;
  hello: Hello | undefined;
  /** Control frames are handled one after another (some steps are async). */
  queue: Promise<void>;
  /** The agent closed on purpose (GOAWAY): its names are held only briefly (GOODBYE_HOLD_MS). */
  saidGoodbye: boolean;
  /** Its token was revoked: its names are not held at all. */
  revoked: boolean;
}

export function createAgentEndpoint(options: AgentEndpointOptions): ServerAdapter & {
  readonly connections: number;
  closeTunnelsOf(pred: (principal: AgentPrincipal) => boolean): number;
  closeTunnel(tunnelId: string, err: BurrowError): boolean;
} {
  let ctx: ServerContext | undefined;
  const admission = options.admission ?? OPEN_ADMISSION;
  // made at the first agent's upgrade: an idle server has not loaded ws (src/core/packages.ts)
  let wss: WebSocketServer | undefined;
  const upgrader = (): WebSocketServer =>
    (wss ??= new (wsPackage().WebSocketServer)({
      noServer: true,
      maxPayload: MAX_MESSAGE_SIZE,
      perMessageDeflate: false,
      clientTracking: false,
    }));
  const conns = new Set<AgentConnection>();
  const pendingByToken = new Map<string, number>();

  function accept(ws: WebSocket, req: IncomingMessage): void {
    const c = ctx!;
    const remoteAddress = c.clientAddress(req);
    const rawSocket = wsSocket(ws);
    const session = new MuxSession(webSocketTransport(ws, rawSocket, TRANSPORT_HIGH_WATER), {
      role: 'server',
      window: options.window,
      pingIntervalMs: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
      deadPeerTimeoutMs: options.deadPeerTimeoutMs ?? DEFAULT_DEAD_PEER_TIMEOUT_MS,
    });
    const conn: AgentConnection = {
      ws,
      session,
      remoteAddress,
      ownerKey: '',
      principal: undefined,
      tunnels: new Map(),
      hello: undefined,
      queue: Promise.resolve(),
      saidGoodbye: false,
      revoked: false,
    };
    conns.add(conn);
    c.metrics.agents.inc({ protocol: 'burrow' });
    rawSocket?.on('drain', () => session.drained());

    const helloTimer = setTimeout(() => {
      session.close(new BurrowError('BURROW_ERR_PROTOCOL', `no HELLO within ${HELLO_TIMEOUT_MS} ms`));
    }, HELLO_TIMEOUT_MS);
    helloTimer.unref();

    // binary bytes reach the mux as the socket read them (views, never joined into whole frames)
    takeOverBinary(ws, MAX_MESSAGE_SIZE, (bytes) => session.receive(bytes), {
      begin: () => session.beginBatch(),
      end: () => session.endBatch(),
    });
    ws.on('message', () => {
      session.close(new BurrowError('BURROW_ERR_PROTOCOL', 'text messages are not part of the protocol'));
    });
    ws.on('close', () => session.close(new BurrowError('BURROW_ERR_AGENT_GONE', 'agent disconnected')));
    ws.on('error', () => session.close(new BurrowError('BURROW_ERR_AGENT_GONE', 'agent connection failed')));

    session.on('control', (frame) => {
      // A goodbye counts when it arrives, not when the control frames queued before it are done:
      // the WebSocket may close meanwhile, and that must not read as a drop.
      if (frame.type === FrameType.GOAWAY) conn.saidGoodbye = true;
      conn.queue = conn.queue
        .then(async () => {
          if (session.closed) return;
          await onControl(conn, frame, req);
          if (frame.type === FrameType.HELLO) clearTimeout(helloTimer);
        })
        .catch((err: unknown) => {
          const e = isBurrowError(err) ? err : new BurrowError('BURROW_ERR_PROTOCOL', String(err));
          session.sendControl(FrameType.GOAWAY, toWireError(e));
          session.close(e);
        });
    });

    session.on('close', (err) => {
      clearTimeout(helloTimer);
      conns.delete(conn);
      c.metrics.agents.dec({ protocol: 'burrow' });
      for (const t of conn.tunnels.values()) {
        t.close('agent disconnected');
        // A drop keeps the name for the agent's return (resume grace); a goodbye (GOAWAY: a stop or a
        // restart) holds it briefly, so visitors get 503 + Retry-After and not 404; a revoked agent's
        // names are not held.
        if (conn.revoked) c.registry.remove(t);
        else if (conn.saidGoodbye) {
          c.registry.remove(t, {
            reason: 'goodbye',
            graceMs: Math.min(GOODBYE_HOLD_MS, options.resumeGraceMs),
            ownerKey: conn.ownerKey,
            principalKey: principalKeyOf(conn.principal?.tokenId ?? null, conn.remoteAddress),
          });
        } else c.registry.remove(t, { graceMs: options.resumeGraceMs, ownerKey: conn.ownerKey });
        options.onTunnelGone?.(t);
      }
      conn.tunnels.clear();
      if (ws.readyState === ws.OPEN) {
        if (err && err.code !== 'BURROW_ERR_AGENT_GONE') {
          // let queued GOAWAY reach the agent before closing
          setImmediate(() => ws.close(err.wsClose, err.message.slice(0, 120)));
        } else ws.close(1000, 'bye');
      }
      if (err && err.code !== 'BURROW_ERR_AGENT_GONE') {
        c.logger.info({ remoteAddress, code: err.code, err: err.message }, 'agent session ended with an error');
      } else c.logger.debug({ remoteAddress }, 'agent disconnected');
    });
  }

  async function onControl(conn: AgentConnection, frame: Frame, upgrade: IncomingMessage): Promise<void> {
    const c = ctx!;
    if (frame.type === FrameType.HELLO) {
      if (conn.hello) throw new BurrowError('BURROW_ERR_PROTOCOL', 'second HELLO');
      const hello = parseHello(decodeJson(frame));
      if (hello.v !== PROTOCOL_VERSION) {
        throw new BurrowError(
          'BURROW_ERR_UNSUPPORTED_VERSION',
          `client speaks v${hello.v}, server speaks v${PROTOCOL_VERSION}`,
        );
      }
      conn.hello = hello;
      conn.principal = await admission.authenticate({ token: hello.token, remoteAddress: conn.remoteAddress });
      if (hello.window !== undefined) {
        conn.session.peerWindow = Math.min(MAX_STREAM_WINDOW, Math.max(MIN_STREAM_WINDOW, hello.window));
      }
      const resumeToken = hello.resumeToken ?? randomBytes(24).toString('base64url');
      conn.ownerKey = createHash('sha256').update(resumeToken).digest('base64url');
      const welcome: Welcome = {
        v: PROTOCOL_VERSION,
        server: `burrow/${VERSION}`,
        sessionId: randomUUID(),
        resumeToken,
        resumeGraceMs: options.resumeGraceMs,
        window: options.window,
        pingIntervalMs: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
        maxFramePayload: MAX_FRAME_PAYLOAD,
      };
      conn.session.sendControl(FrameType.WELCOME, welcome);
      conn.session.startHeartbeat();
      c.logger.debug({ remoteAddress: conn.remoteAddress, client: hello.client }, 'agent connected');
      return;
    }
    if (!conn.hello) throw new BurrowError('BURROW_ERR_PROTOCOL', 'HELLO must come first');
    if (frame.type === FrameType.REGISTER) {
      const r = parseRegisterRequest(decodeJson(frame));
      try {
        const tunnel = await register(conn, r, upgrade);
        conn.session.sendControl(FrameType.REGISTERED, { req: r.req, ok: true, tunnel });
        conn.tunnels.get(String(tunnel['id']))?.announce();
      } catch (err) {
        if (!isBurrowError(err)) throw err;
        c.metrics.errors.inc({ code: err.code });
        conn.session.sendControl(FrameType.REGISTERED, { req: r.req, ok: false, error: toWireError(err) });
      }
      return;
    }
    if (frame.type === FrameType.UNREGISTER) {
      const o = decodeJson(frame);
      const t = typeof o['tunnelId'] === 'string' ? conn.tunnels.get(o['tunnelId']) : undefined;
      if (t) {
        conn.tunnels.delete(t.id);
        t.close('unregistered by the agent');
        c.registry.remove(t);
        options.onTunnelGone?.(t);
      }
      return;
    }
    if (frame.type === FrameType.GOAWAY) {
      conn.saidGoodbye = true;
      conn.session.close();
      return;
    }
    throw new BurrowError('BURROW_ERR_PROTOCOL', `unexpected frame type ${frame.type} from agent`);
  }

  async function register(
    conn: AgentConnection,
    r: RegisterRequest,
    upgrade: IncomingMessage,
  ): Promise<Record<string, unknown>> {
    const c = ctx!;
    if (conn.tunnels.size >= MAX_TUNNELS_PER_SESSION) {
      throw new BurrowError('BURROW_ERR_TUNNEL_LIMIT', `one connection may hold ${MAX_TUNNELS_PER_SESSION} tunnels`);
    }
    // Per-client limit on new tunnels (all edges); a name held for its agent's return is taken back, not new.
    const held = r.name !== undefined && c.registry.isHeld(r.name.toLowerCase());
    const ticket = held ? undefined : c.takeNewTunnel(conn.remoteAddress, 'burrow');
    const principal = conn.principal ?? { tokenId: null };
    const tokenKey = principal.tokenId;
    // Registrations still being admitted count too, so concurrent REGISTERs cannot exceed a token's limit.
    const pending = tokenKey === null ? 0 : (pendingByToken.get(tokenKey) ?? 0);
    const openTunnels =
      tokenKey === null ? 0 : c.registry.list().filter((t) => t.tokenId === tokenKey).length + pending;
    if (tokenKey !== null) pendingByToken.set(tokenKey, pending + 1);
    try {
      return await registerAdmitted(conn, r, upgrade, principal, openTunnels);
    } catch (err) {
      ticket?.cancel();
      throw err;
    } finally {
      if (tokenKey !== null) {
        const left = (pendingByToken.get(tokenKey) ?? 1) - 1;
        if (left > 0) pendingByToken.set(tokenKey, left);
        else pendingByToken.delete(tokenKey);
      }
    }
  }

  async function registerAdmitted(
    conn: AgentConnection,
    r: RegisterRequest,
    upgrade: IncomingMessage,
    principal: AgentPrincipal,
    openTunnels: number,
  ): Promise<Record<string, unknown>> {
    const c = ctx!;
    const allowPorts = allowedPortsOf(r);
    const admitted = await admission.admit({
      principal,
      protocol: 'burrow',
      kind: r.kind,
      name: r.name,
      remoteAddress: conn.remoteAddress,
      openTunnels,
      access: r.access,
    });
    if (conn.session.closed) throw new BurrowError('BURROW_ERR_AGENT_GONE', 'agent left during registration');
    // Server-chosen names are picked here, so that they get a stable id like requested ones.
    const wanted = admitted.name?.toLowerCase() ?? c.registry.freeName();
    const id = admission.tunnelId
      ? await admission.tunnelId({ name: wanted, tokenId: principal.tokenId, protocol: 'burrow' })
      : undefined;
    const principalKey = principalKeyOf(principal.tokenId, conn.remoteAddress);
    // a shared registry (several nodes) claims the name cluster-wide first
    await c.registry.claim?.(wanted, { ownerKey: conn.ownerKey, principalKey });
    if (conn.session.closed) throw new BurrowError('BURROW_ERR_AGENT_GONE', 'agent left during registration');
    const tunnel = c.registry.add(
      (name) =>
        new BurrowTunnel({
          ...(id ? { id } : {}),
          tokenId: principal.tokenId,
          agentAddress: conn.remoteAddress,
          hostHeader: r.hostHeader,
          ...(allowPorts.length ? { allowPorts } : {}),
          ...(admitted.access ? { access: admitted.access } : {}),
          name,
          url: c.publicUrlFor(name, upgrade),
          kind: r.kind,
          session: conn.session,
          maxStreams: options.maxStreamsPerTunnel,
          requestEvents: r.requestEvents === true,
          metrics: c.metrics,
          info: r.target ? { target: r.target } : {},
        }),
      {
        name: wanted,
        ownerKey: conn.ownerKey,
        principalKey,
      },
    );
    conn.tunnels.set(tunnel.id, tunnel);
    c.logger.info({ tunnel: tunnel.name, kind: tunnel.kind, remoteAddress: conn.remoteAddress }, 'tunnel registered');
    let extra: Record<string, unknown> | undefined;
    if (tunnel.kind === 'tcp' && options.onTcpTunnel) {
      try {
        extra = await options.onTcpTunnel(tunnel, r, upgrade);
      } catch (err) {
        conn.tunnels.delete(tunnel.id);
        tunnel.close('tcp setup failed');
        c.registry.remove(tunnel);
        throw err;
      }
    }
    return { id: tunnel.id, name: tunnel.name, url: tunnel.url, kind: tunnel.kind, ...extra };
  }

  return {
    name: 'burrow-agent',
    get connections() {
      return conns.size;
    },
    start(c) {
      ctx = c;
    },
    handleUpgrade(req, socket, head, url) {
      if (url.pathname !== AGENT_PATH) return false;
      upgrader().handleUpgrade(req, socket, head, (ws) => accept(ws, req));
      return true;
    },
    stats() {
      return { agents: conns.size };
    },
    /**
     * Close one tunnel of a connected agent (an operator's action): the name is freed at once, the
     * agent gets UNREGISTER with the reason and does not register it again; its other tunnels stay.
     */
    closeTunnel(tunnelId, err) {
      for (const conn of conns) {
        const t = conn.tunnels.get(tunnelId);
        if (!t) continue;
        conn.tunnels.delete(tunnelId);
        t.close(err.message);
        ctx?.registry.remove(t);
        options.onTunnelGone?.(t);
        conn.session.sendControl(FrameType.UNREGISTER, { tunnelId, error: toWireError(err) });
        return true;
      }
      return false;
    },
    closeTunnelsOf(pred) {
      let n = 0;
      for (const conn of [...conns]) {
        if (conn.principal && pred(conn.principal)) {
          n++;
          conn.revoked = true; // a revoked agent's names are not held for it
          conn.session.sendControl(
            FrameType.GOAWAY,
            toWireError(new BurrowError('BURROW_ERR_UNAUTHORIZED', 'token revoked')),
          );
          conn.session.close(new BurrowError('BURROW_ERR_UNAUTHORIZED', 'token revoked'));
        }
      }
      return n;
    },
    async close() {
      for (const conn of [...conns]) {
        conn.session.sendControl(FrameType.GOAWAY, toWireError(new BurrowError('BURROW_ERR_SHUTTING_DOWN')));
        conn.session.close(new BurrowError('BURROW_ERR_SHUTTING_DOWN'));
      }
      wss?.close();
    },
  };
}

export type { RegisteredTunnel };

/** The REGISTER's `allowPorts` (http tunnels only), checked: BURROW_ERR_BAD_REQUEST naming what is wrong. */
function allowedPortsOf(r: RegisterRequest): PortRange[] {
  if (r.allowPorts === undefined || r.allowPorts === '') return [];
  if (r.kind !== 'http') {
    throw new BurrowError('BURROW_ERR_BAD_REQUEST', 'allowPorts is for http tunnels (a tcp tunnel carries one port)');
  }
  try {
    return parsePortList(r.allowPorts);
  } catch (err) {
    throw new BurrowError('BURROW_ERR_BAD_REQUEST', `allowPorts: ${(err as Error).message}`);
  }
}
