/**
 * One raw TCP connection from a localtunnel/pipenet client's socket pool, and the leases the
 * tunnel hands to the core (one lease = one stream as the core's HTTP proxy sees it).
 *
 * A PoolConnection lives as long as its TCP socket. While nobody uses it (idle in the tunnel's
 * pool, or idle in the core's http.Agent free pool), it must stay silent: any byte it sends is a
 * stale response (an unsolicited 408, a reply to nothing) and the connection is discarded so those
 * bytes never reach the next visitor. Idle connections get `\r\n` every KEEPALIVE_INTERVAL_MS.
 *
 * A PoolLease is a Duplex over the connection with the net.Socket methods Node's http.Agent calls
 * (core/agent-socket.ts: ref/unref mark it busy/idle in the agent's free pool, like MuxStream). When a lease ends
 * without having carried any bytes, or is reclaimed while idle, the connection goes back to the
 * tunnel's pool; otherwise the TCP connection is closed with it (the client opens a new one).
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { AgentSocket } from '../../core/agent-socket.js';
import { BurrowError } from '../../core/errors.js';
import { TCP_KEEPALIVE_DELAY_MS } from '../../core/limits.js';

export interface PoolConnectionOptions {
  /** `\r\n` is written this often while the connection is idle (0 = never). */
  keepAliveIntervalMs: number;
  /** Body hold-back after the head of a connection's first request, in ms. */
  firstBodyDelayMs: number;
}

export interface PoolConnectionEvents {
  /** The TCP connection is gone. */
  close: [];
  /** The connection is free again (its lease ended cleanly or was reclaimed). */
  free: [];
  /** A lease of this connection went idle in the core's http.Agent. */
  leaseIdle: [];
  /** Data arrived while idle: the connection was discarded. */
  stale: [number];
}

export class PoolConnection extends EventEmitter<PoolConnectionEvents> {
  readonly socket: net.Socket;
  readonly remoteAddress: string;
  readonly #opts: PoolConnectionOptions;
  #lease: PoolLease | undefined;
  /** Leases that carried bytes (0 = the client-side Host rewriter has not seen a request yet). */
  #carried = 0;
  #lastActivity = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(socket: net.Socket, options: PoolConnectionOptions) {
    super();
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.#opts = options;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, TCP_KEEPALIVE_DELAY_MS);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {});
    socket.on('end', () => {
      const lease = this.#lease;
      if (lease && !lease.idle) lease.onEnd();
      else socket.destroy();
    });
    socket.on('close', () => this.#onClose());
    if (options.keepAliveIntervalMs > 0) {
      this.#timer = setInterval(() => this.#keepAlive(), options.keepAliveIntervalMs);
      this.#timer.unref();
    }
  }

  get closed(): boolean {
    return this.#closed;
  }
  /** Not leased at all (sits in the tunnel's pool). */
  get free(): boolean {
    return !this.#closed && this.#lease === undefined;
  }
  /** Leased, but idle in the core's http.Agent free pool (can be reclaimed). */
  get leaseIdle(): boolean {
    return !this.#closed && this.#lease !== undefined && this.#lease.idle;
  }
  get carried(): number {
    return this.#carried;
  }

  /** Hand this free connection out as a stream. */
  lease(): PoolLease {
    if (!this.free) throw new BurrowError('BURROW_ERR_AGENT_GONE', 'pool socket is not free');
    const hold = this.#carried === 0 ? this.#opts.firstBodyDelayMs : 0;
    const lease = new PoolLease(this, hold);
    this.#lease = lease;
    this.socket.resume();
    return lease;
  }

