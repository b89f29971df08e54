/**
 * createTunelyAdapter: tunely's server as a burrow ServerAdapter. Real `tunely connect` agents
 * authenticate on WS /ws/tunnel with a token bound to one name; their tunnel answers at
 * <name>.<domain> and at /t/<name>/… on the server's own host (docs/tunely.md).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { wsPackage } from '../../core/packages.js';
import { BurrowError, isBurrowError } from '../../core/errors.js';
import { LivenessWatcher } from '../../core/liveness.js';
import { CLOSE_HANDSHAKE_GRACE_MS } from '../../core/limits.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { NewTunnelTicket } from '../../core/new-tunnel-limiter.js';
import type { ServerAdapter, ServerContext } from '../../server/adapter.js';
import { VERSION } from '../../version.js';
import { TunelyAgent } from './agent.js';
import {
  TUNELY_AUTH_TIMEOUT_MS,
  TUNELY_DEAD_AGENT_TIMEOUT_MS,
  TUNELY_DEFAULT_PATH,
  TUNELY_DEFAULT_PATH_PREFIX,
  TUNELY_DEFAULT_REQUEST_TIMEOUT_MS,
  TUNELY_MAX_AGENT_BUFFERED_BYTES,
  TUNELY_MAX_BODY_BYTES,
  TUNELY_MAX_MESSAGE_BYTES,
  TUNELY_MAX_PENDING_PER_AGENT,
  TUNELY_MAX_VISITOR_BUFFERED_BYTES,
  TUNELY_OFFLINE_GRACE_MS,
  TUNELY_PING_INTERVAL_MS,
} from './limits.js';
import { TunelyTunnel, type TunelyTunnelLimits } from './tunnel.js';
import { staticTokenNames, staticTokenVerifier, type TunelyIdentity, type TunelyTokenVerifier } from './verify.js';
import {
  authErrorMessage,
  authOkMessage,
  CONNECTION_EXISTS_PHRASE,
  FORCE_CLOSE_REASON,
  parseAgentMessage,
  pingMessage,
  pongMessage,
  type TunelyAuthErrorCode,
} from './wire.js';
import './errors.js';

export interface TunelyAdapterOptions {
  /** Token → identity (wire to burrow's TokenService with tunelyVerifierFromTokens). */
  verifyToken?: TunelyTokenVerifier;
  /** Static `{ [token]: name }` map for simple setups and tests (checked before verifyToken). */
  tokens?: Readonly<Record<string, string>>;
  /** WebSocket path of the agent endpoint (default /ws/tunnel). */
  path?: string;
  /** Serve tunnels at <prefix>/<name>/… on the server's own host (default /t; false to turn off). */
  pathPrefix?: string | false;
  /** Logger (default: the server's). */
  logger?: Logger;
  requestTimeoutMs?: number;
  maxBodyBytes?: number;
  maxMessageBytes?: number;
  pingIntervalMs?: number;
  deadAgentTimeoutMs?: number;
  authTimeoutMs?: number;
  /** How long a tunnel keeps its name while its agent is offline (Infinity: forever). */
  offlineGraceMs?: number;
  maxPendingPerAgent?: number;
  maxAgentBufferedBytes?: number;
  maxVisitorBufferedBytes?: number;
}

export interface TunelyAdapter extends ServerAdapter {
  readonly path: string;
  stats(): { tunelyAgents: number };
  /** Close the agents authenticated with this token (call on TokenService 'revoked'). Returns how many. */
  disconnectToken(tokenId: string): number;
  close(): Promise<void>;
}

/** Close code when the socket is refused at auth (tunely's server uses 1008, policy violation). */
const AUTH_CLOSE_CODE = 1008;
/** A DNS label: what a tunely-bound name must be to route as <name>.<domain>. */
const LABEL_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!(typeof v === 'number' && v > 0)) throw new Error(`tunely ${name} must be a positive number, got ${String(v)}`);
  return v;
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

