/**
 * A transfer's rate and ETA as a person wants to read them: the clock starts at the first byte
 * (waiting time is not transfer time), the rate and the ETA come from a moving window of recent
 * samples, and the end is one summary line. Pure: the clock is injected; nothing is printed here.
 */
import { METER_SAMPLE_MS, METER_WINDOW_MS } from './limits.js';
import { formatBytes, formatDuration, formatProgress } from './progress-format.js';

interface Sample {
  t: number;
  bytes: number;
}

export class RateMeter {
  readonly #now: () => number;
  readonly #windowMs: number;
  #startedAt: number | undefined;
  #endedAt: number | undefined;
  #samples: Sample[] = [];
  bytes = 0;

  constructor(now: () => number = Date.now, windowMs = METER_WINDOW_MS) {
    this.#now = now;
    this.#windowMs = windowMs;
  }

  /** True once the clock runs (first byte, or begin()). */
  get started(): boolean {
    return this.#startedAt !== undefined;
  }

  /** Starts the clock now if it is not running (a sender calls this when the server starts streaming). */
  begin(): void {
    if (this.#startedAt !== undefined) return;
    const t = this.#now();
    this.#startedAt = t;
    this.#samples.push({ t, bytes: this.bytes });
  }

  /** Counts n bytes; the first counted byte starts the clock unless `waitForBegin`. */
  add(n: number, waitForBegin = false): void {
    this.bytes += n;
    if (this.#startedAt === undefined) {
      if (waitForBegin) return;
      this.begin();
      return;
    }
    const t = this.#now();
    const last = this.#samples[this.#samples.length - 1];
    if (last && t - last.t < METER_SAMPLE_MS) last.bytes = this.bytes;
    else this.#samples.push({ t, bytes: this.bytes });
    const from = t - this.#windowMs;
    // keep one sample at or before the window's start, so the window always spans it
    while (this.#samples.length > 2 && this.#samples[1]!.t <= from) this.#samples.shift();
  }

  /** Stops the clock (the summary's duration ends here). */
  end(): void {
    if (this.#endedAt === undefined) this.#endedAt = this.#now();
  }

  /** Milliseconds since the first byte (0 before it). */
  get elapsedMs(): number {
    if (this.#startedAt === undefined) return 0;
    return (this.#endedAt ?? this.#now()) - this.#startedAt;
  }

  /** Bytes per second over the moving window (since the first byte while the window is not full). */
  get rate(): number {
    const first = this.#samples[0];
    if (!first) return 0;
    const now = this.#endedAt ?? this.#now();
    const span = now - first.t;
    return span > 0 ? ((this.bytes - first.bytes) * 1000) / span : 0;
  }

  /** Seconds left at the windowed rate, or undefined without a total or a rate. */
  eta(total: number | undefined): number | undefined {
    const r = this.rate;
    if (total === undefined || r <= 0) return undefined;
    return Math.max(0, (total - this.bytes) / r);
  }

  /** `sent 200.0 MiB in 6.1 s (32.8 MiB/s)`: the average from the first byte to the end. */
  summary(verb: string): string {
    const ms = this.elapsedMs;
    const secs = ms / 1000;
    const avg = ms > 0 ? (this.bytes * 1000) / ms : 0;
    const took = secs < 60 ? `${secs.toFixed(1)} s` : formatDuration(secs);
    return `${verb} ${formatBytes(this.bytes)} in ${took} (${formatBytes(Math.round(avg))}/s)`;
  }
}

/** One terminal line for a running transfer: `sent [####----]  45%  12.3 MiB / 27.0 MiB  5.1 MiB/s  ETA 3s`. */
export function meterLine(label: string, m: RateMeter, total: number | undefined, columns = 80): string {
  return formatProgress({
    label,
    bytes: m.bytes,
    total,
    elapsedMs: m.elapsedMs,
    columns,
    rate: m.rate,
    eta: m.eta(total),
  });
}
