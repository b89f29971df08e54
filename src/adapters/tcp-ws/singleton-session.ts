import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Logger } from '../../core/logger.js';
import {
  FlowGate,
  ReadBatch,
  endThenDestroy,
  readAsArriving,
  sendWithBackpressure,
  writeWithBackpressure,
} from '../../wire/tcp-ws/flow.js';
import { TCP_TARGET_FLUSH_TIMEOUT_MS } from '../../wire/tcp-ws/limits.js';
import { SingletonMessageReader, WS_CLOSE_NORMAL, WS_CLOSE_SESSION_ENDED } from '../../wire/tcp-ws/wire.js';

export interface SingletonSessionOptions {
  /** Largest WebSocket frame accepted (a longer one closes the WebSocket with 1009). */
  maxFrameBytes: number;
  detachedGraceMs: number;
  detachedBufferBytes: number;
  highWaterBytes: number;
  lowWaterBytes: number;
  targetEndGraceMs: number;
  logger: Logger;
  /** Called once when the session has ended (for any reason). */
  onEnd(session: SingletonSession): void;
  /** Byte counters. */
  count(direction: 'in' | 'out', bytes: number): void;
}

const FIN = Symbol('fin');
type Pending = Buffer | typeof FIN;

/**
 * One singleton-mode session: one target connection that outlives WebSockets. While no WebSocket
 * is attached the target's output is buffered up to detachedBufferBytes, then the target is paused
 * (never dropped); a resume flushes it. Ends on a 1000 close from the client, when the target
 * closes (after delivering what it sent), or when the detached grace runs out.
 */
export class SingletonSession {
  readonly key: string;
  readonly #target: Duplex;
  readonly #targetGate: FlowGate;
  readonly #opts: SingletonSessionOptions;
  #ws: WebSocket | undefined;
  #wsGate: FlowGate | undefined;
  #extensions = false;
  #pending: Pending[] = [];
  #pendingBytes = 0;
  #targetClosed = false;
  #ended = false;
  #graceTimer: NodeJS.Timeout | undefined;
  /** The target is written once per WebSocket read. */
  readonly #batch = new ReadBatch();