export function createTunelyAdapter(options: TunelyAdapterOptions = {}): TunelyAdapter {
  const path = options.path ?? TUNELY_DEFAULT_PATH;
  if (!path.startsWith('/')) throw new Error(`tunely path must start with "/": ${path}`);
  const prefix =
    options.pathPrefix === false ? undefined : (options.pathPrefix ?? TUNELY_DEFAULT_PATH_PREFIX).replace(/\/+$/, '');
  if (prefix !== undefined && !prefix.startsWith('/'))
    throw new Error(`tunely pathPrefix must start with "/": ${prefix}`);
  const limits: TunelyTunnelLimits = {
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, TUNELY_DEFAULT_REQUEST_TIMEOUT_MS),
    maxBodyBytes: positive('maxBodyBytes', options.maxBodyBytes, TUNELY_MAX_BODY_BYTES),
    maxPendingPerAgent: positive('maxPendingPerAgent', options.maxPendingPerAgent, TUNELY_MAX_PENDING_PER_AGENT),
    maxAgentBufferedBytes: positive(
      'maxAgentBufferedBytes',
      options.maxAgentBufferedBytes,
      TUNELY_MAX_AGENT_BUFFERED_BYTES,
    ),
    maxVisitorBufferedBytes: positive(
      'maxVisitorBufferedBytes',
      options.maxVisitorBufferedBytes,
      TUNELY_MAX_VISITOR_BUFFERED_BYTES,
    ),
  };
  const pingIntervalMs = positive('pingIntervalMs', options.pingIntervalMs, TUNELY_PING_INTERVAL_MS);
  const deadAgentTimeoutMs = positive('deadAgentTimeoutMs', options.deadAgentTimeoutMs, TUNELY_DEAD_AGENT_TIMEOUT_MS);
  const authTimeoutMs = positive('authTimeoutMs', options.authTimeoutMs, TUNELY_AUTH_TIMEOUT_MS);
  const offlineGraceMs = options.offlineGraceMs ?? TUNELY_OFFLINE_GRACE_MS;
  if (!(offlineGraceMs >= 0)) throw new Error(`tunely offlineGraceMs must be ≥ 0, got ${String(offlineGraceMs)}`);
  const maxMessageBytes = positive('maxMessageBytes', options.maxMessageBytes, TUNELY_MAX_MESSAGE_BYTES);

  const verifiers: TunelyTokenVerifier[] = [];
  if (options.tokens) verifiers.push(staticTokenVerifier(options.tokens));
  if (options.verifyToken) verifiers.push(options.verifyToken);
  const knownNames = options.tokens ? staticTokenNames(options.tokens) : new Set<string>();

  let ctx: ServerContext | undefined;
  let log: Logger = options.logger ?? silentLogger();
  const liveness = new LivenessWatcher<TunelyAgent>({
    intervalMs: pingIntervalMs,
    silenceMs: deadAgentTimeoutMs,
    onSilent: (agent, silentMs) => {
      log.info({ name: agent.name, silentMs }, 'tunely: agent silent, dropped');
      agent.ws.terminate();
      onAgentGone(agent, 'stopped answering pings');
    },
    onTick: (agent) => agent.send(pingMessage()),
  });
  let closing = false;
  // made at the first upgrade: an idle server has not loaded ws (src/core/packages.ts)
  let wss: WebSocketServer | undefined;
  const upgrader = (): WebSocketServer =>
    (wss ??= new (wsPackage().WebSocketServer)({
      noServer: true,
      maxPayload: maxMessageBytes,
      perMessageDeflate: false,
    }));
  /** Every open socket, authenticated or not. */
  const sockets = new Set<WebSocket>();
  /** Authenticated agents. */
  const agents = new Set<TunelyAgent>();
  /** Tunnels this adapter put in the registry (online or in their offline grace). */
  const tunnels = new Map<string, TunelyTunnel>();

  const context = (): ServerContext => {
    if (!ctx)
      throw new Error('the tunely adapter was not started: pass it to createServer({ adapters }) or server.use()');
    return ctx;
  };

  function refuse(ws: WebSocket, code: TunelyAuthErrorCode, error: string): void {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(authErrorMessage(code, error));
    ws.close(AUTH_CLOSE_CODE, code);
    setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_GRACE_MS).unref();
  }

  async function identify(token: string, address: string, clientVersion: string): Promise<TunelyIdentity | undefined> {
    for (const v of verifiers) {
      const id = await v(token, { address, clientVersion });
      if (id) return id;
    }
    return undefined;
  }

  function release(tunnel: TunelyTunnel): void {
    if (tunnels.get(tunnel.name) === tunnel) tunnels.delete(tunnel.name);
    tunnel.close('tunely tunnel released');
    context().registry.remove(tunnel);
  }

  /** The agent is gone: fail its requests; its tunnel keeps the name for the offline grace. */
  function onAgentGone(agent: TunelyAgent, why: string): void {
    if (!agents.delete(agent)) return;
    liveness.remove(agent);
    agent.closed = true;
    const c = context();
    c.metrics.agents.dec({ protocol: 'tunely' });
    const tunnel = tunnels.get(agent.name);
    const err = new BurrowError('BURROW_ERR_AGENT_GONE', `the tunely agent of "${agent.name}" ${why}`);
    if (!tunnel || !tunnel.detach(agent, err)) {
      agent.failAll(err);
      return;
    }
    log.info({ name: agent.name, tokenId: agent.tokenId, why }, 'tunely: agent disconnected');
    if (closing) return;
    if (offlineGraceMs === 0) release(tunnel);
    else if (Number.isFinite(offlineGraceMs)) {
      tunnel.offlineTimer = setTimeout(() => {
        if (!tunnel.agent) release(tunnel);
      }, offlineGraceMs);
      tunnel.offlineTimer.unref();
    }
  }

  async function authenticate(
    ws: WebSocket,
    req: IncomingMessage,
    token: string,
    clientVersion: string,
    force: boolean,
  ): Promise<void> {
    const c = context();
    const address = c.clientAddress(req);
    let identity: TunelyIdentity | undefined;
    try {
      identity = await identify(token, address, clientVersion);
    } catch (err) {
      const msg = isBurrowError(err) ? err.message : 'token verification failed';
      if (!isBurrowError(err)) log.error({ err }, 'tunely: token verification failed');
      log.info({ address, reason: msg }, 'tunely: auth refused');
      return refuse(ws, 'auth_failed', msg);
    }
    if (ws.readyState !== ws.OPEN || closing) return;
    if (!identity) {
      log.info({ address }, 'tunely: auth refused (unknown token)');
      return refuse(ws, 'auth_failed', 'Invalid token: no tunnel is bound to this token');
    }
    const name = identity.name.toLowerCase();
    if (!LABEL_RE.test(name)) {
      return refuse(ws, 'auth_failed', `The token is bound to "${name.slice(0, 80)}", which is not a valid DNS label`);
    }
    let tunnel = tunnels.get(name);
    if (tunnel?.closed) {
      tunnels.delete(name);
      tunnel = undefined;
    }
    // One token per tunnel: force replaces a connection of the same token, never another token's.
    if (tunnel && tunnel.ownerTokenId !== identity.tokenId) {
      const online = tunnel.agent?.open === true;
      log.info({ name, address, tokenId: identity.tokenId, online }, 'tunely: name held by another token, refused');
      return refuse(
        ws,
        'auth_failed',
        online
          ? `The name "${name}" is connected with another token; --force only replaces a connection of the same token`
          : `The name "${name}" is held for another token's agent, which may be reconnecting; try again later`,
      );
    }
    const current = tunnel?.agent;
    if (current?.open) {
      if (!force) {
        log.info({ name, address }, 'tunely: duplicate connection refused');
        return refuse(
          ws,
          'connection_exists',
          `该令牌${CONNECTION_EXISTS_PHRASE}: an agent is already connected with this token (tunnel "${name}"); start the new one with --force to replace it`,
        );
      }
      log.info({ name, address }, 'tunely: connection replaced (force)');
      current.close(1000, FORCE_CLOSE_REASON);
      onAgentGone(current, 'was replaced by a new connection (force)');
      tunnel = tunnels.get(name);
    }
    if (!tunnel) {
      // A new tunnel counts against the client's per-minute limit (an agent taking its tunnel back does not).
      let ticket: NewTunnelTicket | undefined;
      try {
        ticket = c.takeNewTunnel(address, 'tunely');
        const tokenId = identity.tokenId;
        tunnel = c.registry.add((n) => new TunelyTunnel(n, c.publicUrlFor(n, req), c, limits, tokenId), {
          name,
          ownerKey: identity.tokenId,
          allowReserved: true,
        });
      } catch (err) {
        ticket?.cancel();
        const msg = isBurrowError(err) ? err.message : String(err);
        return refuse(ws, 'auth_failed', msg);
      }
      tunnels.set(name, tunnel);
    }
    const agent = new TunelyAgent(ws, identity.tokenId, name, address, clientVersion);
    agents.add(agent);
    liveness.seen(agent);
    c.metrics.agents.inc({ protocol: 'tunely' });
    tunnel.attach(agent);
    bindAgent(ws, agent);
    ws.send(authOkMessage({ domain: name, tunnelId: tunnel.id, serverVersion: VERSION, url: tunnel.url }));
    log.info({ name, tokenId: identity.tokenId, address, clientVersion }, 'tunely: agent connected');
  }

  function bindAgent(ws: WebSocket, agent: TunelyAgent): void {
    ws.on('message', (data: RawData) => {
      liveness.seen(agent);
      const msg = parseAgentMessage(rawToString(data));
      switch (msg.type) {
        case 'pong':
          return;
        case 'ping':
          agent.send(pongMessage());
          return;
        case 'auth':
          log.debug({ name: agent.name }, 'tunely: auth sent twice, ignored');
          return;
        case 'invalid':
          log.debug({ name: agent.name, reason: msg.reason }, 'tunely: message ignored');
          if (msg.id !== undefined) {
            agent.fail(msg.id, new BurrowError('BURROW_ERR_ORIGIN_ERROR', `the tunely agent sent a ${msg.reason}`));
          }
          return;
        default:
          if (!agent.dispatch(msg))
            log.debug({ name: agent.name, id: msg.id, type: msg.type }, 'tunely: answer for no pending request');
      }
    });
    ws.on('pong', () => liveness.seen(agent));
    ws.on('close', () => onAgentGone(agent, 'disconnected'));
  }

  function accept(ws: WebSocket, req: IncomingMessage): void {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('error', (err) => log.debug({ err }, 'tunely: socket error'));
    const authTimer = setTimeout(
      () => refuse(ws, 'auth_failed', `Send auth within ${authTimeoutMs} ms`),
      authTimeoutMs,
    );
    authTimer.unref();
    ws.once('close', () => clearTimeout(authTimer));
    ws.once('message', (data: RawData) => {
      clearTimeout(authTimer);
      const msg = parseAgentMessage(rawToString(data));
      if (msg.type !== 'auth') {
        refuse(ws, 'auth_failed', 'The first message must be {"type":"auth","token":…}');
        return;
      }
      authenticate(ws, req, msg.token, msg.clientVersion, msg.force).catch((err: unknown) => {
        log.error({ err }, 'tunely: auth failed unexpectedly');
        refuse(ws, 'auth_failed', 'Internal error');
      });
    });
  }

  /** /t/<name>/rest?query → [name, /rest?query]; undefined when the path is not under the prefix. */
  function splitPrefixed(url: URL): [string, string] | undefined {
    if (prefix === undefined || !url.pathname.startsWith(`${prefix}/`)) return undefined;
    const rest = url.pathname.slice(prefix.length + 1);
    const slash = rest.indexOf('/');
    const name = (slash === -1 ? rest : rest.slice(0, slash)).toLowerCase();
    if (name === '') return undefined;
    return [name, (slash === -1 ? '/' : rest.slice(slash)) + url.search];
  }

  function prefixedTunnel(name: string): TunelyTunnel | BurrowError {
    const t = tunnels.get(name);
    if (t && !t.closed) return t;
    if (knownNames.has(name)) {
      return new BurrowError('BURROW_ERR_TUNELY_AGENT_OFFLINE', `tunnel "${name}" has no agent connected right now`);
    }
    return new BurrowError('BURROW_ERR_TUNNEL_NOT_FOUND', `no tunely tunnel is named "${name.slice(0, 80)}"`);
  }

  const adapter: TunelyAdapter = {
    name: 'tunely',
    path,
    start(serverCtx) {
      ctx = serverCtx;
      if (!options.logger) log = serverCtx.logger.child({ adapter: 'tunely' });
      liveness.start();
    },
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean {
      if (url.pathname === path) {
        if (closing) {
          context().rejectUpgrade(socket, new BurrowError('BURROW_ERR_SHUTTING_DOWN'));
          return true;
        }
        upgrader().handleUpgrade(req, socket, head, (ws) => accept(ws, req));
        return true;
      }
      const p = splitPrefixed(url);
      if (!p) return false;
      const t = prefixedTunnel(p[0]);
      if (t instanceof BurrowError) context().rejectUpgrade(socket, t);
      else t.handleUpgrade(req, socket);
      return true;
    },
    handleRequest(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
      const c = context();
      if (url.pathname === path) {
        c.sendError(
          req,
          res,
          new BurrowError(
            'BURROW_ERR_UPGRADE_REQUIRED',
            `${path} is the tunely agent endpoint (tunely connect --server ws://HOST${path})`,
          ),
        );
        return true;
      }
      const p = splitPrefixed(url);
      if (!p) return false;
      const [name, rest] = p;
      const t = prefixedTunnel(name);
      if (t instanceof BurrowError) {
        req.resume();
        c.metrics.errors.inc({ code: t.code });
        c.sendError(req, res, t);
        return true;
      }
      const remoteAddress = c.clientAddress(req);
      c.hooks.onRequest?.({
        domain: req.headers.host ?? '',
        path: req.url ?? '/',
        method: req.method ?? 'GET',
        tunnelId: t.id,
        headers: req.headers,
        remoteAddress,
      });
      const proto = new URL(c.baseUrlFor(req)).protocol.replace(':', '');
      t.forward(req, res, rest, { remoteAddress, proto, host: req.headers.host ?? '' });
      return true;
    },
    stats() {
      return { tunelyAgents: agents.size };
    },
    disconnectToken(tokenId) {
      let n = 0;
      for (const agent of [...agents]) {
        if (agent.tokenId !== tokenId) continue;
        n++;
        agent.close(AUTH_CLOSE_CODE, 'Token revoked');
        onAgentGone(agent, 'lost its token (revoked)');
      }
      return n;
    },
    async close() {
      if (closing) return;
      closing = true;
      liveness.stop();
      const waits = [...sockets].map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === ws.CLOSED) return resolve();
            ws.once('close', () => resolve());
            ws.close(1001, 'Server shutting down');
            setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_GRACE_MS).unref();
          }),
      );
      for (const agent of [...agents]) onAgentGone(agent, 'was closed: the server is shutting down');
      await Promise.all(waits);
      for (const t of [...tunnels.values()]) release(t);
      if (wss) await new Promise<void>((resolve) => wss!.close(() => resolve()));
    },
  };
  return adapter;
}
