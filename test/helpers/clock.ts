import type { PipeClock } from '../../src/app/pipe.js';

/**
 * One manual clock for every test that would otherwise sleep: `now` for code that takes a clock
 * function (tokens, limiters), `setTimeout`/`clearTimeout` for code that takes timers (PipeClock).
 * Time moves only when the test calls advance(); due timers fire in order. Its members are arrow
 * functions, so `clock.now` can be passed on alone.
 */
export class FakeClock implements PipeClock {
  #t: number;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_800_000_000_000) {
    this.#t = start;
  }

  readonly now = (): number => this.#t;

  readonly setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#t + ms, fn });
    return id;
  };

  readonly clearTimeout = (handle: unknown): void => {
    if (typeof handle === 'number') this.#timers.delete(handle);
  };

  /** Timers not yet fired. */
  get pending(): number {
    return this.#timers.size;
  }

  readonly advance = (ms: number): void => {
    const end = this.#t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.#timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#t = Math.max(this.#t, next[1].at);
      next[1].fn();
    }
    this.#t = end;
  };
}
