import { isIPv6 } from 'node:net';
import { BurrowError } from '../core/errors.js';
import {
  FAILED_AUTH_IPV6_PREFIX,
  FAILED_AUTH_MAX_ATTEMPTS,
  FAILED_AUTH_MAX_TRACKED,
  FAILED_AUTH_WINDOW_MS,
} from './limits.js';

/** BURROW_ERR_RATE_LIMITED with the number of seconds to wait (send it as Retry-After). */
export class RateLimitedError extends BurrowError {
  readonly retryAfter: number;
  constructor(retryAfterSeconds: number, detail?: string) {
    super('BURROW_ERR_RATE_LIMITED', detail ?? `try again in ${retryAfterSeconds} s`);
    this.retryAfter = retryAfterSeconds;
  }
}

export interface FailedAuthLimiterOptions {
  maxAttempts?: number;
  windowMs?: number;
  maxTracked?: number;
  /** Clock in ms (tests pass a fake one). */
  now?: () => number;
}

/**
 * Counts failed authentications per client address in a sliding window. After `maxAttempts`
 * failures the address is refused (even with a right secret) until the oldest failure leaves the
 * window. IPv6 addresses count per /64; IPv4-mapped IPv6 counts as the IPv4 address.
 * Memory is bounded: at most `maxTracked` addresses, the least recently failing forgotten first.
 */
export class FailedAuthLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #maxTracked: number;
  readonly #now: () => number;
  /** key → failure times (ms), oldest first; Map order = least recently failing first. */
  readonly #failures = new Map<string, number[]>();

  constructor(options: FailedAuthLimiterOptions = {}) {
    this.#max = options.maxAttempts ?? FAILED_AUTH_MAX_ATTEMPTS;
    this.#windowMs = options.windowMs ?? FAILED_AUTH_WINDOW_MS;
    this.#maxTracked = options.maxTracked ?? FAILED_AUTH_MAX_TRACKED;
    this.#now = options.now ?? Date.now;
  }

  /** Seconds until `address` may try again, or 0 when it may try now. */
  retryAfter(address: string): number {
    const times = this.#current(clientKey(address));
    if (times.length < this.#max) return 0;
    const oldest = times[times.length - this.#max] ?? this.#now();
    return Math.max(1, Math.ceil((oldest + this.#windowMs - this.#now()) / 1000));
  }

  /** Throws RateLimitedError when `address` has failed too often. Call before checking a secret. */
  check(address: string): void {
    const wait = this.retryAfter(address);
    if (wait > 0) throw new RateLimitedError(wait, `too many failed authentication attempts; try again in ${wait} s`);
  }

  /** Record one failed attempt. */
  fail(address: string): void {
    const key = clientKey(address);
    const times = this.#current(key);
    times.push(this.#now());
    if (times.length > this.#max) times.splice(0, times.length - this.#max);
    this.#failures.delete(key);
    this.#failures.set(key, times);
    while (this.#failures.size > this.#maxTracked) {
      const first = this.#failures.keys().next();
      if (first.done) break;
      this.#failures.delete(first.value);
    }
  }

  /** Forget the failures of `address` (e.g. after a success). */
  reset(address: string): void {
    this.#failures.delete(clientKey(address));
  }

  get trackedAddresses(): number {
    return this.#failures.size;
  }

  #current(key: string): number[] {
    const times = this.#failures.get(key);
    if (!times) return [];
    const cutoff = this.#now() - this.#windowMs;
    while (times.length > 0 && (times[0] ?? 0) <= cutoff) times.shift();
    if (times.length === 0) this.#failures.delete(key);
    return times;
  }
}

/** The key a client address is counted under: IPv4 as is, IPv6 per /FAILED_AUTH_IPV6_PREFIX. */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!isIPv6(address)) return address;
  const groups = expandIPv6(address);
  return `${groups.slice(0, FAILED_AUTH_IPV6_PREFIX / 16).join(':')}::/${FAILED_AUTH_IPV6_PREFIX}`;
}

/** Eight 4-digit hex groups of a valid IPv6 address (zone id dropped). */
export function expandIPv6(address: string): string[] {
  let addr = address.split('%')[0] ?? '';
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(addr);
  if (v4) {
    const [a, b, c, d] = [1, 2, 3, 4].map((i) => Number(v4[i]));
    addr = `${addr.slice(0, v4.index)}${(((a ?? 0) << 8) | (b ?? 0)).toString(16)}:${(((c ?? 0) << 8) | (d ?? 0)).toString(16)}`;
  }
  const [head = '', tail] = addr.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => g.toLowerCase().padStart(4, '0'));
}
