/**
 * The agent side of burrow's protocol: one WebSocket to the server carrying a MuxSession, any
 * number of tunnels, reconnect with backoff + jitter + cap, and the resume token that gets the
 * same names back after a drop.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { takeOverBinary, wsSocket } from '../../core/ws-link.js';
import { BurrowError, ERROR_CODES, isBurrowError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import { decodeJson, FrameType, type Frame } from '../../wire/mux/frames.js';
import {
  DEFAULT_STREAM_WINDOW,
  MAX_MESSAGE_SIZE,
  PROTOCOL_VERSION,
  TRANSPORT_HIGH_WATER,
} from '../../wire/mux/limits.js';
import {
  fromWireError,
  parseRegisterResult,
  parseWelcome,
  parseWireError,
  type TunnelRegistration,
  type RegisterRequest,
  type RequestEvent,
  type StreamOpen,
  type Welcome,
} from '../../wire/mux/messages.js';
import { MuxSession, webSocketTransport, type MuxStream } from '../../wire/mux/mux.js';
import { AGENT_PATH } from '../../wire/mux/paths.js';
import { VERSION } from '../../version.js';
import { backoffDelay, type BackoffOptions } from '../../core/backoff.js';
import type { TlsTrust } from '../../core/tls-trust.js';
import { maskOptions } from '../../core/ws-mask.js';
import { serverUnreachable } from '../../core/unreachable.js';
import { DEFAULT_SERVER_URL } from './limits.js';

/** How long to wait for the WebSocket handshake + WELCOME, in ms. */
export const CONNECT_TIMEOUT_MS = 15_000;
/**
 * How long close() lets the goodbye (GOAWAY, then the WebSocket close handshake) take before the
 * connection is cut anyway, in ms. The GOAWAY waits only behind bytes already in the socket (at most
 * TRANSPORT_HIGH_WATER); whenClosed() resolves when the server confirmed it or this bound passed.
 */
export const GOODBYE_TIMEOUT_MS = 5_000;

export interface AgentOptions {
  /** burrow server base URL, e.g. https://tunnels.example.com (http→ws, https→wss). */
  server: string;
  token?: string | undefined;
  window?: number;
  /** Reconnect after a drop (default true). */
  reconnect?: boolean;
  backoff?: BackoffOptions;
  /** Give up after this many consecutive failed attempts (default: never). */
  maxReconnectAttempts?: number;
  logger?: Logger;
  /** Extra headers for the WebSocket upgrade. */
  headers?: Record<string, string>;
  /** Which server certificates to trust over wss:// (default: Node's CA list). */
  tls?: TlsTrust | undefined;
}

/** What openTunnel, openTunnels and exposeTcp take of how their agent connection is made. */
export interface ConnectionSettings {
  /** burrow server URL (default http://localhost:8080, or BURROW_SERVER). */
  server?: string;
  token?: string;
  /** Reconnect after drops (default true). */
  reconnect?: boolean;
  backoff?: BackoffOptions;
  window?: number;
  logger?: Logger;
  /** Which server certificates to trust over https:// (a private CA: `{ ca }`; default Node's list). */
  tls?: TlsTrust;
}

/** The AgentConnection options for `s` (the server from BURROW_SERVER, else the default, when unset). */
export function agentOptions(s: ConnectionSettings): AgentOptions {
  return {
    server: s.server ?? process.env['BURROW_SERVER'] ?? DEFAULT_SERVER_URL,
    token: s.token,
    ...(s.reconnect !== undefined ? { reconnect: s.reconnect } : {}),
    ...(s.backoff ? { backoff: s.backoff } : {}),
    ...(s.window ? { window: s.window } : {}),
    ...(s.logger ? { logger: s.logger } : {}),
    ...(s.tls ? { tls: s.tls } : {}),
  };
}

export interface TunnelSpec {
  kind: 'http' | 'tcp';
  name?: string | undefined;
  requestEvents?: boolean;
  target?: string;
  remotePort?: number;
  publicPort?: boolean;
  access?: Record<string, unknown>;
  hostHeader?: string;
  /** More local ports visitors may reach (`<name>-http-<port>`), as a port list ("5173,8000-8010"). */
  allowPorts?: string;
  /** Called for every stream the server opens for this tunnel. */
  onStream: (stream: MuxStream, open: StreamOpen) => void;
  onRequest?: (ev: RequestEvent) => void;
}

/** One attempt to reach the server is starting (the first one included). */
export interface ConnectAttempt {
  attempt: number;
  /** The agent endpoint's WebSocket URL. */
  endpoint: string;
}

