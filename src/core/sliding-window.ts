/**
 * A per-key sliding-window counter: at most `max` events per key within `windowMs`. An event may
 * be *held*: it then keeps counting after its window until it is released (a resource that is
 * still in use, e.g. an unclaimed localtunnel pool port). Memory is bounded: at most `maxKeys`
 * keys, the least recently active forgotten first; at most `max` events per key.
 */

export interface SlidingWindowOptions {
  /** Events allowed per key within the window. */
  max: number;
  windowMs: number;
  /** Keys tracked at once (least recently active forgotten first). */
  maxKeys: number;
  /** Clock in ms (tests pass a fake one). */
  now?: () => number;
}

/** One counted event. */
export interface WindowEvent {
  /** Stop holding it: it counts until its window ends (at once when that has passed). */
  release(): void;
  /** Forget it at once (nothing happened after all: a refund). */
  cancel(): void;
}

interface Slot {
  at: number;
  held: boolean;
}

export class SlidingWindowCounter {
  readonly max: number;
  readonly windowMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  /** key → events, oldest first; Map order = least recently active first. */
  readonly #slots = new Map<string, Slot[]>();

  constructor(options: SlidingWindowOptions) {
    this.max = options.max;
    this.windowMs = options.windowMs;
    this.#maxKeys = options.maxKeys;
    this.#now = options.now ?? Date.now;
  }

  /** Events counted for `key` right now. */
  count(key: string): number {
    return this.#current(key).length;
  }

  /**
   * Whole seconds (≥ 1) until `key` is below `max` again, or 0 when it is below now. While held
   * events alone keep it at `max`, the answer is the window's length (when they end is unknown).
   */
  retryAfter(key: string): number {
    const slots = this.#current(key);
    if (slots.length < this.max) return 0;
    const mustEnd = slots.length - this.max + 1;
    const ending = slots.filter((s) => !s.held);
    const last = ending[mustEnd - 1];
    const waitMs = last === undefined ? this.windowMs : last.at + this.windowMs - this.#now();
    return Math.max(1, Math.ceil(waitMs / 1000));
  }

  /** Count one event for `key` (held: it counts until released, however long that takes). */
  record(key: string, options: { held?: boolean } = {}): WindowEvent {
    const slots = this.#current(key);
    const slot: Slot = { at: this.#now(), held: options.held === true };
    slots.push(slot);
    if (slots.length > this.max) slots.splice(0, slots.length - this.max);
    this.#slots.delete(key);
    this.#slots.set(key, slots);
    while (this.#slots.size > this.#maxKeys) {
      const first = this.#slots.keys().next();
      if (first.done) break;
      this.#slots.delete(first.value);
    }
    return {
      release: () => {
        slot.held = false;
      },
      cancel: () => {
        const list = this.#slots.get(key);
        const i = list ? list.indexOf(slot) : -1;
        if (list && i !== -1) {
          list.splice(i, 1);
          if (list.length === 0) this.#slots.delete(key);
        }
      },
    };
  }

  /** Forget every event of `key`. */
  forget(key: string): void {
    this.#slots.delete(key);
  }

  /** Keys tracked right now. */
  get size(): number {
    return this.#slots.size;
  }

  #current(key: string): Slot[] {
    const slots = this.#slots.get(key);
    if (!slots) return [];
    const cutoff = this.#now() - this.windowMs;
    let kept = 0;
    for (const s of slots) if (s.held || s.at > cutoff) slots[kept++] = s;
    slots.length = kept;
    if (kept === 0) this.#slots.delete(key);
    return slots;
  }
}
