import type { Socket } from 'node:net';
import { readIntoPool, type PooledReads } from '../../core/pooled-reads.js';
import type { WebSocket } from 'ws';
import { BufferBudget, CreditReceiver, CreditSender } from '../../wire/tcp-ws/credit.js';
import {
  FlowGate,
  ReadBatch,
  WsSendBacklog,
  readAsArriving,
  watchLiveness,
  writeWithBackpressure,
} from '../../wire/tcp-ws/flow.js';
import {
  TCP_MUX_BUFFER_BYTES,
  TCP_MUX_MAX_CONNECTIONS,
  TCP_MUX_PARTS_MIN_BYTES,
  TCP_WS_HIGH_WATER_BYTES,
  TCP_WS_LOW_WATER_BYTES,
  TCP_WS_MAX_MESSAGE_BYTES,
  TCP_WS_PONG_TIMEOUT_MS,
} from '../../wire/tcp-ws/limits.js';
import {
  BURROW_TCP_WINDOW_HEADER,
  MUX_MAX_ID,
  MuxMessageReader,
  encodeMuxClose,
  encodeMuxCredit,
  encodeMuxData,
  encodeMuxFin,
  encodeMuxHeader,
  encodeMuxOpen,
  parseMuxWindow,
  type MuxMessageSink,
} from '../../wire/tcp-ws/wire.js';
import { endGracefully } from './singleton-link.js';
import type { TcpLinkOptions, TcpTunnelEnd } from './types.js';
import { ReconnectSchedule, isFinalStatus, openTcpWebSocket } from './websocket.js';

/** What a multiplexed tunnel holds right now (burrow extension: `tunnel.stats()`). */
export interface MultiplexedStats {
  /** Local connections carried on the WebSocket (including ones waiting to send their close). */
  connections: number;
  /** The server accepted per-connection flow control on the current WebSocket. */
  flowControl: boolean;
  /** Bytes from the server waiting in local sockets (their write backlogs). */
  bufferedBytes: number;
  /** Local connections paused because the server has not credited their bytes yet. */
  stalledConnections: number;
}

export interface MultiplexedClientOptions extends TcpLinkOptions {
  /** Offer per-connection flow control with this receive window per connection (0: do not offer). */
  window: number;
  /** Called when the client gives up for good (refused, reconnects exhausted). */
  onGiveUp(end: TcpTunnelEnd): void;
}

/** One WebSocket and what was agreed on it. */
interface Link {
  ws: WebSocket;
  /** The WebSocket's messages, read as they arrive. */
  reader: MuxMessageReader;
  /** Local sockets written during the current read (one write each per read). */
  batch: ReadBatch;
  gate: FlowGate;
  backlog: WsSendBacklog;
  extensions: boolean;
  /** Per-connection flow control: our window and the server's (undefined: per-WebSocket, limrun's way). */
  flow: { window: number; peerWindow: number; budget: BufferBudget } | undefined;
}

interface Conn {
  id: number;
  socket: Socket;
  gate: FlowGate;
  /** local → server, within the server's credit (unlimited without flow control). */
  sender: CreditSender;
  /** server → local accounting (flow control only). */
  receiver: CreditReceiver | undefined;
  /** Server bytes not yet taken by the local socket (flow control only; in the link's budget). */
  buffered: number;
  /** The local socket closed; the close goes to the server once what waits for credit is sent. */
  localGone: boolean;
}

/**
 * Multiplexed mode: every local connection is an id on one WebSocket (`[u32 id][payload]`, 4-byte
 * close). Ids count from 1 and are not reset on reconnect. A WebSocket drop closes every local
 * connection (the server closes their targets); connections accepted while reconnecting wait,
 * paused, instead of being refused.
 *
 * With a burrow server it offers per-connection flow control (`X-Burrow-Tcp-Window`, docs/tcp.md):
 * then a local reader that stops reading, or a target that does, stalls only its own connection.
 * Without it (limrun-style servers) flow control is per WebSocket: a slow local reader pauses all.
 */
export class MultiplexedClient {
  readonly #opts: MultiplexedClientOptions;
  readonly #conns = new Map<number, Conn>();
  readonly #waiting = new Set<Socket>();
  #link: Link | undefined;
  #ws: WebSocket | undefined;
  #nextId = 1;
  #established = false;
  #closed = false;
  readonly #reconnects: ReconnectSchedule;

  constructor(options: MultiplexedClientOptions) {
    this.#opts = options;
    this.#reconnects = new ReconnectSchedule(options);
  }