  constructor(key: string, target: Duplex, extensions: boolean, options: SingletonSessionOptions) {
    this.key = key;
    this.#extensions = extensions;
    this.#target = target;
    this.#targetGate = new FlowGate(target);
    this.#opts = options;
    target.on('data', (chunk: Buffer) => this.#fromTarget(chunk));
    target.on('end', () => this.#targetEnded());
    target.on('close', () => this.#targetGone());
    target.on('error', (err) => this.#opts.logger.debug({ err: err.message }, 'tcp target error'));
    this.#startGrace();
  }

  get attached(): boolean {
    return this.#ws !== undefined;
  }

  /** Is the target paused (detached buffer full, or the WebSocket backed up)? */
  get targetPaused(): boolean {
    return this.#targetGate.held;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Attach a (new) WebSocket, just opened; a previous one is terminated. Flushes what was buffered
   * meanwhile. `onRead` runs on every read from it (liveness).
   */
  attach(ws: WebSocket, extensions: boolean, onRead?: () => void): void {
    if (this.#ended) {
      ws.close(extensions ? WS_CLOSE_SESSION_ENDED : WS_CLOSE_NORMAL, 'session ended');
      return;
    }
    const old = this.#ws;
    if (old) {
      this.#ws = undefined;
      old.terminate();
    }
    this.#clearGrace();
    this.#ws = ws;
    this.#wsGate = new FlowGate(ws);
    this.#extensions = extensions;
    // messages read as they arrive: bytes go to the target in the pieces the reads gave
    const reader = new SingletonMessageReader(
      (bytes) => this.#fromWs(ws, bytes),
      () => this.#finFromWs(ws),
    );
    readAsArriving(ws, this.#opts.maxFrameBytes, reader, {
      begin: () => {
        onRead?.();
        this.#batch.begin();
      },
      end: this.#batch.end,
    });
    ws.on('close', (code: number) => this.#wsClosed(ws, code));
    ws.on('error', (err) => this.#opts.logger.debug({ err: err.message }, 'tcp session websocket error'));
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    for (const item of pending) this.#toWs(item);
    this.#targetGate.release('detached');
    if (this.#targetClosed) this.#finishAttached();
  }

  /** Server shutdown: close everything now. */
  destroy(): void {
    this.#ws?.close(1001, 'server shutting down');
    this.#target.destroy();
    this.#end();
  }

  #fromTarget(chunk: Buffer): void {
    this.#opts.count('out', chunk.length);
    if (this.#ws) {
      this.#toWs(chunk);
      return;
    }
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes >= this.#opts.detachedBufferBytes) this.#targetGate.hold('detached');
  }

  #toWs(item: Pending): void {
    const ws = this.#ws;
    if (!ws) return;
    if (item === FIN) {
      if (this.#extensions) ws.send(Buffer.alloc(0));
      return;
    }
    sendWithBackpressure(ws, item, this.#targetGate, this.#opts.highWaterBytes, this.#opts.lowWaterBytes);
  }

  #targetEnded(): void {
    // Without burrow's extension the client cannot carry a half-close: finish our side too.
    if (!this.#extensions) {
      this.#target.end();
      return;
    }
    if (this.#ws) this.#toWs(FIN);
    else this.#pending.push(FIN);
  }

  #targetGone(): void {
    this.#targetClosed = true;
    if (this.#ended) return;
    if (this.#ws) this.#finishAttached();
    else if (this.#pending.length === 0) this.#end();
    // else: keep the session until the client resumes and takes the rest (or the grace ends).
  }

  /** The target is gone and everything it sent is queued on the WebSocket: close it and end. */
  #finishAttached(): void {
    const ws = this.#ws;
    this.#ws = undefined;
    ws?.close(this.#extensions ? WS_CLOSE_SESSION_ENDED : WS_CLOSE_NORMAL, 'target closed');
    this.#end();
  }

  #fromWs(ws: WebSocket, data: Buffer): void {
    if (ws !== this.#ws || this.#targetClosed) return;
    this.#opts.count('in', data.length);
    this.#batch.touch(this.#target);
    writeWithBackpressure(this.#target, data, this.#wsGate, 'target');
  }

  /** An empty message: burrow's half-close (FIN) when the extensions are agreed, else nothing. */
  #finFromWs(ws: WebSocket): void {
    if (ws !== this.#ws || this.#targetClosed) return;
    if (this.#extensions) this.#target.end();
  }

  #wsClosed(ws: WebSocket, code: number): void {
    if (ws !== this.#ws) return;
    this.#ws = undefined;
    this.#wsGate = undefined;
    this.#targetGate.release('ws');
    if (this.#ended) return;
    if (code === WS_CLOSE_NORMAL) {
      this.#opts.logger.debug({ session: this.key }, 'tcp session closed by client');
      this.#end();
      return;
    }
    this.#opts.logger.debug({ code }, 'tcp session detached');
    this.#startGrace();
  }

  #startGrace(): void {
    this.#clearGrace();
    this.#graceTimer = setTimeout(() => {
      this.#opts.logger.debug('tcp session detached grace expired');
      this.#target.destroy();
      this.#end();
    }, this.#opts.detachedGraceMs);
    this.#graceTimer.unref();
  }

  #clearGrace(): void {
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#clearGrace();
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#targetGate.release('detached');
    if (!this.#targetClosed && !this.#target.destroyed) {
      // Graceful: what the client sent is written, then FIN; destroyed if it lingers.
      endThenDestroy(this.#target, this.#opts.targetEndGraceMs, TCP_TARGET_FLUSH_TIMEOUT_MS);
    }
    this.#opts.onEnd(this);
  }
}