  /** Take back an idle lease from the core's http.Agent so a waiting request can use the socket. */
  reclaim(): boolean {
    const lease = this.#lease;
    if (!lease || !lease.idle || this.#closed) return false;
    lease.detach();
    return this.#lease === undefined && !this.#closed;
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** @internal */
  write(chunk: Buffer, cb: (err?: Error | null) => void): void {
    this.#lastActivity = Date.now();
    if (this.socket.destroyed || !this.socket.writable) {
      cb(new BurrowError('BURROW_ERR_AGENT_GONE', 'pool socket closed'));
      return;
    }
    if (this.socket.write(chunk)) cb();
    else {
      const onDrain = (): void => {
        this.socket.off('close', onClose);
        cb();
      };
      const onClose = (): void => {
        this.socket.off('drain', onDrain);
        cb(new BurrowError('BURROW_ERR_AGENT_GONE', 'pool socket closed'));
      };
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    }
  }

  /** @internal */
  leaseWrote(): void {
    this.#carried++;
  }

  /** @internal Called by a lease when it is destroyed. */
  release(lease: PoolLease, reusable: boolean): void {
    if (this.#lease !== lease) return;
    this.#lease = undefined;
    if (this.#closed) return;
    if (!reusable) {
      this.socket.destroy();
      return;
    }
    this.socket.resume();
    this.emit('free');
  }

  /** @internal */
  notifyLeaseIdle(): void {
    this.emit('leaseIdle');
  }

  #onData(chunk: Buffer): void {
    this.#lastActivity = Date.now();
    const lease = this.#lease;
    if (!lease || lease.idle) {
      // Nothing was asked: a stale response. Never let it reach a visitor.
      this.emit('stale', chunk.length);
      this.socket.destroy();
      return;
    }
    if (!lease.onData(chunk)) this.socket.pause();
  }

  #keepAlive(): void {
    if (this.#closed) return;
    const idle = this.#lease === undefined || this.#lease.idle;
    if (!idle || Date.now() - this.#lastActivity < this.#opts.keepAliveIntervalMs / 2) return;
    this.#lastActivity = Date.now();
    this.socket.write('\r\n');
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    const lease = this.#lease;
    this.#lease = undefined;
    if (lease && !lease.destroyed) {
      if (lease.idle || lease.readableEnded) lease.destroy();
      else {
        // Let the reader see the end first (a response delimited by the connection closing).
        lease.once('end', () => lease.destroy());
        lease.onEnd();
      }
    }
    this.emit('close');
  }
}

/** One stream over a pool connection, shaped like a net.Socket for Node's http.Agent. */
export class PoolLease extends AgentSocket {
  readonly #conn: PoolConnection;
  #holdMs: number;
  #holdUntil = 0;
  #reclaimed = false;
  #ended = false;

  constructor(conn: PoolConnection, holdMs: number) {
    super({
      allowHalfOpen: true,
      readableHighWaterMark: 64 * 1024,
      writableHighWaterMark: 64 * 1024,
      onIdle: () => conn.notifyLeaseIdle(),
    });
    this.#conn = conn;
    this.#holdMs = holdMs;
  }

  get remoteAddress(): string {
    return this.#conn.remoteAddress;
  }
  /** @internal Give the connection back while idle; the http.Agent drops this lease at once. */
  detach(): void {
    this.#reclaimed = true;
    this.destroy();
    // Remove it from the agent's free list synchronously (see Node's _http_agent installListeners).
    this.emit('agentRemove');
  }

  /** @internal */
  onData(chunk: Buffer): boolean {
    this.bytesRead += chunk.length;
    this.touch();
    return this.push(chunk);
  }

  /** @internal */
  onEnd(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.push(null);
  }

  override _read(): void {
    const s = this.#conn.socket;
    if (s.isPaused()) s.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.bytesWritten === 0) this.#conn.leaseWrote();
    const send = (): void => {
      this.bytesWritten += chunk.length;
      this.touch();
      this.#conn.write(chunk, cb);
    };
    if (this.#holdMs > 0) {
      // First request on a fresh connection: the head goes alone, the rest after a short pause.
      if (this.#holdUntil === 0) {
        this.#holdUntil = Date.now() + this.#holdMs;
        send();
        return;
      }
      const wait = this.#holdUntil - Date.now();
      if (wait > 0) {
        setTimeout(send, wait);
        return;
      }
      this.#holdMs = 0;
    }
    send();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#conn.socket.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    const reusable =
      !err && !this.writableEnded && (this.#reclaimed ? this.idle : this.bytesWritten === 0 && this.bytesRead === 0);
    this.#conn.release(this, reusable);
    cb(err);
  }
}
