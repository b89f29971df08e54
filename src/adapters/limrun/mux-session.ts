import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Logger } from '../../core/logger.js';
import { FlowGate, endThenDestroy, sendWithBackpressure, writeWithBackpressure } from './flow.js';
import { TCP_TARGET_FLUSH_TIMEOUT_MS } from './limits.js';
import type { TcpOpenInfo, TcpTarget } from './targets.js';
import { decodeMuxMessage, encodeMuxClose, encodeMuxData, encodeMuxFin, toBuffer } from './wire.js';

export interface MuxSessionOptions {
  maxConnections: number;
  dialQueueBytes: number;
  closedIdMemory: number;
  highWaterBytes: number;
  lowWaterBytes: number;
  targetEndGraceMs: number;
  logger: Logger;
  count(direction: 'in' | 'out', bytes: number): void;
}

interface MuxConnection {
  id: number;
  socket: Duplex | undefined;
  gate: FlowGate | undefined;
  /** Payload received while the target is being dialled. */
  queue: Buffer[];
  queued: number;
  /** The client closed (or half-closed) before the dial finished. */
  endAfterDial: boolean;
  closed: boolean;
}

/**
 * One multiplexed WebSocket: `[u32 id][payload]` messages, a target connection dialled lazily on
 * the first payload for an unknown id, 4-byte closes both ways. Everything closes with the
 * WebSocket. Flow control is per WebSocket: a slow target pauses the whole WebSocket (head-of-line
 * blocking; burrow's own protocol has per-stream credit).
 */
export class MuxSession {
  readonly #ws: WebSocket;
  readonly #wsGate: FlowGate;
  readonly #target: TcpTarget;
  readonly #info: TcpOpenInfo;
  readonly #extensions: boolean;
  readonly #opts: MuxSessionOptions;
  readonly #conns = new Map<number, MuxConnection>();
  readonly #recentlyClosed = new Set<number>();
  #closed = false;

