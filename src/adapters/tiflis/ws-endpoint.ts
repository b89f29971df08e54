/**
 * The tiflis WebSocket endpoint: one path for both roles, the first accepted message decides
 * (`workstation.register` → workstation, `connect` → device). Errors are tiflis `error` messages
 * that leave the socket open; silent peers are dropped; messages are bounded.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { wsPackage } from '../../core/packages.js';
import { ERROR_CODES } from '../../core/errors.js';
import { CLOSE_HANDSHAKE_GRACE_MS } from '../../core/limits.js';
import type { Logger } from '../../core/logger.js';
import { LivenessWatcher } from '../../core/liveness.js';
import { TIFLIS_MAX_BUFFERED_BYTES } from './limits.js';
import type { Peer, Relay } from './relay.js';
import {
  connectedMessage,
  errorMessage,
  parseIncoming,
  pongMessage,
  registeredMessage,
  type TiflisErrorCode,
} from './wire.js';

/**
 * A cluster's nodes (docs/cluster.md): a workstation is online on one node; a device that reaches
 * another node is carried there whole (its `connect` and every message after it, both ways).
 */
export interface TiflisCluster {
  /** This node's relay has the tunnel's workstation online (again). */
  online(tunnelId: string): void;
  /** The tunnel's workstation left this node. */
  offline(tunnelId: string): void;
  /**
   * A device's `connect` (`first`, as sent) for a tunnel whose workstation is not on this node:
   * a link to the node where it is online, or undefined when no other node has it.
   */
  forward(tunnelId: string, req: IncomingMessage, address: string, first: string): Promise<TiflisLink | undefined>;
}

/** A device's connection carried to another node: text messages both ways, then a close. */
export interface TiflisLink {
  send(text: string): void;
  onMessage(listener: (text: string) => void): void;
  onClose(listener: (code: number, reason: string) => void): void;
  close(): void;
}

export interface WsEndpointOptions {
  relay: Relay;
  logger: Logger;
  maxMessageBytes: number;
  silenceTimeoutMs: number;
  heartbeatIntervalMs: number;
  authTimeoutMs: number;
  tunnelVersion: string;
  protocolVersion: string;
  /** The workstation's public_url for a tunnel id, given the upgrade request it came in on. */
  publicUrl: (tunnelId: string, req: IncomingMessage) => string;
  /** The client address of an upgrade (failed-auth and new-tunnel limits count per address). */
  clientAddress: (req: IncomingMessage) => string;
  /** Extra work on every heartbeat tick (Watch client expiry). */
  onSweep?: () => void;
  /** A cluster's nodes: devices of a workstation on another node are carried there. */
  cluster?: TiflisCluster | undefined;
  now?: () => number;
}

/** One accepted WebSocket: a relay Peer with its role. */
class WsConnection implements Peer {
  readonly transport = 'ws' as const;
  role: 'unknown' | 'workstation' | 'device' | 'forwarded' = 'unknown';
  /** A device carried to the node where its workstation is (role 'forwarded'). */
  link: TiflisLink | undefined;
  tunnelId = '';
  deviceId = '';
  closed = false;
  chain: Promise<void> = Promise.resolve();
  authTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly ws: WebSocket,
    readonly req: IncomingMessage,
  ) {}

  send(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > TIFLIS_MAX_BUFFERED_BYTES) {
      this.ws.close(1013, 'Too slow: send buffer full');
      return;
    }
    this.ws.send(text);
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) {
      this.ws.close(code, reason);
    }
  }
}

export class TiflisWsEndpoint {
  readonly #wss: WebSocketServer;
  readonly #conns = new Set<WsConnection>();
  readonly #watcher: LivenessWatcher<WsConnection>;

  readonly #o: WsEndpointOptions;

