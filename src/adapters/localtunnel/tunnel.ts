/**
 * A tunnel held by a localtunnel/pipenet client: a pool of raw TCP sockets the client opened to
 * us. openStream() hands out a free pool socket (or reclaims one idling in the core's http.Agent);
 * requests beyond the pool wait in a bounded queue with a timeout. When the pool drains, the
 * tunnel stays for a grace period so the client's reconnecting sockets find it again.
 */
import type { VisitorAccess } from '../../server/admission.js';
import { randomUUID } from 'node:crypto';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { BurrowError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ServerMetrics } from '../../server/metrics.js';
import type { CompletedRequest, StreamInfo, RegisteredTunnel, TunnelStats } from '../../server/registry.js';
import { StreamStats } from '../../server/stream-stats.js';
import { PoolConnection, type PoolLease } from './pool-socket.js';

export interface LocaltunnelTunnelOptions {
  name: string;
  url: string;
  /** Address of the client that made the handshake (it may take the name back during grace). */
  clientAddress: string;
  maxSockets: number;
  maxQueued: number;
  queueTimeoutMs: number;
  graceMs: number;
  keepAliveIntervalMs: number;
  firstBodyDelayMs: number;
  metrics: ServerMetrics;
  logger: Logger;
  /** Called when the grace period ran out with no socket connected. */
  onExpire: (t: LocaltunnelTunnel) => void;
  /** Called once, when the first pool socket connects (the pool port is claimed). */
  onClaimed?: (t: LocaltunnelTunnel) => void;
}

interface Waiter {
  resolve: (s: Duplex) => void;
  reject: (e: BurrowError) => void;
  timer: NodeJS.Timeout;
}

export class LocaltunnelTunnel implements RegisteredTunnel {
  readonly id = randomUUID();
  readonly name: string;
  readonly protocol = 'localtunnel' as const;
  readonly kind = 'http' as const;
  readonly url: string;
  readonly createdAt = Date.now();
  readonly clientAddress: string;
  /** TCP port of the per-tunnel pool listener (or the shared port). */
  port = 0;
  /** The token that opened it (null: anonymous), for per-token counts and revocation. */
  tokenId: string | null = null;
  /** Visitor rules (set at handshake from the token's reserved name). */
  access: VisitorAccess | undefined;
  readonly #o: LocaltunnelTunnelOptions;
  readonly #conns = new Set<PoolConnection>();
  /** Free connections, most recently freed last (handed out LIFO). */
  #free: PoolConnection[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #stats: StreamStats<PoolLease>;
  #graceTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #stale = 0;
  #everConnected = false;

  constructor(o: LocaltunnelTunnelOptions) {
    this.#o = o;
    this.#stats = new StreamStats(o.metrics, 'localtunnel');
    this.name = o.name;
    this.url = o.url;
    this.clientAddress = o.clientAddress;
    this.#startGrace();
  }

  get closed(): boolean {
    return this.#closed;
  }
  get connectedSockets(): number {
    return this.#conns.size;
  }
  /** Had pool sockets, and all of them are gone (the client is probably reconnecting). */
  get drained(): boolean {
    return this.#everConnected && this.#conns.size === 0;
  }
  get staleDiscarded(): number {
    return this.#stale;
  }
  /** Visitor requests waiting for a free pool socket right now. */
  get queuedRequests(): number {
    return this.#waiters.length;
  }

