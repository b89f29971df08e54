/**
 * A Watch (HTTP polling) device: a relay Peer whose messages wait in a bounded, expiring queue
 * until the watch polls `/api/v1/watch/messages`.
 */
import type { Peer } from './relay.js';
import { TIFLIS_WATCH_MESSAGE_TTL_MS, TIFLIS_WATCH_QUEUE_MAX } from './limits.js';

export interface QueuedMessage {
  sequence: number;
  timestamp: number;
  data: string;
}

export class WatchClient implements Peer {
  readonly transport = 'watch' as const;
  #queue: QueuedMessage[] = [];
  #sequence = 0;
  readonly #now: () => number;
  readonly #onClose: (client: WatchClient) => void;
  readonly #maxQueue: number;
  readonly #ttlMs: number;
  lastPollAt: number;
  /** Set when the relay replaced or dropped this client. */
  closed = false;

  constructor(
    readonly deviceId: string,
    readonly tunnelId: string,
    now: () => number,
    onClose: (client: WatchClient) => void,
    maxQueue = TIFLIS_WATCH_QUEUE_MAX,
    ttlMs = TIFLIS_WATCH_MESSAGE_TTL_MS,
  ) {
    this.#now = now;
    this.#onClose = onClose;
    this.#maxQueue = maxQueue;
    this.#ttlMs = ttlMs;
    this.lastPollAt = now();
  }

  send(text: string): void {
    if (this.closed) return;
    this.#queue.push({ sequence: ++this.#sequence, timestamp: this.#now(), data: text });
    if (this.#queue.length > this.#maxQueue) this.#queue.splice(0, this.#queue.length - this.#maxQueue);
  }

  close(_code: number, _reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.#onClose(this);
  }

  recordPoll(): void {
    this.lastPollAt = this.#now();
  }

  get currentSequence(): number {
    return this.#sequence;
  }

  get queueSize(): number {
    this.#expire();
    return this.#queue.length;
  }

  /** Drops messages up to and including `sequence`. */
  acknowledge(sequence: number): void {
    this.#queue = this.#queue.filter((m) => m.sequence > sequence);
  }

  /** Messages after `sequence` (0: everything still queued). */
  since(sequence: number): QueuedMessage[] {
    this.#expire();
    return this.#queue.filter((m) => m.sequence > sequence);
  }

  #expire(): void {
    const cutoff = this.#now() - this.#ttlMs;
    if (this.#queue.length > 0 && (this.#queue[0]?.timestamp ?? cutoff) <= cutoff) {
      this.#queue = this.#queue.filter((m) => m.timestamp > cutoff);
    }
  }
}