  constructor(ws: WebSocket, target: TcpTarget, info: TcpOpenInfo, extensions: boolean, options: MuxSessionOptions) {
    this.#ws = ws;
    this.#wsGate = new FlowGate(ws);
    this.#target = target;
    this.#info = info;
    this.#extensions = extensions;
    this.#opts = options;
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => this.#onMessage(toBuffer(data)));
    ws.on('close', () => this.#closeAll());
    ws.on('error', (err) => this.#opts.logger.debug({ err: err.message }, 'tcp mux websocket error'));
  }

  get connections(): number {
    return this.#conns.size;
  }

  destroy(): void {
    this.#ws.close(1001, 'server shutting down');
    this.#closeAll();
  }

  #onMessage(message: Buffer): void {
    const msg = decodeMuxMessage(message, this.#extensions);
    switch (msg.type) {
      case 'ignored':
        this.#opts.logger.debug({ reason: msg.reason }, 'tcp mux message ignored');
        return;
      case 'close':
        this.#clientClosed(msg.id, false);
        return;
      case 'fin':
        this.#clientClosed(msg.id, true);
        return;
      case 'open':
        this.#open(msg.id);
        return;
      case 'data':
        this.#data(msg.id, msg.payload);
        return;
    }
  }

  /** The connection for an id, opened (dialled) if it is new; undefined if it must be ignored. */
  #open(id: number): MuxConnection | undefined {
    const existing = this.#conns.get(id);
    if (existing) return existing;
    if (this.#recentlyClosed.has(id) || this.#closed) return undefined;
    if (this.#conns.size >= this.#opts.maxConnections) {
      this.#opts.logger.warn({ max: this.#opts.maxConnections }, 'tcp mux connection limit reached');
      this.#send(encodeMuxClose(id));
      this.#remember(id);
      return undefined;
    }
    const conn: MuxConnection = {
      id,
      socket: undefined,
      gate: undefined,
      queue: [],
      queued: 0,
      endAfterDial: false,
      closed: false,
    };
    this.#conns.set(id, conn);
    this.#dial(conn);
    return conn;
  }

  #data(id: number, payload: Buffer): void {
    this.#opts.count('in', payload.length);
    const conn = this.#open(id);
    if (!conn || conn.closed) return;
    if (!conn.socket) {
      conn.queue.push(payload);
      conn.queued += payload.length;
      if (conn.queued >= this.#opts.dialQueueBytes) this.#wsGate.hold(`dial:${id}`);
      return;
    }
    this.#write(conn, conn.socket, payload);
  }

  #write(conn: MuxConnection, socket: Duplex, payload: Buffer): void {
    writeWithBackpressure(socket, payload, this.#wsGate, `target:${conn.id}`);
  }

  #dial(conn: MuxConnection): void {
    this.#target.open(this.#info).then(
      (socket) => {
        this.#wsGate.release(`dial:${conn.id}`);
        if (this.#closed || (conn.closed && conn.queue.length === 0)) {
          socket.destroy();
          return;
        }
        if (conn.closed) {
          // The client sent data and closed while we dialled: deliver it, then end.
          socket.on('error', () => {});
          for (const payload of conn.queue) socket.write(payload);
          conn.queue = [];
          endThenDestroy(socket, this.#opts.targetEndGraceMs, TCP_TARGET_FLUSH_TIMEOUT_MS);
          return;
        }
        conn.socket = socket;
        conn.gate = new FlowGate(socket);
        const gate = conn.gate;
        socket.on('data', (chunk: Buffer) => {
          this.#opts.count('out', chunk.length);
          if (this.#ws.readyState !== this.#ws.OPEN) return;
          sendWithBackpressure(
            this.#ws,
            encodeMuxData(conn.id, chunk),
            gate,
            this.#opts.highWaterBytes,
            this.#opts.lowWaterBytes,
          );
        });
        socket.on('end', () => {
          if (this.#extensions) this.#send(encodeMuxFin(conn.id));
          else socket.end();
        });
        socket.on('close', () => this.#targetClosed(conn));
        socket.on('error', (err) => this.#opts.logger.debug({ err: err.message, id: conn.id }, 'tcp mux target error'));
        for (const payload of conn.queue) this.#write(conn, socket, payload);
        conn.queue = [];
        conn.queued = 0;
        if (conn.endAfterDial) socket.end(); // FIN received while dialling
      },
      (err: unknown) => {
        this.#opts.logger.debug(
          { err: err instanceof Error ? err.message : String(err), id: conn.id },
          'tcp mux dial failed',
        );
        this.#wsGate.release(`dial:${conn.id}`);
        this.#targetClosed(conn);
      },
    );
  }

  /** A 4-byte close (fin=false) or burrow's FIN (fin=true) from the client. */
  #clientClosed(id: number, fin: boolean): void {
    const conn = this.#conns.get(id);
    if (!conn) return;
    if (!fin) {
      // The client's side is gone: no close goes back for this id.
      conn.closed = true;
      this.#conns.delete(id);
      this.#remember(id);
    }
    const socket = conn.socket;
    if (!socket) {
      conn.endAfterDial = true;
      return;
    }
    if (fin) socket.end();
    else endThenDestroy(socket, this.#opts.targetEndGraceMs, TCP_TARGET_FLUSH_TIMEOUT_MS);
  }

  #targetClosed(conn: MuxConnection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.#conns.delete(conn.id);
    this.#remember(conn.id);
    this.#send(encodeMuxClose(conn.id));
  }

  #send(message: Buffer): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(message);
  }

  #remember(id: number): void {
    this.#recentlyClosed.add(id);
    if (this.#recentlyClosed.size > this.#opts.closedIdMemory) {
      const oldest = this.#recentlyClosed.values().next();
      if (!oldest.done) this.#recentlyClosed.delete(oldest.value);
    }
  }

  #closeAll(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const conn of this.#conns.values()) {
      conn.closed = true;
      conn.socket?.destroy();
    }
    this.#conns.clear();
    this.#recentlyClosed.clear();
  }
}
