import type { Duplex, Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { LivenessWatcher } from '../../core/liveness.js';
import type { ReleasingWritable } from '../../core/pooled-reads.js';
import { takeOverBinary, wsSocket } from '../../core/ws-link.js';
import { TCP_WRITE_HIGH_WATER_BYTES } from './limits.js';
import { toBuffer } from './wire.js';

/** Something that can be paused and resumed: a socket, a stream, a WebSocket. */
export interface Pausable {
  pause(): unknown;
  resume(): unknown;
}

/**
 * Pauses a stream while at least one reason holds it, resumes it when the last reason is released.
 * Lets independent causes (WebSocket backlog, detached-buffer cap, a slow target) share one stream.
 */
export class FlowGate {
  readonly #stream: Pausable;
  readonly #reasons = new Set<string>();

  constructor(stream: Pausable) {
    this.#stream = stream;
  }

  get held(): boolean {
    return this.#reasons.size > 0;
  }

  has(reason: string): boolean {
    return this.#reasons.has(reason);
  }

  hold(reason: string): void {
    if (this.#reasons.has(reason)) return;
    if (this.#reasons.size === 0) this.#stream.pause();
    this.#reasons.add(reason);
  }

  release(reason: string): void {
    if (!this.#reasons.delete(reason)) return;
    if (this.#reasons.size === 0) this.#stream.resume();
  }
}

/**
 * Write to a socket; once more than TCP_WRITE_HIGH_WATER_BYTES wait in it, hold `gate` (the
 * source feeding it) under `reason` until it drains or closes. (Holding on every `false` from
 * write() would pause the WebSocket after each message with the 16 KiB default high-water mark.)
 * Listeners are added once per stall, not per write.
 */
export function writeWithBackpressure(stream: Duplex, data: Buffer, gate: FlowGate | undefined, reason: string): void {
  if (write(stream, data) || stream.writableLength < TCP_WRITE_HIGH_WATER_BYTES || !gate || gate.has(reason)) return;
  gate.hold(reason);
  const release = (): void => {
    stream.removeListener('drain', release);
    stream.removeListener('close', release);
    gate.release(reason);
  };
  stream.once('drain', release);
  stream.once('close', release);
}

/**
 * `stream.write(data)`; to a stream that can keep a chunk by reference and say when it is done with
 * it (a mux stream's writeReleasing), without asking it to hold the write until then: `data` is a
 * view of a WebSocket read (a fresh buffer, never read into again), so only the pace matters.
 */
function write(stream: Duplex, data: Buffer): boolean {
  const releasing = stream as Duplex & Partial<ReleasingWritable>;
  return typeof releasing.writeReleasing === 'function' ? releasing.writeReleasing(data, noop) : stream.write(data);
}

function noop(): void {}

/**
 * Send on a WebSocket, holding `gate` (reason "ws") while the WebSocket's queue is above
 * `highWater` and releasing it once a send completes with the queue below `lowWater`. `written`,
 * if given, is called once ws is done with `data` (written to the socket, or dropped).
 */
export function sendWithBackpressure(
  ws: WebSocket,
  data: Buffer,
  gate: FlowGate,
  highWater: number,
  lowWater: number,
  written?: () => void,
): void {
  ws.send(data, () => {
    written?.();
    if (ws.bufferedAmount < lowWater) gate.release('ws');
  });
  if (ws.bufferedAmount >= highWater) gate.hold('ws');
}

/**
 * The send side of one WebSocket shared by many sources (multiplexed mode): a source's gate is held
 * (reason "ws") once the WebSocket's queue reaches `highWater` after one of its sends, and every held
 * gate is released as soon as any send completes with the queue below `lowWater`. (Releasing only on
 * a source's own last send, as sendWithBackpressure does, can leave a source paused for good when
 * other sources' messages are still queued behind its last one.)
 */
export class WsSendBacklog {
  readonly #ws: WebSocket;
  readonly #highWater: number;
  readonly #lowWater: number;
  readonly #held = new Set<FlowGate>();

  constructor(ws: WebSocket, highWater: number, lowWater: number) {
    this.#ws = ws;
    this.#highWater = highWater;
    this.#lowWater = lowWater;
  }

  /** Send `data`; `gate` is the source to hold while the queue is high (none for control messages). */
  send(data: Buffer, gate?: FlowGate): void {
    this.#ws.send(data, this.#sent);
    this.#check(gate);
  }

  /**
   * Send one message made of `head` then `payload` without joining them: two frames of one message
   * (RFC 6455 fragmentation, which every WebSocket reassembles), corked into one write. `written`,
   * if given, is called once ws is done with `payload` (written to the socket, or dropped).
   */
  sendParts(head: Buffer, payload: Buffer, gate?: FlowGate, written?: () => void): void {
    const raw = wsSocket(this.#ws);
    raw?.cork();
    this.#ws.send(head, { binary: true, fin: false });
    this.#ws.send(
      payload,
      { binary: true, fin: true },
      written
        ? () => {
            written();
            this.#sent();
          }
        : this.#sent,
    );
    raw?.uncork();
    this.#check(gate);
  }

  readonly #sent = (): void => {
    if (this.#held.size === 0 || this.#ws.bufferedAmount >= this.#lowWater) return;
    const held = [...this.#held];
    this.#held.clear();
    for (const g of held) g.release('ws');
  };

  #check(gate: FlowGate | undefined): void {
    if (gate && this.#ws.bufferedAmount >= this.#highWater) {
      gate.hold('ws');
      this.#held.add(gate);
    }
  }

  /** A source is gone: stop tracking its gate. */
  forget(gate: FlowGate | undefined): void {
    if (gate) this.#held.delete(gate);
  }
}

/**
 * Read a WebSocket's messages as they arrive (core/ws-link.ts takeOverBinary): binary message bytes
 * go to `reader.push` as the socket's reads give them (views, not joined), `reader.end()` at each
 * message's end; `read` runs around each socket read. Text messages (no part of the wire) still come
 * whole from ws and are pushed and ended the same way. Call it where the WebSocket has just opened.
 */
export function readAsArriving(
  ws: WebSocket,
  maxFrameBytes: number,
  reader: { push(bytes: Buffer): void; end(): void },
  read: { begin(): void; end(): void },
): void {
  takeOverBinary(ws, maxFrameBytes, reader, read);
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
    reader.push(toBuffer(data));
    reader.end();
  });
}

/**
 * The sockets written while one WebSocket read is dispatched: each is corked at its first write and
 * uncorked when the read ends, so what one read carried for a connection leaves in one write (a
 * message read as it arrives often comes in two pieces: the tail in one read, the rest in the next).
 */
export class ReadBatch {
  #active = false;
  #corked: Writable[] = [];

  readonly begin = (): void => {
    this.#active = true;
  };

  /** Before writing to `stream` (outside a read, nothing happens). */
  touch(stream: Writable): void {
    if (!this.#active || stream.writableCorked > 0) return;
    stream.cork();
    this.#corked.push(stream);
  }

  readonly end = (): void => {
    this.#active = false;
    const corked = this.#corked;
    if (corked.length === 0) return;
    this.#corked = [];
    for (const s of corked) s.uncork();
  };
}

/**
 * Graceful close of a byte stream: end() (pending writes, then FIN); once flushed the peer has
 * graceMs to close, and a peer that does not take the data within flushTimeoutMs is cut.
 */
export function endThenDestroy(stream: Duplex, graceMs: number, flushTimeoutMs: number): void {
  if (stream.destroyed) return;
  const flushTimer = setTimeout(() => stream.destroy(), flushTimeoutMs);
  flushTimer.unref();
  let graceTimer: NodeJS.Timeout | undefined;
  stream.end(() => {
    clearTimeout(flushTimer);
    graceTimer = setTimeout(() => stream.destroy(), graceMs);
    graceTimer.unref();
  });
  stream.once('close', () => {
    clearTimeout(flushTimer);
    if (graceTimer) clearTimeout(graceTimer);
  });
}

/**
 * Liveness (core/liveness.ts): ping every intervalMs; terminate when nothing (message, ping or
 * pong) was received for timeoutMs. Returns stop (also called on close) and seen (count other traffic).
 */
export function watchLiveness(
  ws: WebSocket,
  intervalMs: number,
  timeoutMs: number,
  onDead?: () => void,
): { stop: () => void; seen: () => void } {
  const watcher = new LivenessWatcher<WebSocket>({
    intervalMs,
    silenceMs: timeoutMs,
    onSilent: () => {
      stop();
      onDead?.();
      ws.terminate();
    },
    onTick: () => {
      if (ws.readyState === ws.OPEN) ws.ping();
    },
  });
  const seen = (): void => watcher.seen(ws);
  seen();
  ws.on('pong', seen);
  ws.on('ping', seen);
  ws.on('message', seen);
  watcher.start();
  const stop = (): void => {
    watcher.stop();
    ws.off('pong', seen);
    ws.off('ping', seen);
    ws.off('message', seen);
  };
  ws.once('close', stop);
  // seen(): traffic that does not surface as 'message' (binary read by takeOverBinary) counts too
  return { stop, seen };
}
