import { BurrowError } from '../core/errors.js';
import { MAX_RATE_PER_SECOND } from './limits.js';

export interface Rate {
  /** Requests allowed per period (also the burst size). */
  readonly count: number;
  readonly periodMs: number;
  /** The text it was parsed from, normalised (`100/s`). */
  readonly text: string;
}

const PERIODS: Readonly<Record<string, { ms: number; unit: string }>> = {
  s: { ms: 1_000, unit: 's' },
  sec: { ms: 1_000, unit: 's' },
  second: { ms: 1_000, unit: 's' },
  m: { ms: 60_000, unit: 'm' },
  min: { ms: 60_000, unit: 'm' },
  minute: { ms: 60_000, unit: 'm' },
  h: { ms: 3_600_000, unit: 'h' },
  hour: { ms: 3_600_000, unit: 'h' },
};

/** Parse `100/s`, `20/m`, `1000/h` (also `/sec`, `/min`, `/hour`). Throws BURROW_ERR_INVALID_ACCESS_RULE. */
export function parseRate(text: string): Rate {
  const match = /^\s*(\d{1,9})\s*\/\s*([a-z]+)\s*$/i.exec(text);
  const period = match?.[2] !== undefined ? PERIODS[match[2].toLowerCase()] : undefined;
  const count = match ? Number(match[1]) : 0;
  if (!match || !period || count < 1 || (count * 1000) / period.ms > MAX_RATE_PER_SECOND) {
    throw new BurrowError(
      'BURROW_ERR_INVALID_ACCESS_RULE',
      `--rate-limit "${text.slice(0, 40)}" must look like 100/s, 20/m or 1000/h (1 to ${MAX_RATE_PER_SECOND}/s)`,
    );
  }
  return { count, periodMs: period.ms, text: `${count}/${period.unit}` };
}

/**
 * A token bucket: holds up to `count` tokens, refilled continuously at count per period.
 * take() spends one token or says how many seconds until one is available.
 */
export class TokenBucket {
  readonly rate: Rate;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  constructor(rate: Rate, now: () => number = Date.now) {
    this.rate = rate;
    this.#now = now;
    this.#tokens = rate.count;
    this.#last = now();
  }

  /** 0 when a request may pass (and one token was spent), else whole seconds to wait (≥ 1). */
  take(): number {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens = Math.min(this.rate.count, this.#tokens + (elapsed * this.rate.count) / this.rate.periodMs);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    const msPerToken = this.rate.periodMs / this.rate.count;
    return Math.max(1, Math.ceil(Math.round((1 - this.#tokens) * msPerToken) / 1000));
  }
}
