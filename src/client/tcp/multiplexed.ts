import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Logger } from '../../core/logger.js';
import { FlowGate, sendWithBackpressure, watchLiveness, writeWithBackpressure } from '../../adapters/limrun/flow.js';
import {
  TCP_MUX_MAX_CONNECTIONS,
  TCP_WS_HIGH_WATER_BYTES,
  TCP_WS_LOW_WATER_BYTES,
  TCP_WS_PONG_TIMEOUT_MS,
} from '../../adapters/limrun/limits.js';
import {
  MUX_MAX_ID,
  decodeMuxMessage,
  encodeMuxClose,
  encodeMuxData,
  encodeMuxFin,
  encodeMuxOpen,
  toBuffer,
} from '../../adapters/limrun/wire.js';
import { endGracefully } from './singleton-link.js';
import type { ConnectionStateTracker } from './state.js';
import type { TcpTunnelEnd } from './types.js';
import { backoffDelay, isFinalStatus, openTcpWebSocket } from './websocket.js';

export interface MuxClientOptions {
  url: string;
  token: string;
  maxReconnectAttempts: number;
  reconnectDelay: number;
  maxReconnectDelay: number;
  pingIntervalMs: number;
  logger: Logger;
  state: ConnectionStateTracker;
  /** Called when the client gives up for good (refused, reconnects exhausted). */
  onGiveUp(end: TcpTunnelEnd): void;
}

interface Conn {
  socket: Socket;
  gate: FlowGate;
}

/**
 * Multiplexed mode: every local connection is an id on one WebSocket (`[u32 id][payload]`, 4-byte
 * close). Ids count from 1 and are not reset on reconnect. A WebSocket drop closes every local
 * connection (the server closes their targets); connections accepted while reconnecting wait,
 * paused, instead of being refused. Flow control is per WebSocket (a slow local reader pauses all
 * of them); burrow's own multiplexed protocol with per-stream credit is the later fix.
 */
export class MuxClient {
  readonly #opts: MuxClientOptions;
  readonly #conns = new Map<number, Conn>();
  readonly #waiting = new Set<Socket>();
  #ws: WebSocket | undefined;
  #wsGate: FlowGate | undefined;
  #extensions = false;
  #nextId = 1;
  #attempts = 0;
  #established = false;
  #closed = false;
  #reconnectTimer: NodeJS.Timeout | undefined;

  constructor(options: MuxClientOptions) {
    this.#opts = options;
  }

  /** First connection: resolves when open, rejects (and gives up) when it fails. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => this.#connect(resolve, reject));
  }

  accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    socket.on('error', (err) => this.#opts.logger.debug({ err: err.message }, 'local socket error'));
    const ws = this.#ws;
    if (ws && ws.readyState === ws.OPEN) {
      this.#attach(ws, socket);
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
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws && ws.readyState === ws.OPEN) ws.close(1000, 'close');
    else if (ws) ws.terminate();
    this.#closeAll();
    this.#opts.state.set('disconnected');
  }

  #connect(onOpen?: () => void, onFail?: (err: Error) => void): void {
    this.#opts.state.set('connecting');
    const url = new URL(this.#opts.url);
    url.searchParams.set('mode', 'multiplexed');
    const conn = openTcpWebSocket(url, this.#opts.token);
    const ws = conn.ws;
    this.#ws = ws;
    ws.on('open', () => {
      if (ws !== this.#ws) return;
      this.#extensions = conn.extensions();
      this.#wsGate = new FlowGate(ws);
      this.#attempts = 0;
      this.#established = true;
      this.#opts.state.set('connected');
      watchLiveness(ws, this.#opts.pingIntervalMs, TCP_WS_PONG_TIMEOUT_MS);
      for (const socket of this.#waiting) this.#attach(ws, socket);
      this.#waiting.clear();
      onOpen?.();
    });
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      if (ws === this.#ws) this.#onMessage(toBuffer(data));
    });
    ws.on('close', (code: number) => {
      if (ws !== this.#ws) return;
      this.#ws = undefined;
      this.#wsGate = undefined;
      this.#closeConnections();
      if (this.#closed) return;
      const status = conn.refusedStatus();
      if (!this.#established) {
        this.close();
        onFail?.(new Error(`Failed to establish WebSocket connection: ${conn.lastError() ?? `closed with ${code}`}`));
        return;
      }
      if (isFinalStatus(status) || this.#attempts >= this.#opts.maxReconnectAttempts) {
        this.#opts.logger.error(
          { status, attempts: this.#attempts, lastError: conn.lastError() },
          'giving up on the tunnel',
        );
        this.close();
        this.#opts.onGiveUp(
          status !== undefined && isFinalStatus(status) ? { reason: 'refused', status } : { reason: 'exhausted' },
        );
        return;
      }
      const delay = backoffDelay(this.#attempts, this.#opts.reconnectDelay, this.#opts.maxReconnectDelay);
      this.#attempts++;
      this.#opts.state.set('reconnecting');
      this.#reconnectTimer = setTimeout(() => {
        this.#reconnectTimer = undefined;
        if (!this.#closed) this.#connect();
      }, delay);
    });
  }

  #attach(ws: WebSocket, socket: Socket): void {
    if (socket.destroyed) return;
    const id = this.#nextId;
    this.#nextId = this.#nextId >= MUX_MAX_ID ? 1 : this.#nextId + 1;
    const gate = new FlowGate(socket);
    this.#conns.set(id, { socket, gate });
    // burrow server: dial now, so a server-speaks-first target can greet before we write.
    if (this.#extensions) this.#sendOn(ws, encodeMuxOpen(id));
    socket.on('data', (chunk: Buffer) => {
      if (ws.readyState !== ws.OPEN) return;
      sendWithBackpressure(ws, encodeMuxData(id, chunk), gate, TCP_WS_HIGH_WATER_BYTES, TCP_WS_LOW_WATER_BYTES);
    });
    socket.on('end', () => {
      if (!this.#conns.has(id)) return;
      if (this.#extensions) this.#sendOn(ws, encodeMuxFin(id));
      else socket.end(); // limrun's wire has no half-close
    });
    socket.on('close', () => {
      if (this.#conns.get(id)?.socket !== socket) return;
      this.#conns.delete(id);
      this.#sendOn(ws, encodeMuxClose(id));
    });
    socket.resume();
  }

  #onMessage(message: Buffer): void {
    const msg = decodeMuxMessage(message, this.#extensions);
    if (msg.type === 'ignored') return;
    const conn = this.#conns.get(msg.id);
    if (!conn) return;
    if (msg.type === 'close') {
      this.#conns.delete(msg.id);
      endGracefully(conn.socket);
      return;
    }
    if (msg.type === 'open') return; // servers do not open connections
    if (msg.type === 'fin') {
      conn.socket.end();
      return;
    }
    writeWithBackpressure(conn.socket, msg.payload, this.#wsGate, `local:${msg.id}`);
  }

  #sendOn(ws: WebSocket, message: Buffer): void {
    if (ws === this.#ws && ws.readyState === ws.OPEN) ws.send(message);
  }

  #closeConnections(): void {
    for (const { socket } of this.#conns.values()) socket.destroy();
    this.#conns.clear();
  }

  #closeAll(): void {
    this.#closeConnections();
    for (const socket of this.#waiting) socket.destroy();
    this.#waiting.clear();
  }
}