  constructor(o: WsEndpointOptions) {
    this.#o = o;
    this.#wss = new (wsPackage().WebSocketServer)({
      noServer: true,
      maxPayload: o.maxMessageBytes,
      perMessageDeflate: false,
    });
    const watcherOptions: ConstructorParameters<typeof LivenessWatcher<WsConnection>>[0] = {
      intervalMs: o.heartbeatIntervalMs,
      silenceMs: o.silenceTimeoutMs,
      onSilent: (c) => {
        o.logger.info({ role: c.role, tunnelId: c.tunnelId || undefined }, 'tiflis: peer silent, dropped');
        c.ws.terminate();
      },
      onTick: (c) => {
        if (c.ws.readyState === c.ws.OPEN) c.ws.ping();
      },
    };
    if (o.onSweep) watcherOptions.onSweep = o.onSweep;
    if (o.now) watcherOptions.now = o.now;
    this.#watcher = new LivenessWatcher(watcherOptions);
    this.#watcher.start();
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, req));
  }

  /** Number of open sockets, including ones that have not registered yet. */
  get size(): number {
    return this.#conns.size;
  }

  async close(code: number, reason: string): Promise<void> {
    this.#watcher.stop();
    const closing = [...this.#conns].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === c.ws.CLOSED) return resolve();
          c.ws.once('close', () => resolve());
          c.close(code, reason);
          // A peer that does not answer the close handshake is cut after a moment.
          setTimeout(() => c.ws.terminate(), CLOSE_HANDSHAKE_GRACE_MS).unref();
        }),
    );
    await Promise.all(closing);
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #accept(ws: WebSocket, req: IncomingMessage): void {
    const c = new WsConnection(ws, req);
    this.#conns.add(c);
    this.#watcher.seen(c);
    c.authTimer = setTimeout(() => {
      if (c.role === 'unknown') c.close(ERROR_CODES.BURROW_ERR_UNAUTHORIZED.wsClose, 'Register or connect first');
    }, this.#o.authTimeoutMs);
    c.authTimer.unref();

    ws.on('message', (data: RawData, isBinary: boolean) => {
      this.#watcher.seen(c);
      const text = rawToString(data);
      c.chain = c.chain
        .then(() => this.#onMessage(c, text, isBinary))
        .catch((err: unknown) => {
          this.#o.logger.error({ err }, 'tiflis: message handler failed');
          this.#sendError(c, 'INTERNAL_ERROR', 'An internal error occurred');
        });
    });
    ws.on('pong', () => this.#watcher.seen(c));
    ws.on('error', (err) => this.#o.logger.debug({ err }, 'tiflis: socket error'));
    ws.on('close', () => this.#onClose(c));
  }

  async #onMessage(c: WsConnection, text: string, isBinary: boolean): Promise<void> {
    if (c.closed) return;
    if (c.link) return c.link.send(text);
    const msg = parseIncoming(text);
    const { relay } = this.#o;
    switch (msg.kind) {
      case 'invalid':
        return this.#sendError(
          c,
          'INVALID_PAYLOAD',
          isBinary ? `${msg.message} (binary frame)` : msg.message,
          msg.details,
        );
      case 'ping':
        return c.send(pongMessage(msg.timestamp));
      case 'pong':
        return;
      case 'register': {
        if (c.role !== 'unknown')
          return this.#sendError(c, 'INVALID_PAYLOAD', `This connection is already a ${c.role}`);
        const r = await relay.register(c, msg.payload, () => !c.closed, this.#o.clientAddress(c.req));
        if (!r.ok) {
          if (r.code !== 'GONE') this.#sendError(c, r.code, r.message);
          return;
        }
        c.role = 'workstation';
        c.tunnelId = r.tunnelId;
        clearTimeout(c.authTimer);
        c.send(registeredMessage(r.tunnelId, this.#o.publicUrl(r.tunnelId, c.req), r.restored));
        this.#o.cluster?.online(r.tunnelId);
        return;
      }
      case 'connect': {
        if (c.role !== 'unknown')
          return this.#sendError(c, 'INVALID_PAYLOAD', `This connection is already a ${c.role}`);
        if (this.#o.cluster && !relay.isWorkstationOnline(msg.payload.tunnel_id)) {
          const address = this.#o.clientAddress(c.req);
          const link = await this.#o.cluster.forward(msg.payload.tunnel_id, c.req, address, text);
          if (link) return this.#forwarded(c, link);
        }
        const r = await relay.connect(c, msg.payload, () => !c.closed, this.#o.clientAddress(c.req));
        if (!r.ok) {
          if (r.code !== 'GONE') this.#sendError(c, r.code, r.message);
          return;
        }
        c.role = 'device';
        c.tunnelId = r.tunnel.id;
        c.deviceId = msg.payload.device_id;
        clearTimeout(c.authTimer);
        c.send(connectedMessage(r.tunnel.id, this.#o.tunnelVersion, this.#o.protocolVersion, r.restored));
        return;
      }
      case 'forward':
        if (c.role !== 'workstation') {
          return this.#sendError(c, 'INVALID_PAYLOAD', 'Only workstations can send forward.to_device');
        }
        relay.forwardToDevice(c.tunnelId, c, msg.deviceId, msg.data);
        return;
      case 'relay':
        if (c.role === 'workstation') return relay.fromWorkstation(c.tunnelId, c, text);
        if (c.role === 'device') {
          const err = relay.fromDevice(c.tunnelId, c.deviceId, c, msg.raw);
          if (err) this.#sendError(c, err.code, err.message);
          return;
        }
        return this.#sendError(c, 'INVALID_PAYLOAD', 'Not authenticated: send workstation.register or connect first');
    }
  }

  /** The device's workstation is on another node: from now on this connection is carried there. */
  #forwarded(c: WsConnection, link: TiflisLink): void {
    if (c.closed) {
      link.close();
      return;
    }
    c.role = 'forwarded';
    c.link = link;
    clearTimeout(c.authTimer);
    link.onMessage((text) => c.send(text));
    link.onClose((code, reason) => c.close(code, reason));
  }

  #onClose(c: WsConnection): void {
    c.closed = true;
    clearTimeout(c.authTimer);
    this.#conns.delete(c);
    this.#watcher.remove(c);
    c.link?.close();
    if (c.role === 'workstation') {
      this.#o.relay.workstationGone(c.tunnelId, c);
      if (!this.#o.relay.isWorkstationOnline(c.tunnelId)) this.#o.cluster?.offline(c.tunnelId);
    }
    else if (c.role === 'device') this.#o.relay.deviceGone(c.tunnelId, c.deviceId, c);
  }

  #sendError(c: WsConnection, code: TiflisErrorCode, message: string, details?: string[]): void {
    c.send(errorMessage(code, message, details));
  }
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
