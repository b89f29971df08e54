/**
 * The localtunnel / pipenet edge: `GET|POST /?new` and `/<name>` on the server's own host create a
 * LocaltunnelTunnel in the core's registry and answer the JSON both clients read; pool sockets
 * arrive on a per-tunnel TCP port (or on one shared port after an `<id>\n` line). Visitor traffic
 * then goes through the core's proxy like any other tunnel's (hooks, metrics, limits, logs).
 */
import net from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BurrowError, isBurrowError, RateLimitedError } from '../../core/errors.js';
import type { NewTunnelTicket } from '../../core/new-tunnel-limiter.js';
import type { ServerAdapter, ServerContext } from '../../server/adapter.js';
import type { RegisteredTunnel } from '../../server/registry.js';
import type { AgentAdmission } from '../../server/admission.js';
import { presentedToken } from '../../server/presented-token.js';
import {
  DEFAULT_MAX_QUEUED,
  DEFAULT_MAX_SOCKETS,
  DEFAULT_QUEUE_TIMEOUT_MS,
  FIRST_REQUEST_BODY_DELAY_MS,
  ID_LINE_MAX_BYTES,
  ID_LINE_TIMEOUT_MS,
  KEEPALIVE_INTERVAL_MS,
  MAX_MAX_SOCKETS,
  POOL_GRACE_MS,
} from './limits.js';
import { sendJson } from '../../core/http-json.js';
import { checkPortRange, parsePortRange, type PortRange } from '../../core/port-range.js';
import { listenInRange, listenOn } from './ports.js';
import { LocaltunnelTunnel } from './tunnel.js';
import { buildHandshakeReply, IdLineReader, parseHandshake, type HandshakeRequest } from './wire.js';
import './errors.js';

export interface LocaltunnelAdapterOptions {
  /**
   * Who may open tunnels (default: everyone). The token comes from `Authorization: Bearer …`,
   * `X-Burrow-Token` or `?token=` on the handshake (pipenet: `--headers`; lt cannot send one).
   */
  admission?: AgentAdmission;
  /** Pool size advertised to clients and enforced (`--max-sockets`, default 10). */
  maxSockets?: number;
  /** Address the pool listeners bind to (`--address`; default: all interfaces). */
  address?: string;
  /**
   * Per-tunnel ports come from this range, e.g. "40000-40999" (default: any free port). The object
   * form is `{ min, max }` (this option's shape before the range parser moved to core/port-range.ts).
   */
  portRange?: string | { min: number; max: number };
  /**
   * One shared port for every pool socket (`--tunnel-port`; 0 = any free port). Each socket first
   * sends `<id>\n`. Only pipenet (and burrow's client) send that line; `lt` needs per-tunnel ports.
   */
  tunnelPort?: number;
  /**
   * The `ip` field of handshake answers: the host clients dial for the pool. Default: the bind
   * address when it is a specific address (e.g. 127.0.0.1), else omitted (clients dial the
   * server's host name). false = never send it.
   */
  ip?: string | false;
  /** `cached_url` / `cachedUrl` for a tunnel (omitted unless given). */
  cachedUrl?: (url: string, name: string) => string;
  /** Most visitor requests waiting for a pool socket, per tunnel. */
  maxQueued?: number;
  /** ms a visitor request waits for a free pool socket before a 504. */
  queueTimeoutMs?: number;
  /** ms a tunnel whose pool drained (or never filled) is kept for its client. */
  graceMs?: number;
  /** ms between `\r\n` keep-alives on idle pool sockets (0 = off). */
  keepAliveIntervalMs?: number;
  /** ms a first request's body is held back behind its head (see FIRST_REQUEST_BODY_DELAY_MS). */
  firstBodyDelayMs?: number;
}

export interface LocaltunnelAdapter extends ServerAdapter {
  /** Resolves once the shared tunnel port (if any) listens. */
  ready(): Promise<void>;
  /** The bound shared tunnel port, when configured and listening. */
  readonly sharedPort: number | undefined;
  /** Live localtunnel tunnels of this adapter. */
  tunnels(): LocaltunnelTunnel[];
}

