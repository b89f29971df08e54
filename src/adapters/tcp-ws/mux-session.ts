import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Logger } from '../../core/logger.js';
import { BufferBudget, CreditReceiver, CreditSender } from '../../wire/tcp-ws/credit.js';
import {
  FlowGate,
  ReadBatch,
  WsSendBacklog,
  endThenDestroy,
  readAsArriving,
  writeWithBackpressure,
} from '../../wire/tcp-ws/flow.js';
import { TCP_MUX_PARTS_MIN_BYTES, TCP_TARGET_FLUSH_TIMEOUT_MS } from '../../wire/tcp-ws/limits.js';
import type { TcpOpenInfo, TcpTarget } from './targets.js';
import {
  MuxMessageReader,
  encodeMuxClose,
  encodeMuxCredit,
  encodeMuxData,
  encodeMuxFin,
  encodeMuxHeader,
  type MuxMessageSink,
} from '../../wire/tcp-ws/wire.js';

/** Per-connection flow control, when the client offered it and the server accepted (docs/tcp.md). */
export interface MuxFlowControl {
  /** The server's receive window per connection (announced in the 101 response). */
  window: number;
  /** The client's receive window per connection: the initial send credit of every connection. */
  peerWindow: number;
  /** Bytes received for all connections and not yet taken by their targets, above which the WebSocket pauses. */
  bufferBytes: number;
}

export interface TcpWsMuxSessionOptions {
  maxConnections: number;
  dialQueueBytes: number;
  closedIdMemory: number;
  highWaterBytes: number;
  lowWaterBytes: number;
  targetEndGraceMs: number;
  /** Per-connection credit (burrow extension); undefined = limrun's wire, flow control per WebSocket. */
  flowControl?: MuxFlowControl | undefined;
  /** Largest WebSocket frame accepted (a longer one closes the WebSocket with 1009). */
  maxFrameBytes: number;
  logger: Logger;
  count(direction: 'in' | 'out', bytes: number): void;
  /** Called on every read from the WebSocket's socket (liveness: data counts as a sign of life). */
  onRead?: () => void;
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
  /** The client closed this id (4-byte close): nothing more goes to it, nothing more comes from it. */
  clientGone: boolean;
  /** The target closed (or was never reached): the close goes to the client once what waits is sent. */
  targetGone: boolean;
  /** target → client, within the client's credit (unlimited without flow control). */
  sender: CreditSender;
  /** client → target accounting (flow control only). */
  receiver: CreditReceiver | undefined;
  /** Client bytes held here, not yet taken by the target (flow control only; in the session budget). */
  buffered: number;
}

/**
 * One multiplexed WebSocket: `[u32 id][payload]` messages, a target connection dialled lazily on
 * the first payload for an unknown id, 4-byte closes both ways. Everything closes with the
 * WebSocket.
 *
 * Without flow control (limrun's clients, older burrow clients) a slow target pauses the whole
 * WebSocket (head-of-line blocking). With burrow's per-connection credit each id has its own window
 * both ways: a target that does not read only stops its own client sender, and a client that does
 * not read only stops its own target (paused), the others keep going.
 */