  /** First connection: resolves when open, rejects (and gives up) when it fails. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => this.#connect(resolve, reject));
  }

  stats(): MultiplexedStats {
    let bufferedBytes = 0;
    let stalledConnections = 0;
    for (const c of this.#conns.values()) {
      bufferedBytes += c.socket.writableLength;
      if (c.sender.stalled) stalledConnections++;
    }
    return {
      connections: this.#conns.size,
      flowControl: this.#link?.flow !== undefined,
      bufferedBytes,
      stalledConnections,
    };
  }

  accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    socket.on('error', (err) => this.#opts.logger.debug({ err: err.message }, 'local socket error'));
    const link = this.#link;
    if (link && link.ws.readyState === link.ws.OPEN) {
      this.#attach(link, socket);
      return;
    }
    if (this.#waiting.size + this.#conns.size >= TCP_MUX_MAX_CONNECTIONS) {
      socket.destroy();
      return;
    }
    socket.pause();
    this.#waiting.add(socket);
    socket.once('close', () => this.#waiting.delete(socket));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reconnects.cancel();
    const ws = this.#ws;
    this.#ws = undefined;
    this.#link = undefined;
    if (ws && ws.readyState === ws.OPEN) ws.close(1000, 'close');
    else if (ws) ws.terminate();
    this.#closeAll();
    this.#opts.state.set('disconnected');
  }

  #connect(onOpen?: () => void, onFail?: (err: Error) => void): void {
    this.#opts.state.set('connecting');
    const url = new URL(this.#opts.url);
    url.searchParams.set('mode', 'multiplexed');
    const headers: Record<string, string> = {};
    if (this.#opts.window > 0) headers[BURROW_TCP_WINDOW_HEADER] = String(this.#opts.window);
    const conn = openTcpWebSocket(url, this.#opts.token, { headers, tls: this.#opts.tls });
    const ws = conn.ws;
    this.#ws = ws;
    ws.on('open', () => {
      if (ws !== this.#ws) return;
      const gate = new FlowGate(ws);
      const extensions = conn.extensions();
      const peerWindow = parseMuxWindow(conn.upgradeHeaders()?.[BURROW_TCP_WINDOW_HEADER]);
      const flowOn = extensions && this.#opts.window > 0 && peerWindow !== undefined;
      const sink: MuxMessageSink = {
        data: (id, payload) => {
          const c = this.#conns.get(id);
          if (c && this.#link === link) this.#data(link, c, payload);
        },
        message: (msg) => {
          if (this.#link === link) this.#onMessage(link, msg);
        },
      };
      const link: Link = {
        ws,
        reader: new MuxMessageReader(sink, extensions, flowOn),
        batch: new ReadBatch(),
        gate,
        backlog: new WsSendBacklog(ws, TCP_WS_HIGH_WATER_BYTES, TCP_WS_LOW_WATER_BYTES),
        extensions,
        flow: flowOn
          ? { window: this.#opts.window, peerWindow: peerWindow, budget: new BufferBudget(TCP_MUX_BUFFER_BYTES, gate) }
          : undefined,
      };
      this.#link = link;
      this.#reconnects.opened();
      this.#established = true;
      this.#opts.state.set('connected');
      const liveness = watchLiveness(ws, this.#opts.pingIntervalMs, TCP_WS_PONG_TIMEOUT_MS);
      // binary messages as they arrive: payloads are views of the socket's reads, not joined copies
      readAsArriving(ws, TCP_WS_MAX_MESSAGE_BYTES, link.reader, {
        begin: () => {
          liveness.seen();
          link.batch.begin();
        },
        end: link.batch.end,
      });
      for (const socket of this.#waiting) this.#attach(link, socket);
      this.#waiting.clear();
      onOpen?.();
    });
    ws.on('close', (code: number) => {
      if (ws !== this.#ws) return;
      this.#ws = undefined;
      this.#link = undefined;
      this.#closeConnections();
      if (this.#closed) return;
      const status = conn.refusedStatus();
      const lastError = conn.lastError();
      if (!this.#established) {
        this.close();
        onFail?.(new Error(`Failed to establish WebSocket connection: ${lastError ?? `closed with ${code}`}`));
        return;
      }
      if (isFinalStatus(status) || this.#reconnects.exhausted) {
        this.#opts.logger.error({ status, attempts: this.#reconnects.attempts, lastError }, 'giving up on the tunnel');
        this.close();
        this.#opts.onGiveUp(
          status !== undefined && isFinalStatus(status) ? { reason: 'refused', status } : { reason: 'exhausted' },
        );
        return;
      }
      this.#opts.state.set('reconnecting');
      this.#reconnects.schedule(() => {
        if (!this.#closed) this.#connect();
      });
    });
  }

  #attach(link: Link, socket: Socket): void {
    if (socket.destroyed) return;
    const id = this.#nextId;
    this.#nextId = this.#nextId >= MUX_MAX_ID ? 1 : this.#nextId + 1;
    // a TCP socket is read into reused buffers (core/pooled-reads.ts), each given back once ws
    // wrote it; the gate pauses those reads once they exist
    const source: { reads: PooledReads | undefined } = { reads: undefined };
    const gate = new FlowGate({
      pause: () => (source.reads ?? socket).pause(),
      resume: () => (source.reads ?? socket).resume(),
    });
    const flow = link.flow;
    const conn: Conn = {
      id,
      socket,
      gate,
      sender: new CreditSender(
        flow ? flow.peerWindow : Number.POSITIVE_INFINITY,
        (payload, done) => this.#sendData(link, id, payload, gate, done),
        (stalled) => (stalled ? gate.hold('credit') : gate.release('credit')),
      ),
      receiver: flow ? new CreditReceiver(flow.window, (n) => this.#sendOn(link, encodeMuxCredit(id, n))) : undefined,
      buffered: 0,
      localGone: false,
    };
    this.#conns.set(id, conn);
    // burrow server: dial now, so a server-speaks-first target can greet before we write.
    if (link.extensions) this.#sendOn(link, encodeMuxOpen(id));
    const fromLocal = (chunk: Buffer, release?: () => void): void => {
      if (link.ws.readyState !== link.ws.OPEN) release?.();
      else conn.sender.push(chunk, release);
    };
    socket.on('end', () => {
      if (this.#conns.get(id) !== conn) return;
      if (link.extensions) conn.sender.after(() => this.#sendOn(link, encodeMuxFin(id)));
      else socket.end(); // limrun's wire has no half-close
    });
    socket.on('close', () => {
      this.#releaseBuffered(link, conn);
      link.backlog.forget(gate);
      if (this.#conns.get(id) !== conn || conn.localGone) return;
      conn.localGone = true;
      conn.sender.after(() => {
        if (this.#conns.get(id) !== conn) return;
        this.#conns.delete(id);
        this.#sendOn(link, encodeMuxClose(id));
      });
    });
    source.reads = readIntoPool(socket, { onChunk: fromLocal });
    if (!source.reads) {
      socket.on('data', (chunk: Buffer) => fromLocal(chunk));
      socket.resume();
    }
  }

  #onMessage(link: Link, msg: Parameters<MuxMessageSink['message']>[0]): void {
    if (msg.type === 'ignored') return;
    const conn = this.#conns.get(msg.id);
    if (!conn) return;
    switch (msg.type) {
      case 'credit':
        conn.sender.grant(msg.increment);
        return;
      case 'close':
        this.#conns.delete(msg.id);
        conn.sender.clear();
        endGracefully(conn.socket);
        return;
      case 'open':
        return; // servers do not open connections
      case 'fin':
        conn.socket.end();
        return;
    }
  }

  #data(link: Link, conn: Conn, payload: Buffer): void {
    if (conn.localGone) return;
    link.batch.touch(conn.socket);
    if (!conn.receiver || !link.flow) {
      writeWithBackpressure(conn.socket, payload, link.gate, `local:${conn.id}`);
      return;
    }
    if (!conn.receiver.receive(payload.length)) {
      this.#opts.logger.warn({ id: conn.id }, 'server exceeded the connection window: closing the connection');
      this.#conns.delete(conn.id);
      conn.sender.clear();
      this.#sendOn(link, encodeMuxClose(conn.id));
      conn.socket.destroy();
      return;
    }
    const n = payload.length;
    conn.buffered += n;
    link.flow.budget.add(n);
    conn.socket.write(payload, () => {
      const k = Math.min(n, conn.buffered);
      if (k > 0) {
        conn.buffered -= k;
        link.flow?.budget.sub(k);
      }
      if (this.#conns.get(conn.id) === conn && !conn.localGone) conn.receiver?.consumed(n);
    });
  }

  #releaseBuffered(link: Link, conn: Conn): void {
    if (conn.buffered === 0) return;
    link.flow?.budget.sub(conn.buffered);
    conn.buffered = 0;
  }

  /** One payload for `id`: as two frames of one message (no joined copy) between burrow peers when large. */
  #sendData(link: Link, id: number, payload: Buffer, gate: FlowGate, done?: () => void): void {
    if (link !== this.#link || link.ws.readyState !== link.ws.OPEN) {
      done?.();
      return;
    }
    if (link.extensions && payload.length >= TCP_MUX_PARTS_MIN_BYTES) {
      link.backlog.sendParts(encodeMuxHeader(id), payload, gate, done);
      return;
    }
    link.backlog.send(encodeMuxData(id, payload), gate); // a copy
    done?.();
  }

  #sendOn(link: Link, message: Buffer, gate?: FlowGate): void {
    if (link === this.#link && link.ws.readyState === link.ws.OPEN) link.backlog.send(message, gate);
  }

  #closeConnections(): void {
    for (const { socket, sender } of this.#conns.values()) {
      sender.clear();
      socket.destroy();
    }
    this.#conns.clear();
  }

  #closeAll(): void {
    this.#closeConnections();
    for (const socket of this.#waiting) socket.destroy();
    this.#waiting.clear();
  }
}
