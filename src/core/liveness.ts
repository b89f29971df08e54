/**
 * Liveness, written once for every long-lived peer connection (the mux session's PINGs, tcp-ws
 * and tiflis WebSocket pings, tunely's ping messages): every `intervalMs` each watched peer is
 * either declared dead — not heard from for `silenceMs` or more — or pinged (so a healthy idle
 * peer answers). The clock and the interval timer are injectable, so tests need no sleeps.
 *
 * Without an injected timer, the watchers of one interval share one heartbeat wheel per process
 * (issue 19 item 6): HEARTBEAT_WHEEL_SLOTS slots visited in turn, one slot per tick, so each
 * watcher still ticks once per interval but a tick only does the work of the watchers in its slot.
 * A setInterval per watcher did not scale to 10,000 sessions: Node re-arms a repeating timer from
 * the moment its callback ran, so every stalled turn (a GC, a burst) merges the timers that were
 * due in it for good, and the clumps only grow — the server sent hundreds of PINGs in one turn.
 * A wheel's slots stay where they are, whatever the event loop does.
 */

/** The interval timer the watcher uses; the default is the process's heartbeat wheel for the interval. */
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
  /**
   * Call onTick only for peers not heard from for at least this long, in ms (default 0: every live
   * peer on every tick). A side whose peer pings it anyway can set about one interval here and skip
   * its own pings while the peer's keep arriving (half the heartbeat traffic, bench/RESULTS.md).
   */
  quietMs?: number | undefined;
  /** Extra work after every tick (e.g. expire Watch clients). */
  onSweep?: (() => void) | undefined;
  /** Milliseconds now (default Date.now, looked up at each call so fake clocks apply). */
  now?: (() => number) | undefined;
  timer?: LivenessTimer | undefined;
}

/**
 * Slots of a heartbeat wheel: each tick visits the watchers of one slot, about 1/100 of those
 * sharing the interval (10,000 mux sessions at the 10 s default: ~100 PINGs every 100 ms instead of
 * clumps of hundreds at once).
 */
export const HEARTBEAT_WHEEL_SLOTS = 100;

/**
 * The shortest tick of a heartbeat wheel, in ms: an interval shorter than HEARTBEAT_WHEEL_SLOTS ×
 * this gets fewer slots (a 50 ms interval: 5 slots; 10 ms or less: one slot, a plain interval).
 */
export const MIN_HEARTBEAT_WHEEL_TICK_MS = 10;

interface WheelEntry {
  readonly wheel: HeartbeatWheel;
  readonly slot: number;
  readonly tick: () => void;
}

/**
 * One interval's wheel. Tick number j runs slot j % slots at `origin + j × tickMs`; the timer is
 * armed only for the next tick whose slot has watchers (a lone agent wakes once per interval, not
 * every tick), and none while the wheel is empty. Ticks that fall behind (a stalled event loop)
 * are caught up one slot per turn of the event loop; a stall or clock jump of more than a whole
 * interval re-anchors the wheel at now instead.
 */
class HeartbeatWheel {
  readonly intervalMs: number;
  readonly #tickMs: number;
  readonly #slots: Set<WheelEntry>[];
  #size = 0;
  /** Time of tick 0 (Date.now ms). */
  #origin = Date.now();
  /** The last tick run (or the wheel's start), and the tick the timer is armed for. */
  #ran = 0;
  #armed: number | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
    const slots = Math.max(1, Math.min(HEARTBEAT_WHEEL_SLOTS, Math.floor(intervalMs / MIN_HEARTBEAT_WHEEL_TICK_MS)));
    this.#tickMs = intervalMs / slots;
    this.#slots = Array.from({ length: slots }, () => new Set<WheelEntry>());
  }

  get empty(): boolean {
    return this.#size === 0;
  }

  /** Add a watcher's tick to the least-loaded slot (of equals, the one due last: its first tick comes late). */
  add(tick: () => void): WheelEntry {
    const n = this.#slots.length;
    const last = this.#ran % n;
    let slot = last;
    for (let i = 1; i < n; i++) {
      const s = (last - i + n) % n;
      if (this.#slots[s]!.size < this.#slots[slot]!.size) slot = s;
    }
    const entry: WheelEntry = { wheel: this, slot, tick };
    this.#slots[slot]!.add(entry);
    this.#size++;
    const next = this.#ran + ((slot - last + n) % n || n);
    if (this.#armed === undefined || next < this.#armed) this.#arm(next);
    return entry;
  }

  remove(entry: WheelEntry): void {
    if (!this.#slots[entry.slot]!.delete(entry)) return;
    if (--this.#size > 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armed = undefined;
  }

  #arm(tick: number): void {
    clearTimeout(this.#timer);
    const now = Date.now();
    let at = this.#origin + tick * this.#tickMs;
    if (now - at > this.intervalMs || at - now > this.intervalMs) {
      // stalled (or the clock jumped) by more than an interval: count from now, no catching up
      this.#origin = now - (tick - 1) * this.#tickMs;
      at = now + this.#tickMs;
    }
    this.#armed = tick;
    this.#timer = setTimeout(this.#run, Math.max(0, at - now));
    this.#timer.unref();
  }

  readonly #run = (): void => {
    const tick = this.#armed!;
    this.#timer = undefined;
    this.#armed = undefined;
    this.#ran = tick;
    const n = this.#slots.length;
    const slot = this.#slots[tick % n]!;
    const entries = [...slot];
    // arm the next tick with watchers first: a tick that throws leaves the wheel turning
    for (let k = 1; k <= n; k++) {
      if (this.#slots[(tick + k) % n]!.size > 0) {
        this.#arm(tick + k);
        break;
      }
    }
    for (const e of entries) if (slot.has(e)) e.tick();
  };
}

/** The process's wheels, one per interval, each dropped when its last watcher stops. */
const WHEELS = new Map<number, HeartbeatWheel>();

const WHEEL_TIMER: LivenessTimer = {
  start(tick, intervalMs) {
    let wheel = WHEELS.get(intervalMs);
    if (!wheel) WHEELS.set(intervalMs, (wheel = new HeartbeatWheel(intervalMs)));
    return wheel.add(tick);
  },
  stop(handle) {
    const { wheel } = handle as WheelEntry;
    wheel.remove(handle as WheelEntry);
    if (wheel.empty && WHEELS.get(wheel.intervalMs) === wheel) WHEELS.delete(wheel.intervalMs);
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
    this.#timer = options.timer ?? WHEEL_TIMER;
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
      } else if (now - at >= (this.#o.quietMs ?? 0)) {
        this.#o.onTick?.(peer);
      }
    }
    this.#o.onSweep?.();
  }
}
