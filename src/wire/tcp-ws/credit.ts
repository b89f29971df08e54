/**
 * Per-connection credit for multiplexed mode (burrow extension, docs/tcp.md "Multiplexed flow
 * control"): a sender spends credit per payload byte and waits, with its source paused, when it has
 * none; a receiver credits bytes back once its socket has taken them. Used by the server
 * (mux-session.ts) and by burrow's client (src/client/tcp-ws/multiplexed.ts). No sockets here.
 */
import { SharedRelease } from '../../core/pooled-reads.js';
import type { FlowGate } from './flow.js';

/** A payload waiting for credit (with its buffer's release, if it has one), or a step. */
type Pending = { payload: Buffer; share: SharedRelease | undefined } | (() => void);

/**
 * The send side of one connection id. `push` sends as much of a chunk as the credit allows and keeps
 * the rest (the source is reported stalled, so its owner pauses it: at most one read waits here);
 * `grant` adds credit and sends what waited. `after` runs a step (FIN, close) once everything pushed
 * before it has been sent, so a close never overtakes data. With `Infinity` credit (flow control off)
 * everything goes out at once, exactly as without this class. A chunk pushed with a `release`
 * (a reused read buffer, core/pooled-reads.ts) gets it called once every part of it that `emit`
 * was given is done (emit's `done`), or once it is dropped by clear().
 */
export class CreditSender {
  #credit: number;
  readonly #pending: Pending[] = [];
  #pendingBytes = 0;
  readonly #emit: (payload: Buffer, done?: () => void) => void;
  readonly #onStall: (stalled: boolean) => void;

  constructor(credit: number, emit: (payload: Buffer, done?: () => void) => void, onStall: (stalled: boolean) => void) {
    this.#credit = credit;
    this.#emit = emit;
    this.#onStall = onStall;
  }

  /** Something waits for credit. */
  get stalled(): boolean {
    return this.#pending.length > 0;
  }

  /** Payload bytes waiting for credit. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  get credit(): number {
    return this.#credit;
  }

  push(payload: Buffer, release?: () => void): void {
    if (payload.length === 0) {
      release?.();
      return;
    }
    const share = release && new SharedRelease(release);
    if (this.#pending.length === 0) {
      const n = Math.min(this.#credit, payload.length);
      if (n > 0) {
        this.#credit -= n;
        this.#emit(n === payload.length ? payload : payload.subarray(0, n), share?.hold());
      }
      if (n === payload.length) {
        share?.drop();
        return;
      }
      this.#pending.push({ payload: payload.subarray(n), share });
      this.#pendingBytes += payload.length - n;
      this.#onStall(true);
      return;
    }
    this.#pending.push({ payload, share });
    this.#pendingBytes += payload.length;
  }

  /** Run `step` once everything pushed so far has been sent (at once when nothing waits). */
  after(step: () => void): void {
    if (this.#pending.length === 0) step();
    else this.#pending.push(step);
  }

  grant(increment: number): void {
    this.#credit += increment;
    if (this.#pending.length === 0) return;
    while (this.#pending.length > 0) {
      const item = this.#pending[0]!;
      if (typeof item === 'function') {
        this.#pending.shift();
        item();
        continue;
      }
      if (this.#credit <= 0) break;
      const { payload, share } = item;
      const n = Math.min(this.#credit, payload.length);
      this.#credit -= n;
      this.#pendingBytes -= n;
      if (n === payload.length) this.#pending.shift();
      else item.payload = payload.subarray(n);
      this.#emit(n === payload.length ? payload : payload.subarray(0, n), share?.hold());
      if (n === payload.length) share?.drop();
    }
    if (this.#pending.length === 0) this.#onStall(false);
  }

  /** The peer is gone: drop what waits (steps included). */
  clear(): void {
    const was = this.#pending.length > 0;
    for (const item of this.#pending) if (typeof item !== 'function') item.share?.drop();
    this.#pending.length = 0;
    this.#pendingBytes = 0;
    if (was) this.#onStall(false);
  }
}

/**
 * The receive side of one connection id. `receive` counts bytes that arrived (false: the peer sent
 * more than the window allows); `consumed` counts bytes the socket has taken, and credits them back
 * with `grant` once at least a quarter of the window has accumulated (burrow's agent protocol uses the
 * same rule), so a reader that stops taking bytes stops the sender within one window.
 */
export class CreditReceiver {
  readonly window: number;
  readonly #threshold: number;
  readonly #grant: (increment: number) => void;
  /** Received and not yet credited back. */
  #outstanding = 0;
  /** Consumed and not yet credited back. */
  #unreported = 0;

  constructor(window: number, grant: (increment: number) => void) {
    this.window = window;
    this.#threshold = Math.max(1, Math.floor(window / 4));
    this.#grant = grant;
  }

  receive(bytes: number): boolean {
    this.#outstanding += bytes;
    return this.#outstanding <= this.window;
  }

  consumed(bytes: number): void {
    this.#unreported += bytes;
    if (this.#unreported < this.#threshold) return;
    const increment = Math.min(this.#unreported, this.#outstanding);
    this.#unreported = 0;
    if (increment <= 0) return;
    this.#outstanding -= increment;
    this.#grant(increment);
  }
}

/**
 * Bytes received on one WebSocket and not yet taken by their sockets, over all its connections. At
 * `limit` the WebSocket's gate is held (reason "buffered"); below half of it, released.
 */
export class BufferBudget {
  readonly limit: number;
  readonly #gate: FlowGate;
  #bytes = 0;

  constructor(limit: number, gate: FlowGate) {
    this.limit = limit;
    this.#gate = gate;
  }

  get bytes(): number {
    return this.#bytes;
  }

  add(bytes: number): void {
    this.#bytes += bytes;
    if (this.#bytes >= this.limit) this.#gate.hold('buffered');
  }

  sub(bytes: number): void {
    this.#bytes -= bytes;
    if (this.#bytes < this.limit / 2) this.#gate.release('buffered');
  }
}
