/**
 * Liveness, written once for every long-lived peer connection (the mux session's PINGs, tcp-ws
 * and tiflis WebSocket pings, tunely's ping messages): every `intervalMs` each watched peer is
 * either declared dead — not heard from for `silenceMs` or more — or pinged (so a healthy idle
 * peer answers). The clock and the interval timer are injectable, so tests need no sleeps.
 */

/** The interval timer the watcher uses; the default is the global setInterval, unref'd. */
export interface LivenessTimer {
  start(tick: () => void, intervalMs: number): unknown;
  stop(handle: unknown): void;
}

export interface LivenessOptions<T> {
  intervalMs: number;
  silenceMs: number;
  /** Called for a peer silent for `silenceMs` or more (the watcher has already forgotten it). */
  onSilent: (peer: T, silentMs: number) => void;
  /** Called for each live peer on every tick (e.g. send a ping). */
  onTick?: ((peer: T) => void) | undefined;
  /** Extra work after every tick (e.g. expire Watch clients). */
  onSweep?: (() => void) | undefined;
  /** Milliseconds now (default Date.now, looked up at each call so fake clocks apply). */
  now?: (() => number) | undefined;
  timer?: LivenessTimer | undefined;
}

const GLOBAL_TIMER: LivenessTimer = {
  start(tick, intervalMs) {
    const t = setInterval(tick, intervalMs);
    t.unref();
    return t;
  },
  stop(handle) {
    clearInterval(handle as NodeJS.Timeout);
  },
};

export class LivenessWatcher<T> {
  readonly #lastSeen = new Map<T, number>();
  readonly #o: LivenessOptions<T>;
  readonly #now: () => number;
  readonly #timer: LivenessTimer;
  #handle: unknown;
  #running = false;

  constructor(options: LivenessOptions<T>) {
    this.#o = options;
    this.#now = options.now ?? (() => Date.now());
    this.#timer = options.timer ?? GLOBAL_TIMER;
  }

  /** Start ticking (again a no-op while running). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#handle = this.#timer.start(() => this.tick(), this.#o.intervalMs);
  }

  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#timer.stop(this.#handle);
    this.#handle = undefined;
  }

  /** Start watching a peer, or record that it was just heard from. */
  seen(peer: T): void {
    this.#lastSeen.set(peer, this.#now());
  }

  remove(peer: T): void {
    this.#lastSeen.delete(peer);
  }

  /** One check (the timer calls this; tests with fake clocks may call it directly). */
  tick(): void {
    const now = this.#now();
    for (const [peer, at] of [...this.#lastSeen]) {
      if (now - at >= this.#o.silenceMs) {
        this.#lastSeen.delete(peer);
        this.#o.onSilent(peer, now - at);
      } else {
        this.#o.onTick?.(peer);
      }
    }
    this.#o.onSweep?.();
  }
}