interface Resolved {
  maxSockets: number;
  address: string | undefined;
  range: PortRange | undefined;
  tunnelPort: number | undefined;
  ip: string | undefined;
  maxQueued: number;
  queueTimeoutMs: number;
  graceMs: number;
  keepAliveIntervalMs: number;
  firstBodyDelayMs: number;
  admission: AgentAdmission | undefined;
}

function resolve(o: LocaltunnelAdapterOptions): Resolved {
  const problems: string[] = [];
  const int = (name: string, v: number | undefined, def: number, min: number, max: number): number => {
    if (v === undefined) return def;
    if (!Number.isInteger(v) || v < min || v > max) {
      problems.push(`localtunnel ${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})`);
      return def;
    }
    return v;
  };
  let range: PortRange | undefined;
  try {
    range =
      o.portRange === undefined
        ? undefined
        : typeof o.portRange === 'string'
          ? parsePortRange(o.portRange)
          : checkPortRange({ from: o.portRange.min, to: o.portRange.max });
  } catch (err) {
    problems.push((err as Error).message);
  }
  const address = o.address;
  const wildcard = address === undefined || address === '0.0.0.0' || address === '::' || address === '';
  const ip = o.ip === false ? undefined : (o.ip ?? (wildcard ? undefined : address));
  const r: Resolved = {
    admission: o.admission,
    maxSockets: int('maxSockets', o.maxSockets, DEFAULT_MAX_SOCKETS, 1, MAX_MAX_SOCKETS),
    address: wildcard ? undefined : address,
    range,
    tunnelPort: o.tunnelPort === undefined ? undefined : int('tunnelPort', o.tunnelPort, 0, 0, 65535),
    ip,
    maxQueued: int('maxQueued', o.maxQueued, DEFAULT_MAX_QUEUED, 0, 1_000_000),
    queueTimeoutMs: int('queueTimeoutMs', o.queueTimeoutMs, DEFAULT_QUEUE_TIMEOUT_MS, 1, 3_600_000),
    graceMs: int('graceMs', o.graceMs, POOL_GRACE_MS, 0, 86_400_000),
    keepAliveIntervalMs: int('keepAliveIntervalMs', o.keepAliveIntervalMs, KEEPALIVE_INTERVAL_MS, 0, 3_600_000),
    firstBodyDelayMs: int('firstBodyDelayMs', o.firstBodyDelayMs, FIRST_REQUEST_BODY_DELAY_MS, 0, 10_000),
  };
  if (problems.length) throw new BurrowError('BURROW_ERR_INVALID_CONFIG', problems.join('; '));
  return r;
}

/**
 * Errors as both clients read them: 4xx/5xx with `{"message": …}` (plus burrow's code and fix);
 * a rate limit (too many new tunnels, or failed tokens) is 429 with Retry-After.
 */
function sendHandshakeError(res: ServerResponse, err: unknown): void {
  const e = isBurrowError(err) ? err : new BurrowError('BURROW_ERR_LOCALTUNNEL_NO_PORT', (err as Error).message);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.setHeader('X-Burrow-Error', e.code);
  if (e instanceof RateLimitedError) res.setHeader('Retry-After', String(e.retryAfter));
  sendJson(res, e.status, { message: e.message, code: e.code, fix: e.fix });
}