/** An attempt failed; the next one starts after delayMs. */
export interface RetryInfo {
  attempt: number;
  delayMs: number;
  error: BurrowError;
}

export interface AgentEvents {
  connecting: [ConnectAttempt];
  connected: [Welcome];
  registered: [TunnelSpec, TunnelRegistration];
  /** The server closed one tunnel (an operator's action): it is not registered again. */
  unregistered: [TunnelSpec, BurrowError];
  disconnected: [BurrowError];
  reconnecting: [RetryInfo];
  error: [BurrowError];
  close: [];
  /** The server opened a stream (a visitor's connection) for one of this agent's tunnels. */
  stream: [TunnelSpec, MuxStream];
}

interface Slot {
  spec: TunnelSpec;
  current: TunnelRegistration | undefined;
  /** Resolvers of the pending registration. */
  pending: { resolve: (t: TunnelRegistration) => void; reject: (e: BurrowError) => void } | undefined;
  /** Registrations again (after a reconnect) refused for a passing reason, in a row. */
  retries?: number;
}

/**
 * A registration again after a reconnect refused for one of these is sent again with backoff, not
 * given up: the server cannot give out names for a moment (a cluster's Redis is down) or is going away.
 */
const PASSING_REFUSALS: ReadonlySet<string> = new Set(['BURROW_ERR_CLUSTER_UNAVAILABLE', 'BURROW_ERR_SHUTTING_DOWN']);

export class AgentConnection extends EventEmitter<AgentEvents> {
  readonly #o: AgentOptions;
  readonly #logger: Logger;
  readonly #slots = new Map<number, Slot>();
  readonly #byTunnelId = new Map<string, Slot>();
  #nextReq = 1;
  #ws: WebSocket | undefined;
  #session: MuxSession | undefined;
  #welcome: Welcome | undefined;
  #resumeToken: string | undefined;
  #closed = false;
  #attempt = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #connectWaiters: { resolve: () => void; reject: (e: BurrowError) => void }[] = [];
  #goodbye: Promise<void> | undefined;

  constructor(options: AgentOptions) {
    super();
    this.#o = options;
    this.#logger = options.logger ?? silentLogger();
  }

  get connected(): boolean {
    return this.#welcome !== undefined && this.#session !== undefined && !this.#session.closed;
  }

  /** Round-trip time to the server of the last answered heartbeat PING, in ms (undefined before one). */
  get rttMs(): number | undefined {
    return this.#session?.rttMs;
  }

  /** The WebSocket URL of the server's agent endpoint. */
  get endpoint(): string {
    const u = new URL(this.#o.server);
    if (u.protocol === 'http:') u.protocol = 'ws:';
    else if (u.protocol === 'https:') u.protocol = 'wss:';
    else if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
      throw new BurrowError('BURROW_ERR_BAD_REQUEST', `--server must be an http(s) URL, got "${this.#o.server}"`);
    }
    u.pathname = u.pathname.replace(/\/$/, '') + AGENT_PATH;
    return u.toString();
  }