export class TcpWsMuxSession {
  readonly #ws: WebSocket;
  readonly #wsGate: FlowGate;
  readonly #backlog: WsSendBacklog;
  readonly #budget: BufferBudget | undefined;
  readonly #target: TcpTarget;
  readonly #info: TcpOpenInfo;
  readonly #extensions: boolean;
  readonly #flow: MuxFlowControl | undefined;
  readonly #opts: TcpWsMuxSessionOptions;
  readonly #conns = new Map<number, MuxConnection>();
  readonly #recentlyClosed = new Set<number>();
  #closed = false;
  /** Targets written during the current read of the WebSocket (one write each per read). */
  readonly #batch = new ReadBatch();
  /** Where the WebSocket's messages go as they are read (MuxMessageReader). */
  readonly #sink: MuxMessageSink = {
    data: (id, payload) => this.#data(id, payload),
    message: (msg) => this.#onMessage(msg),
  };

  constructor(ws: WebSocket, target: TcpTarget, info: TcpOpenInfo, extensions: boolean, options: TcpWsMuxSessionOptions) {
    this.#ws = ws;
    this.#wsGate = new FlowGate(ws);
    this.#backlog = new WsSendBacklog(ws, options.highWaterBytes, options.lowWaterBytes);
    this.#target = target;
    this.#info = info;
    this.#extensions = extensions;
    this.#flow = extensions ? options.flowControl : undefined;
    this.#budget = this.#flow ? new BufferBudget(this.#flow.bufferBytes, this.#wsGate) : undefined;
    this.#opts = options;
    // binary messages are read as they arrive (payloads as views of the socket's reads, no joined
    // copy); text messages, which limrun's wire does not use, still come whole through 'message'
    const reader = new MuxMessageReader(this.#sink, extensions, this.#flow !== undefined);
    readAsArriving(ws, options.maxFrameBytes, reader, {
      begin: () => {
        options.onRead?.();
        this.#batch.begin();
      },
      end: this.#batch.end,
    });
    ws.on('close', () => this.#closeAll());
    ws.on('error', (err) => this.#opts.logger.debug({ err: err.message }, 'tcp mux websocket error'));
  }

  get connections(): number {
    return this.#conns.size;
  }

  /** Per-connection flow control is on for this WebSocket. */
  get flowControlled(): boolean {
    return this.#flow !== undefined;
  }

  /** Client bytes held for open connections (dial queues and target write backlogs). */
  get bufferedBytes(): number {
    let n = 0;
    for (const c of this.#conns.values()) n += c.queued + (c.socket?.writableLength ?? 0);
    return n;
  }

  /** Connections whose target output waits for the client's credit (their target is paused). */
  get stalledConnections(): number {
    let n = 0;
    for (const c of this.#conns.values()) if (c.sender.stalled) n++;
    return n;
  }

  destroy(): void {
    this.#ws.close(1001, 'server shutting down');
    this.#closeAll();
  }

  #onMessage(msg: Parameters<MuxMessageSink['message']>[0]): void {
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
      case 'credit':
        this.#conns.get(msg.id)?.sender.grant(msg.increment);
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
    const flow = this.#flow;
    const conn: MuxConnection = {
      id,
      socket: undefined,
      gate: undefined,
      queue: [],
      queued: 0,
      endAfterDial: false,
      clientGone: false,
      targetGone: false,
      sender: new CreditSender(
        flow ? flow.peerWindow : Number.POSITIVE_INFINITY,
        (payload) => this.#sendData(conn, payload),
        (stalled) => (stalled ? conn.gate?.hold('credit') : conn.gate?.release('credit')),
      ),
      receiver: flow ? new CreditReceiver(flow.window, (n) => this.#send(encodeMuxCredit(id, n))) : undefined,
      buffered: 0,
    };
    this.#conns.set(id, conn);
    this.#dial(conn);
    return conn;
  }

  #data(id: number, payload: Buffer): void {
    this.#opts.count('in', payload.length);
    const conn = this.#open(id);
    if (!conn || conn.clientGone || conn.targetGone) return;
    if (conn.receiver) {
      if (!conn.receiver.receive(payload.length)) {
        this.#opts.logger.warn(
          { id, window: conn.receiver.window },
          'tcp mux client exceeded the window: closing the id',
        );
        this.#abort(conn);
        return;
      }
      conn.buffered += payload.length;
      this.#budget?.add(payload.length);
    }
    if (!conn.socket) {
      conn.queue.push(payload);
      conn.queued += payload.length;
      // With flow control the queue is bounded by the window; without, pause the WebSocket.
      if (!conn.receiver && conn.queued >= this.#opts.dialQueueBytes) this.#wsGate.hold(`dial:${id}`);
      return;
    }
    this.#write(conn, conn.socket, payload);
  }

  #write(conn: MuxConnection, socket: Duplex, payload: Buffer): void {
    this.#batch.touch(socket);
    if (!conn.receiver) {
      writeWithBackpressure(socket, payload, this.#wsGate, `target:${conn.id}`);
      return;
    }
    const n = payload.length;
    socket.write(payload, () => this.#consumed(conn, n));
  }

  /** The target took `n` bytes (or they are gone with it): account, and credit the client. */
  #consumed(conn: MuxConnection, n: number): void {
    const k = Math.min(n, conn.buffered);
    if (k > 0) {
      conn.buffered -= k;
      this.#budget?.sub(k);
    }
    if (!conn.clientGone && !conn.targetGone) conn.receiver?.consumed(n);
  }

  #releaseBuffered(conn: MuxConnection): void {
    if (conn.buffered === 0) return;
    this.#budget?.sub(conn.buffered);
    conn.buffered = 0;
  }

  #dial(conn: MuxConnection): void {
    this.#target.open(this.#info).then(
      (socket) => {
        this.#wsGate.release(`dial:${conn.id}`);
        if (this.#closed || (conn.clientGone && conn.queue.length === 0)) {
          this.#releaseBuffered(conn);
          socket.destroy();
          return;
        }
        if (conn.clientGone) {
          // The client sent data and closed while we dialled: deliver it, then end.
          socket.on('error', () => {});
          socket.once('close', () => this.#releaseBuffered(conn));
          for (const payload of conn.queue) this.#write(conn, socket, payload);
          conn.queue = [];
          conn.queued = 0;
          endThenDestroy(socket, this.#opts.targetEndGraceMs, TCP_TARGET_FLUSH_TIMEOUT_MS);
          return;
        }
        conn.socket = socket;
        const gate = new FlowGate(socket);
        conn.gate = gate;
        if (conn.sender.stalled) gate.hold('credit');
        socket.on('data', (chunk: Buffer) => {
          this.#opts.count('out', chunk.length);
          if (this.#ws.readyState !== this.#ws.OPEN || conn.clientGone) return;
          conn.sender.push(chunk);
        });
        socket.on('end', () => {
          if (!this.#extensions) socket.end();
          else if (!conn.clientGone) conn.sender.after(() => this.#send(encodeMuxFin(conn.id)));
        });
        socket.on('close', () => {
          this.#releaseBuffered(conn);
          this.#backlog.forget(gate);
          this.#targetClosed(conn);
        });
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
        conn.queue = [];
        conn.queued = 0;
        this.#releaseBuffered(conn);
        this.#targetClosed(conn);
      },
    );
  }

  /** A 4-byte close (fin=false) or burrow's FIN (fin=true) from the client. */
  #clientClosed(id: number, fin: boolean): void {
    const conn = this.#conns.get(id);
    if (!conn) return;
    if (!fin) {
      // The client's side is gone: no close goes back for this id, and what waited for credit is dropped.
      conn.clientGone = true;
      conn.sender.clear();
      this.#conns.delete(id);
      this.#remember(id);
    }
    if (conn.targetGone) return;
    const socket = conn.socket;
    if (!socket) {
      conn.endAfterDial = true;
      return;
    }
    if (fin) socket.end();
    else endThenDestroy(socket, this.#opts.targetEndGraceMs, TCP_TARGET_FLUSH_TIMEOUT_MS);
  }

  /** The target is gone: once what waits for credit has been sent, the close goes to the client. */
  #targetClosed(conn: MuxConnection): void {
    if (conn.targetGone) return;
    conn.targetGone = true;
    if (conn.clientGone) return;
    conn.sender.after(() => {
      if (this.#conns.get(conn.id) !== conn) return;
      this.#conns.delete(conn.id);
      this.#remember(conn.id);
      this.#send(encodeMuxClose(conn.id));
    });
  }

  /** The client broke the protocol for this id (sent past its window): close it both ways. */
  #abort(conn: MuxConnection): void {
    conn.clientGone = true;
    conn.sender.clear();
    conn.queue = [];
    conn.queued = 0;
    this.#releaseBuffered(conn);
    this.#conns.delete(conn.id);
    this.#remember(conn.id);
    this.#send(encodeMuxClose(conn.id));
    if (conn.socket) conn.socket.destroy();
    else conn.endAfterDial = true;
  }

  #sendData(conn: MuxConnection, payload: Buffer): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    if (this.#extensions && payload.length >= TCP_MUX_PARTS_MIN_BYTES)
      this.#backlog.sendParts(encodeMuxHeader(conn.id), payload, conn.gate);
    else this.#backlog.send(encodeMuxData(conn.id, payload), conn.gate);
  }

  #send(message: Buffer): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#backlog.send(message);
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
      conn.clientGone = true;
      conn.sender.clear();
      conn.socket?.destroy();
    }
    this.#conns.clear();
    this.#recentlyClosed.clear();
  }
}