  /** A pool socket connected (on the tunnel's port, or on the shared port after its id line). */
  addSocket(socket: net.Socket): void {
    if (this.#closed || this.#conns.size >= this.#o.maxSockets) {
      this.#o.logger.debug({ tunnel: this.name, sockets: this.#conns.size }, 'localtunnel pool full: socket refused');
      socket.destroy();
      return;
    }
    const conn = new PoolConnection(socket, {
      keepAliveIntervalMs: this.#o.keepAliveIntervalMs,
      firstBodyDelayMs: this.#o.firstBodyDelayMs,
    });
    this.#conns.add(conn);
    if (!this.#everConnected) {
      this.#everConnected = true;
      this.#o.onClaimed?.(this);
    }
    if (this.#graceTimer) {
      clearTimeout(this.#graceTimer);
      this.#graceTimer = undefined;
    }
    conn.on('close', () => {
      this.#conns.delete(conn);
      this.#free = this.#free.filter((c) => c !== conn);
      if (this.#conns.size === 0 && !this.#closed) this.#startGrace();
    });
    conn.on('free', () => this.#offer(conn));
    conn.on('leaseIdle', () => {
      if (this.#waiters.length) process.nextTick(() => this.#reclaimFor());
    });
    conn.on('stale', (bytes) => {
      this.#stale++;
      this.#o.logger.debug({ tunnel: this.name, bytes }, 'localtunnel: data on an idle pool socket, socket discarded');
    });
    this.#offer(conn);
  }

  async openStream(_info: StreamInfo): Promise<Duplex> {
    if (this.#closed) throw new BurrowError('BURROW_ERR_AGENT_GONE', `tunnel "${this.name}" is closed`);
    const conn = this.#takeFree() ?? this.#reclaimOne();
    if (conn) return this.#lease(conn);
    if (this.#waiters.length >= this.#o.maxQueued) {
      throw new BurrowError(
        'BURROW_ERR_STREAM_LIMIT',
        `${this.#waiters.length} requests already wait for a pool socket of "${this.name}"`,
      );
    }
    return new Promise<Duplex>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.#waiters.indexOf(waiter);
          if (i !== -1) this.#waiters.splice(i, 1);
          reject(
            this.#conns.size === 0
              ? new BurrowError(
                  'BURROW_ERR_AGENT_GONE',
                  `no pool socket of "${this.name}" connected within ${this.#o.queueTimeoutMs} ms`,
                )
              : new BurrowError(
                  'BURROW_ERR_TIMEOUT',
                  `all ${this.#conns.size} pool sockets of "${this.name}" stayed busy for ${this.#o.queueTimeoutMs} ms`,
                ),
          );
        }, this.#o.queueTimeoutMs),
      };
      waiter.timer.unref();
      this.#waiters.push(waiter);
    });
  }

  onRequestComplete(_r: CompletedRequest): void {
    this.#stats.requestDone();
  }

  stats(): TunnelStats {
    return this.#stats.snapshot(this.#conns.size);
  }

  close(reason?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    const err = new BurrowError('BURROW_ERR_AGENT_GONE', reason ?? `tunnel "${this.name}" closed`);
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    for (const c of this.#conns) c.destroy();
  }

  #startGrace(): void {
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#graceTimer = setTimeout(() => {
      this.#graceTimer = undefined;
      if (this.#conns.size === 0 && !this.#closed) this.#o.onExpire(this);
    }, this.#o.graceMs);
    this.#graceTimer.unref();
  }

  #takeFree(): PoolConnection | undefined {
    while (this.#free.length) {
      const c = this.#free.pop()!;
      if (c.free) return c;
    }
    return undefined;
  }

  #reclaimOne(): PoolConnection | undefined {
    for (const c of this.#conns) {
      if (c.leaseIdle && c.reclaim()) {
        // reclaim() emitted 'free', which put it in #free (no waiter was queued yet).
        this.#free = this.#free.filter((x) => x !== c);
        if (c.free) return c;
      }
    }
    return undefined;
  }

  /** A waiter is queued and a lease went idle in the http.Agent: take its socket back. */
  #reclaimFor(): void {
    for (const c of this.#conns) {
      if (!this.#waiters.length) return;
      if (c.leaseIdle) c.reclaim();
    }
  }

  #offer(conn: PoolConnection): void {
    if (!conn.free) return;
    const w = this.#waiters.shift();
    if (w) {
      clearTimeout(w.timer);
      w.resolve(this.#lease(conn));
      return;
    }
    if (!this.#free.includes(conn)) this.#free.push(conn);
  }

  #lease(conn: PoolConnection): PoolLease {
    const lease = conn.lease();
    this.#stats.track(lease);
    return lease;
  }
}