  /** Connect (first attempt errors are thrown, not retried, when they are 4xx-like). */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#connectWaiters.push({ resolve, reject });
      this.#connect();
    });
  }

  /** Register a tunnel; resolves with what the server assigned. Re-registered after reconnects. */
  register(spec: TunnelSpec): Promise<TunnelRegistration> {
    const req = this.#nextReq++;
    const slot: Slot = { spec, current: undefined, pending: undefined };
    this.#slots.set(req, slot);
    return new Promise((resolve, reject) => {
      slot.pending = { resolve, reject };
      if (this.connected) this.#sendRegister(req, slot);
    });
  }

  /** Remove a tunnel (tells the server). */
  unregister(tunnelId: string): void {
    const slot = this.#byTunnelId.get(tunnelId);
    if (!slot) return;
    this.#byTunnelId.delete(tunnelId);
    for (const [k, v] of this.#slots) if (v === slot) this.#slots.delete(k);
    if (this.connected) this.#session!.sendControl(FrameType.UNREGISTER, { tunnelId });
  }

  /**
   * Say goodbye and close: the server gets GOAWAY ahead of any data still queued (and then holds the
   * names only briefly, for this client's restart), and the WebSocket closes with a handshake. Returns
   * at once; await whenClosed() before exiting the process, or the goodbye may never leave.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    const closing = new BurrowError('BURROW_ERR_SHUTTING_DOWN', 'client closed');
    const session = this.#session;
    if (session && !session.closed && this.#welcome) {
      session.goAway({ code: 'BURROW_ERR_SHUTTING_DOWN', message: 'client closing' }, closing);
    } else session?.close(closing);
    this.#goodbye = this.#ws ? closeHandshake(this.#ws, GOODBYE_TIMEOUT_MS) : Promise.resolve();
    for (const slot of this.#slots.values())
      slot.pending?.reject(new BurrowError('BURROW_ERR_SHUTTING_DOWN', 'client closed'));
    for (const w of this.#connectWaiters) w.reject(new BurrowError('BURROW_ERR_SHUTTING_DOWN', 'client closed'));
    this.#connectWaiters = [];
    this.emit('close');
  }

  /**
   * Resolves once a close() is over: the server answered the WebSocket close handshake (so it has
   * read the goodbye), or GOODBYE_TIMEOUT_MS passed and the connection was cut. Never rejects;
   * before close() it waits for it.
   */
  async whenClosed(): Promise<void> {
    if (!this.#closed) await new Promise<void>((resolve) => this.once('close', () => resolve()));
    await this.#goodbye;
  }

  #connect(): void {
    if (this.#closed) return;
    let endpoint: string;
    try {
      endpoint = this.endpoint;
    } catch (err) {
      this.#fail(err as BurrowError, true);
      return;
    }
    this.emit('connecting', { attempt: this.#attempt + 1, endpoint });
    const ws = new WebSocket(endpoint, {
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_SIZE,
      ...maskOptions(endpoint),
      handshakeTimeout: CONNECT_TIMEOUT_MS,
      headers: { 'User-Agent': `burrow/${VERSION}`, ...this.#o.headers },
      ...this.#o.tls,
    });
    this.#ws = ws;
    let settled = false;
    const window = this.#o.window ?? DEFAULT_STREAM_WINDOW;
    // The socket exists once the upgrade is done; the session sends nothing before 'open'.
    const raw = (): Duplex | undefined => wsSocket(ws);
    const transport = webSocketTransport(
      ws,
      {
        cork: () => raw()?.cork(),
        uncork: () => raw()?.uncork(),
      },
      TRANSPORT_HIGH_WATER,
    );
    const session = new MuxSession(transport, { role: 'agent', window });
    this.#session = session;

    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      settled = true;
      // A 5xx may pass (a proxy in front of a restarting server); any other answer is not a burrow
      // agent endpoint accepting us, and retrying will not change it.
      const final = res.statusCode === undefined || res.statusCode < 500;
      readError(res, endpoint).then(
        (e) => this.#fail(e, final),
        () => this.#fail(new BurrowError('BURROW_ERR_SERVER_UNREACHABLE', `HTTP ${res.statusCode}`), final),
      );
      ws.terminate();
    });
    ws.on('open', () => {
      // binary bytes reach the mux as the socket read them (views, never joined into whole frames)
      takeOverBinary(ws, MAX_MESSAGE_SIZE, (bytes) => session.receive(bytes), {
        begin: () => session.beginBatch(),
        end: () => session.endBatch(),
      });
      raw()?.on('drain', () => session.drained());
      const hello: Record<string, unknown> = { v: PROTOCOL_VERSION, client: `burrow/${VERSION}`, window };
      if (this.#o.token) hello['token'] = this.#o.token;
      if (this.#resumeToken) hello['resumeToken'] = this.#resumeToken;
      session.sendControl(FrameType.HELLO, hello);
    });
    ws.on('error', (err) => {
      if (settled) return;
      settled = true;
      const e = serverUnreachable(endpoint, err);
      // an untrusted certificate will not change by retrying, at least before the first welcome
      this.#fail(e, e.code === 'BURROW_ERR_SERVER_CERT_UNTRUSTED' && this.#resumeToken === undefined);
    });
    ws.on('close', (code, reason) => {
      session.close(
        new BurrowError(
          'BURROW_ERR_AGENT_GONE',
          `connection closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`,
        ),
      );
    });
    session.on('control', (frame) => {
      try {
        this.#onControl(session, frame);
      } catch (err) {
        session.close(isBurrowError(err) ? err : new BurrowError('BURROW_ERR_PROTOCOL', String(err)));
      }
    });
    session.on('stream', (stream, open) => {
      const slot = this.#byTunnelId.get(open.tunnelId);
      if (!slot) {
        stream.reset(new BurrowError('BURROW_ERR_TUNNEL_NOT_FOUND', `no tunnel ${open.tunnelId} on this client`));
        return;
      }
      this.emit('stream', slot.spec, stream);
      slot.spec.onStream(stream, open);
    });
    session.on('close', (err) => {
      // close() closes the WebSocket itself, with a handshake, so that its goodbye drains first
      if (!this.#closed && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) {
        ws.terminate();
      }
      const wasUp = this.#welcome !== undefined;
      this.#welcome = undefined;
      if (this.#session === session) this.#session = undefined;
      if (this.#closed || settled) return;
      settled = true;
      const e = err ?? new BurrowError('BURROW_ERR_AGENT_GONE', 'connection closed');
      if (wasUp) this.emit('disconnected', e);
      const final = isFinalCode(e.code);
      this.#fail(e, final);
    });
  }

  #onControl(session: MuxSession, frame: Frame): void {
    switch (frame.type) {
      case FrameType.WELCOME: {
        const w = parseWelcome(decodeJson(frame));
        if (w.v !== PROTOCOL_VERSION) throw new BurrowError('BURROW_ERR_UNSUPPORTED_VERSION', `server speaks v${w.v}`);
        this.#welcome = w;
        this.#resumeToken = w.resumeToken;
        session.peerWindow = w.window;
        session.startHeartbeat();
        this.#attempt = 0;
        this.emit('connected', w);
        for (const wtr of this.#connectWaiters) wtr.resolve();
        this.#connectWaiters = [];
        this.#byTunnelId.clear();
        for (const [req, slot] of this.#slots) this.#sendRegister(req, slot);
        return;
      }
      case FrameType.REGISTERED: {
        const r = parseRegisterResult(decodeJson(frame));
        const slot = this.#slots.get(r.req);
        if (!slot) return;
        if (r.ok) {
          slot.retries = 0;
          slot.current = r.tunnel;
          this.#byTunnelId.set(r.tunnel.id, slot);
          const p = slot.pending;
          slot.pending = undefined;
          p?.resolve(r.tunnel);
          this.emit('registered', slot.spec, r.tunnel);
        } else {
          const e = fromWireError(r.error, ERROR_CODES);
          if (!slot.pending && PASSING_REFUSALS.has(e.code) && this.#o.reconnect !== false) {
            this.#registerAgain(session, r.req, slot, e);
            return;
          }
          this.#slots.delete(r.req);
          if (slot.pending) {
            slot.pending.reject(e);
            slot.pending = undefined;
          } else this.emit('error', e);
        }
        return;
      }
      case FrameType.EVENT: {
        const ev = decodeJson(frame);
        if (ev['type'] === 'request' && typeof ev['tunnelId'] === 'string') {
          this.#byTunnelId.get(ev['tunnelId'])?.spec.onRequest?.(ev as unknown as RequestEvent);
        }
        return;
      }
      case FrameType.UNREGISTER: {
        const o = decodeJson(frame);
        const id = typeof o['tunnelId'] === 'string' ? o['tunnelId'] : '';
        const slot = this.#byTunnelId.get(id);
        if (!slot) return;
        this.#byTunnelId.delete(id);
        for (const [req, s] of this.#slots) if (s === slot) this.#slots.delete(req);
        const e = fromWireError(parseWireError(o['error']), ERROR_CODES);
        this.#logger.info({ tunnel: slot.current?.name, code: e.code }, 'the server closed a tunnel');
        this.emit('unregistered', slot.spec, e);
        return;
      }
      case FrameType.GOAWAY: {
        const e = fromWireError(parseWireError(decodeJson(frame)), ERROR_CODES);
        this.#logger.info({ code: e.code }, 'server said goodbye');
        session.close(e);
        return;
      }
      default:
        throw new BurrowError('BURROW_ERR_PROTOCOL', `unexpected frame ${frame.type} from server`);
    }
  }

  /** Send a refused re-registration again after a backoff delay, on the same session only. */
  #registerAgain(session: MuxSession, req: number, slot: Slot, why: BurrowError): void {
    slot.retries = (slot.retries ?? 0) + 1;
    const delayMs = backoffDelay(slot.retries, this.#o.backoff);
    this.#logger.warn(
      { tunnel: slot.current?.name, code: why.code, attempt: slot.retries, delayMs },
      'the server refused the tunnel for now: registering it again',
    );
    setTimeout(() => {
      // a new session registers every slot itself; a closed agent or a dropped slot needs nothing
      if (this.#closed || this.#session !== session || this.#slots.get(req) !== slot) return;
      this.#sendRegister(req, slot);
    }, delayMs).unref();
  }

  #sendRegister(req: number, slot: Slot): void {
    const s = slot.spec;
    const r: RegisterRequest = { req, kind: s.kind, requestEvents: s.requestEvents ?? false };
    const name = slot.current?.name ?? s.name;
    if (name) r.name = name;
    if (s.target) r.target = s.target;
    if (s.remotePort !== undefined) r.remotePort = s.remotePort;
    if (s.publicPort !== undefined) r.publicPort = s.publicPort;
    if (s.access) r.access = s.access;
    if (s.hostHeader) r.hostHeader = s.hostHeader;
    if (s.allowPorts) r.allowPorts = s.allowPorts;
    this.#session?.sendControl(FrameType.REGISTER, r);
  }

  /** A connection attempt or session failed: reconnect with backoff, or give up when final. */
  #fail(err: BurrowError, final: boolean): void {
    if (this.#closed) return;
    if (!final && this.#o.reconnect !== false) {
      this.#attempt++;
      const max = this.#o.maxReconnectAttempts;
      if (max === undefined || this.#attempt <= max) {
        const delayMs = backoffDelay(this.#attempt, this.#o.backoff);
        this.emit('reconnecting', { attempt: this.#attempt, delayMs, error: err });
        this.#reconnectTimer = setTimeout(() => this.#connect(), delayMs);
        return;
      }
    }
    // Refused on purpose (bad token, bad name …), reconnect off, or out of attempts: report and stop.
    for (const w of this.#connectWaiters) w.reject(err);
    this.#connectWaiters = [];
    for (const slot of this.#slots.values()) slot.pending?.reject(err);
    this.emit('error', err);
    this.close();
  }
}

/**
 * Close a WebSocket with the close handshake; resolves when it is closed, or after timeoutMs (then
 * the socket is cut). One that is still connecting has sent nothing worth waiting for: cut at once.
 */
function closeHandshake(ws: WebSocket, timeoutMs: number): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  if (ws.readyState === WebSocket.CONNECTING) {
    ws.terminate();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => ws.terminate(), timeoutMs);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'bye');
  });
}

/** Errors the client must not retry: the server refused on purpose. */
function isFinalCode(code: string): boolean {
  return [
    'BURROW_ERR_UNAUTHORIZED',
    'BURROW_ERR_FORBIDDEN',
    'BURROW_ERR_UNSUPPORTED_VERSION',
    'BURROW_ERR_INVALID_NAME',
    'BURROW_ERR_NAME_RESERVED',
    'BURROW_ERR_RATE_LIMITED',
  ].includes(code);
}

const NOT_BURROW_FIX =
  '--server must point at a burrow server (`burrow server`): check the scheme, host, port and any path in front of it.';

async function readError(res: IncomingMessage, endpoint: string): Promise<BurrowError> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 64 * 1024) break;
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const j = JSON.parse(text) as { error?: { code?: string; message?: string }; message?: string };
    if (j.error?.code) return fromWireError({ code: j.error.code, message: j.error.message ?? text }, ERROR_CODES);
    if (j.message)
      return new BurrowError(res.statusCode === 401 ? 'BURROW_ERR_UNAUTHORIZED' : 'BURROW_ERR_FORBIDDEN', j.message);
  } catch {
    // not JSON
  }
  if (res.statusCode === 401 || res.statusCode === 403)
    return new BurrowError(
      res.statusCode === 401 ? 'BURROW_ERR_UNAUTHORIZED' : 'BURROW_ERR_FORBIDDEN',
      `HTTP ${res.statusCode}: ${text.slice(0, 200)}`,
    );
  const location = res.headers.location;
  if (res.statusCode !== undefined && res.statusCode >= 300 && res.statusCode < 400 && location)
    return new BurrowError('BURROW_ERR_SERVER_UNREACHABLE', `${endpoint} redirects to ${location}`, {
      fix: `Use the address it redirects to in --server (e.g. ${new URL(location, endpoint).origin}).`,
    });
  if (res.statusCode !== undefined && res.statusCode >= 500)
    return new BurrowError('BURROW_ERR_SERVER_UNREACHABLE', `HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
  return new BurrowError(
    'BURROW_ERR_SERVER_UNREACHABLE',
    `${endpoint} answered HTTP ${res.statusCode} instead of a burrow agent connection: not a burrow server`,
    { fix: NOT_BURROW_FIX },
  );
}
