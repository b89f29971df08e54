import { randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { readIntoPool, type PooledReads } from '../../core/pooled-reads.js';
import type { WebSocket } from 'ws';
import {
  FlowGate,
  ReadBatch,
  readAsArriving,
  sendWithBackpressure,
  watchLiveness,
  writeWithBackpressure,
} from '../../wire/tcp-ws/flow.js';
import {
  TCP_WS_HIGH_WATER_BYTES,
  TCP_WS_LOW_WATER_BYTES,
  TCP_WS_MAX_MESSAGE_BYTES,
  TCP_WS_PONG_TIMEOUT_MS,
} from '../../wire/tcp-ws/limits.js';
import { SingletonMessageReader, WS_CLOSE_NORMAL, WS_CLOSE_SESSION_ENDED } from '../../wire/tcp-ws/wire.js';
import type { TcpLinkOptions } from './types.js';
import { ReconnectSchedule, isFinalStatus, openTcpWebSocket } from './websocket.js';

export interface SingletonLinkOptions extends TcpLinkOptions {
  /** Bytes read from the local side kept while the WebSocket is away (a warning threshold). */
  reconnectQueueBytes: number;
}

/**
 * How a link ended: the local side closed ('closed'), the server refused the upgrade with a 4xx
 * ('refused', with its status), the target closed ('target-closed'), reconnects ran out
 * ('exhausted'), or close() was called ('aborted').
 */
export type LinkEnd =
  { reason: 'closed' | 'target-closed' | 'exhausted' | 'aborted' } | { reason: 'refused'; status: number };

const FIN = Symbol('fin');
/** After the local side is ended and flushed, how long its peer has to close before it is destroyed, in ms. */
export const LOCAL_CLOSE_GRACE_MS = 2_000;

/**
 * One local connection (any Duplex: a TCP socket, stdin/stdout) carried over singleton-mode
 * WebSockets with `?sessionId=` resume. Unlike limrun's client, bytes read from the local side
 * while the WebSocket is away are kept (the local side is paused; at most reconnectQueueBytes)
 * and sent first after the resume.
 */
export class SingletonLink {
  readonly sessionId = randomUUID();
  readonly done: Promise<LinkEnd>;
  readonly #local: Duplex;
  readonly #localGate: FlowGate;
  readonly #opts: SingletonLinkOptions;
  #ws: WebSocket | undefined;
  #extensions = false;
  /** The local socket is written once per WebSocket read. */
  readonly #batch = new ReadBatch();
  /** What waits for the WebSocket: pieces read (each with its release: core/pooled-reads.ts) and the FIN. */
  #queue: ({ chunk: Buffer; release: () => void } | typeof FIN)[] = [];
  /** A TCP local side read into reused buffers (else its 'data' events). */
  readonly #reads: PooledReads | undefined;
  #queued = 0;
  readonly #reconnects: ReconnectSchedule;
  #finished = false;
  #resolveDone!: (end: LinkEnd) => void;

  constructor(local: Duplex, options: SingletonLinkOptions) {
    this.#local = local;
    this.#opts = options;
    this.#reconnects = new ReconnectSchedule(options);
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    // the gate pauses the pooled reads once there are any (they also pause on their own buffer limit)
    this.#localGate = new FlowGate({
      pause: () => (this.#reads ?? local).pause(),
      resume: () => (this.#reads ?? local).resume(),
    });
    this.#localGate.hold('offline');
    this.#reads =
      local instanceof Socket
        ? readIntoPool(local, { onChunk: (chunk, release) => this.#fromLocal(chunk, release) }, { paused: true })
        : undefined;
    if (!this.#reads) local.on('data', (chunk: Buffer) => this.#fromLocal(chunk, noop));
    local.on('end', () => this.#localEnded());
    local.on('close', () => this.#finish({ reason: 'closed' }));
    local.on('error', (err) => this.#opts.logger.debug({ err: err.message }, 'local socket error'));
    this.#connect();
  }

  /** Stop: close the WebSocket with 1000 (ends the session on the server) and destroy the local side. */
  close(): void {
    this.#finish({ reason: 'aborted' });
  }

  #connect(): void {
    this.#opts.state.set('connecting');
    const url = new URL(this.#opts.url);
    url.searchParams.set('sessionId', this.sessionId);
    const conn = openTcpWebSocket(url, this.#opts.token, { tls: this.#opts.tls });
    const ws = conn.ws;
    const wsGate = new FlowGate(ws);
    this.#ws = ws;
    ws.on('open', () => {
      if (ws !== this.#ws) return;
      this.#extensions = conn.extensions();
      this.#reconnects.opened();
      this.#opts.state.set('connected');
      const liveness = watchLiveness(ws, this.#opts.pingIntervalMs, TCP_WS_PONG_TIMEOUT_MS);
      // messages read as they arrive: bytes go to the local socket in the pieces the reads gave,
      // one write per read; an empty message is the server's FIN (extensions)
      const reader = new SingletonMessageReader(
        (bytes) => {
          if (ws !== this.#ws) return;
          this.#batch.touch(this.#local);
          writeWithBackpressure(this.#local, bytes, wsGate, 'local');
        },
        () => {
          if (ws === this.#ws && this.#extensions) this.#local.end();
        },
      );
      readAsArriving(ws, TCP_WS_MAX_MESSAGE_BYTES, reader, {
        begin: () => {
          liveness.seen();
          this.#batch.begin();
        },
        end: this.#batch.end,
      });
      const queue = this.#queue;
      this.#queue = [];
      this.#queued = 0;
      for (const item of queue) {
        if (item === FIN) this.#sendFin(ws);
        else this.#send(ws, item.chunk, item.release);
      }
      this.#localGate.release('offline');
    });
    ws.on('close', (code: number) => this.#wsClosed(ws, code, conn.refusedStatus(), conn.lastError()));
  }

  #sendFin(ws: WebSocket): void {
    if (this.#extensions) ws.send(Buffer.alloc(0));
    else this.#local.end(); // no half-close on limrun's wire: finish our side too
  }

  #send(ws: WebSocket, chunk: Buffer, release: () => void): void {
    sendWithBackpressure(ws, chunk, this.#localGate, TCP_WS_HIGH_WATER_BYTES, TCP_WS_LOW_WATER_BYTES, release);
  }

  #fromLocal(chunk: Buffer, release: () => void): void {
    const ws = this.#ws;
    if (ws && ws.readyState === ws.OPEN) {
      this.#send(ws, chunk, release);
      return;
    }
    // Read before the pause took effect: keep it for the resume (limrun's client drops it).
    this.#queue.push({ chunk, release });
    this.#queued += chunk.length;
    this.#localGate.hold('offline');
    if (this.#queued > this.#opts.reconnectQueueBytes) {
      this.#opts.logger.warn({ bytes: this.#queued }, 'reconnect queue over its cap; the local side stays paused');
    }
  }

  #localEnded(): void {
    const ws = this.#ws;
    if (ws && ws.readyState === ws.OPEN) this.#sendFin(ws);
    else this.#queue.push(FIN);
  }

  #wsClosed(ws: WebSocket, code: number, status: number | undefined, lastError: string | undefined): void {
    if (ws !== this.#ws) return;
    this.#ws = undefined;
    if (this.#finished) return;
    this.#localGate.hold('offline');
    this.#localGate.release('ws'); // that WebSocket's backlog is gone with it
    this.#opts.state.set('disconnected');
    if (isFinalStatus(status)) {
      this.#opts.logger.error({ status }, `the server refused the tunnel (HTTP ${status})`);
      this.#finish({ reason: 'refused', status: status ?? 0 });
      return;
    }
    if (code === WS_CLOSE_SESSION_ENDED && this.#extensions) {
      this.#opts.logger.info('the target closed the connection');
      this.#finish({ reason: 'target-closed' });
      return;
    }
    if (this.#reconnects.exhausted) {
      this.#opts.logger.error({ attempts: this.#reconnects.attempts, lastError }, 'reconnect attempts exhausted');
      this.#finish({ reason: 'exhausted' });
      return;
    }
    this.#opts.state.set('reconnecting');
    const delay = this.#reconnects.schedule(() => {
      if (!this.#finished) this.#connect();
    });
    this.#opts.logger.debug(
      { attempt: this.#reconnects.attempts, delay, code, lastError },
      'websocket lost; reconnecting',
    );
  }

  #finish(end: LinkEnd): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#reconnects.cancel();
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws) {
      if (ws.readyState === ws.OPEN) ws.close(WS_CLOSE_NORMAL, 'close');
      else if (ws.readyState === ws.CONNECTING) ws.terminate();
    }
    if (end.reason === 'target-closed' || end.reason === 'closed' || (end.reason === 'refused' && end.status === 410)) {
      // Let what the server sent reach the local side, then close it (410: a limrun-style server
      // closed the WebSocket after the target's last bytes, and refused the resume).
      endGracefully(this.#local);
    } else {
      this.#local.destroy();
    }
    this.#opts.state.set('disconnected');
    this.#resolveDone(end);
  }
}

/** end() the local side; once flushed, give the peer LOCAL_CLOSE_GRACE_MS to close before destroying. */
export function endGracefully(local: Duplex): void {
  if (local.destroyed) return;
  local.end(() => {
    const timer = setTimeout(() => local.destroy(), LOCAL_CLOSE_GRACE_MS);
    timer.unref();
    local.once('close', () => clearTimeout(timer));
  });
}

function noop(): void {}