export function createLocaltunnelAdapter(options: LocaltunnelAdapterOptions = {}): LocaltunnelAdapter {
  const o = resolve(options);
  let ctx: ServerContext | undefined;
  const listeners = new Map<LocaltunnelTunnel, net.Server>();
  const mine = new Set<LocaltunnelTunnel>();
  /** Tunnels no pool socket has claimed yet: they count against their client's new-tunnel limit. */
  const unclaimed = new Map<LocaltunnelTunnel, NewTunnelTicket>();
  const claimed = (t: LocaltunnelTunnel): void => {
    unclaimed.get(t)?.release();
    unclaimed.delete(t);
  };
  let shared: net.Server | undefined;
  let sharedPort: number | undefined;
  let readyPromise: Promise<void> = Promise.resolve();
  let closing = false;

  const forget = (t: LocaltunnelTunnel): void => {
    if (!mine.delete(t)) return;
    claimed(t);
    ctx?.metrics.agents.dec({ protocol: 'localtunnel' });
    const l = listeners.get(t);
    listeners.delete(t);
    l?.close();
  };

  const remove = (t: LocaltunnelTunnel, reason: string): void => {
    t.close(reason);
    ctx?.registry.remove(t);
    forget(t);
  };

  const onSharedConnection = (socket: net.Socket): void => {
    socket.on('error', () => socket.destroy());
    const reader = new IdLineReader(ID_LINE_MAX_BYTES);
    const timer = setTimeout(() => socket.destroy(), ID_LINE_TIMEOUT_MS);
    timer.unref();
    const onData = (chunk: Buffer): void => {
      const r = reader.push(chunk);
      if (r.state === 'more') return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      if (r.state === 'error') {
        ctx?.logger.debug({ reason: r.reason }, 'localtunnel shared port: bad id line');
        socket.destroy();
        return;
      }
      const t = ctx?.registry.get(r.id);
      if (!(t instanceof LocaltunnelTunnel) || !mine.has(t)) {
        ctx?.logger.debug({ id: r.id }, 'localtunnel shared port: unknown id');
        socket.destroy();
        return;
      }
      if (r.rest.length) socket.unshift(r.rest);
      t.addSocket(socket);
    };
    socket.on('data', onData);
  };

  async function handshake(
    req: IncomingMessage,
    res: ServerResponse,
    hs: HandshakeRequest,
    c: ServerContext,
    ticket: NewTunnelTicket,
  ): Promise<void> {
    const clientAddress = c.clientAddress(req);
    let requested = hs.kind === 'name' ? hs.name : undefined;
    let tokenId: string | null = null;
    let access: LocaltunnelTunnel['access'];
    if (o.admission) {
      const principal = await o.admission.authenticate({ token: presentedToken(req), remoteAddress: clientAddress });
      tokenId = principal.tokenId;
      const openTunnels = tokenId === null ? 0 : c.registry.list().filter((t) => t.tokenId === tokenId).length;
      const admitted = await o.admission.admit({
        principal,
        protocol: 'localtunnel',
        kind: 'http',
        name: requested,
        remoteAddress: clientAddress,
        openTunnels,
      });
      requested = admitted.name;
      access = admitted.access;
    }
    if (requested !== undefined) {
      // A client whose pool drained gets its name back from the same address during the grace period.
      const existing = c.registry.get(requested.toLowerCase());
      if (
        existing instanceof LocaltunnelTunnel &&
        mine.has(existing) &&
        existing.drained &&
        existing.clientAddress === clientAddress
      ) {
        remove(existing, 'replaced by a new handshake from its client');
      }
    }
    // a cluster's registry claims the name cluster-wide (and counts it for --max-tunnels) first
    if (c.registry.claim) {
      requested = (requested ?? c.registry.freeName()).toLowerCase();
      await c.registry.claim(requested, {});
    }
    const tunnel = c.registry.add(
      (name) =>
        new LocaltunnelTunnel({
          name,
          url: c.publicUrlFor(name, req),
          clientAddress,
          maxSockets: o.maxSockets,
          maxQueued: o.maxQueued,
          queueTimeoutMs: o.queueTimeoutMs,
          graceMs: o.graceMs,
          keepAliveIntervalMs: o.keepAliveIntervalMs,
          firstBodyDelayMs: o.firstBodyDelayMs,
          metrics: c.metrics,
          logger: c.logger,
          onExpire: (t) => {
            c.logger.info({ tunnel: t.name }, 'localtunnel tunnel removed: no pool socket within the grace period');
            remove(t, 'no pool socket connected');
          },
          onClaimed: claimed,
        }),
      { name: requested },
    );
    tunnel.tokenId = tokenId;
    tunnel.access = access;
    mine.add(tunnel);
    unclaimed.set(tunnel, ticket);
    c.metrics.agents.inc({ protocol: 'localtunnel' });
    try {
      if (o.tunnelPort !== undefined) {
        await readyPromise;
        if (sharedPort === undefined)
          throw new BurrowError('BURROW_ERR_LOCALTUNNEL_NO_PORT', 'the shared tunnel port is not listening');
        tunnel.port = sharedPort;
      } else {
        const server = net.createServer({ noDelay: true }, (s) => tunnel.addSocket(s));
        server.on('error', (err) => c.logger.warn({ tunnel: tunnel.name, err }, 'localtunnel pool listener error'));
        listeners.set(tunnel, server);
        tunnel.port = await listenInRange(server, o.address, o.range);
        if (!mine.has(tunnel)) server.close();
      }
    } catch (err) {
      remove(tunnel, 'no pool port');
      throw err;
    }
    c.logger.info({ tunnel: tunnel.name, port: tunnel.port, client: clientAddress }, 'localtunnel tunnel created');
    sendJson(
      res,
      200,
      buildHandshakeReply({
        name: tunnel.name,
        url: tunnel.url,
        port: tunnel.port,
        maxSockets: o.maxSockets,
        ip: o.ip,
        cachedUrl: options.cachedUrl?.(tunnel.url, tunnel.name),
        shared: o.tunnelPort !== undefined,
      }),
    );
  }

  const adapter: LocaltunnelAdapter = {
    name: 'localtunnel',
    get sharedPort() {
      return sharedPort;
    },
    ready: () => readyPromise,
    tunnels: () => [...mine],
    start(c) {
      ctx = c;
      c.registry.on('closed', (t: RegisteredTunnel) => {
        if (t instanceof LocaltunnelTunnel) forget(t);
      });
      if (o.tunnelPort !== undefined) {
        shared = net.createServer({ noDelay: true }, onSharedConnection);
        shared.on('error', (err) => c.logger.warn({ err }, 'localtunnel shared tunnel port error'));
        readyPromise = listenOn(shared, o.tunnelPort, o.address).then((port) => {
          sharedPort = port;
          c.logger.info({ port, address: o.address ?? '*' }, 'localtunnel shared tunnel port listening');
        });
        return readyPromise;
      }
      return undefined;
    },
    handleRequest(req, res, url) {
      const hs = parseHandshake(req.method, url);
      if (!hs) return false;
      const c = ctx;
      if (!c || closing) {
        sendHandshakeError(res, new BurrowError('BURROW_ERR_SHUTTING_DOWN'));
        return true;
      }
      req.resume();
      // Every handshake is a new tunnel: counted per client address, and held until its pool is claimed.
      let ticket: NewTunnelTicket;
      try {
        ticket = c.takeNewTunnel(c.clientAddress(req), 'localtunnel', { held: true });
      } catch (err) {
        sendHandshakeError(res, err);
        return true;
      }
      handshake(req, res, hs, c, ticket).catch((err: unknown) => {
        ticket.cancel();
        if (!isBurrowError(err)) c.logger.error({ err }, 'localtunnel handshake failed');
        sendHandshakeError(res, err);
      });
      return true;
    },
    async close() {
      closing = true;
      for (const t of [...mine]) remove(t, 'server shutting down');
      if (shared) await new Promise<void>((r) => shared!.close(() => r()));
    },
    stats() {
      let sockets = 0;
      for (const t of mine) sockets += t.connectedSockets;
      return { localtunnelTunnels: mine.size, localtunnelSockets: sockets };
    },
  };
  return adapter;
}
