/**
 * Silence detection: every `intervalMs` the watcher pings each peer (so healthy idle peers
 * answer) and drops those not heard from for `silenceMs`. Timers and clock are injectable.
 */
export interface SilenceWatcherOptions<T> {
  intervalMs: number;
  silenceMs: number;
  /** Called for each peer silent for `silenceMs` (the watcher has already forgotten it). */
  onSilent: (peer: T) => void;
  /** Called for each live peer on every tick (e.g. send a WebSocket ping). */
  onTick?: (peer: T) => void;
  /** Extra work on every tick (e.g. expire Watch clients). */
  onSweep?: () => void;
  now?: () => number;
}

export class SilenceWatcher<T> {
  private readonly lastSeen = new Map<T, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: SilenceWatcherOptions<T>) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Start watching a peer, or record that it was just heard from. */
  seen(peer: T): void {
    this.lastSeen.set(peer, this.now());
  }

  remove(peer: T): void {
    this.lastSeen.delete(peer);
  }

  /** One check (the interval calls this; tests with fake clocks may call it directly). */
  tick(): void {
    const deadline = this.now() - this.options.silenceMs;
    for (const [peer, at] of [...this.lastSeen]) {
      if (at <= deadline) {
        this.lastSeen.delete(peer);
        this.options.onSilent(peer);
      } else {
        this.options.onTick?.(peer);
      }
    }
    this.options.onSweep?.();
  }
}
