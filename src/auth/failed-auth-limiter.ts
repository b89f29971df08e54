import { clientKey, expandIPv6 } from '../core/client-key.js';
import { RateLimitedError } from '../core/errors.js';
import { AUTH_SURFACES, type AuthSurface, type FailedAuthGate } from '../core/failed-auth-gate.js';
import { SlidingWindowCounter } from '../core/sliding-window.js';
import { FAILED_AUTH_MAX_ATTEMPTS, FAILED_AUTH_MAX_TRACKED, FAILED_AUTH_WINDOW_MS } from './limits.js';

export { RateLimitedError, clientKey, expandIPv6, AUTH_SURFACES, type AuthSurface, type FailedAuthGate };

export interface FailedAuthLimiterOptions {
  maxAttempts?: number;
  windowMs?: number;
  /** (surface, address) buckets tracked at once. */
  maxTracked?: number;
  /** Clock in ms (tests pass a fake one). */
  now?: () => number;
  /** Told once when a bucket becomes locked (for a log line); not again until it was free. */
  onLockout?: (info: { surface: AuthSurface; client: string; retryAfter: number }) => void;
}

/**
 * Counts failed authentications per surface and client address in a sliding window. After
 * `maxAttempts` failures on one surface the address is refused there (even with a right secret)
 * until the oldest failure leaves the window; its other surfaces are not affected, so a bad actor
 * guessing agent tokens behind a shared NAT does not lock that NAT out of the admin API.
 * IPv6 addresses count per /64; IPv4-mapped IPv6 counts as the IPv4 address.
 * Memory is bounded: at most `maxTracked` buckets, the least recently failing forgotten first.
 */
export class FailedAuthLimiter {
  readonly #window: SlidingWindowCounter;
  readonly #onLockout: FailedAuthLimiterOptions['onLockout'];
  readonly #gates = new Map<AuthSurface, FailedAuthGate>();

  constructor(options: FailedAuthLimiterOptions = {}) {
    this.#window = new SlidingWindowCounter({
      max: options.maxAttempts ?? FAILED_AUTH_MAX_ATTEMPTS,
      windowMs: options.windowMs ?? FAILED_AUTH_WINDOW_MS,
      maxKeys: options.maxTracked ?? FAILED_AUTH_MAX_TRACKED,
      ...(options.now ? { now: options.now } : {}),
    });
    this.#onLockout = options.onLockout;
  }

  /** Seconds until `address` may try again on `surface`, or 0 when it may try now. */
  retryAfter(address: string, surface: AuthSurface): number {
    return this.#window.retryAfter(bucket(address, surface));
  }

  /** Throws RateLimitedError when `address` has failed too often on `surface`. Call before checking a secret. */
  check(address: string, surface: AuthSurface): void {
    const wait = this.retryAfter(address, surface);
    if (wait > 0) throw new RateLimitedError(wait, `too many failed authentication attempts; try again in ${wait} s`);
  }

  /** Record one failed attempt on `surface`. */
  fail(address: string, surface: AuthSurface): void {
    const key = bucket(address, surface);
    const wasFree = this.#window.retryAfter(key) === 0;
    this.#window.record(key);
    if (wasFree && this.#onLockout) {
      const retryAfter = this.#window.retryAfter(key);
      if (retryAfter > 0) this.#onLockout({ surface, client: clientKey(address), retryAfter });
    }
  }

  /** Forget the failures of `address` on `surface` (e.g. after a success). */
  reset(address: string, surface: AuthSurface): void {
    this.#window.forget(bucket(address, surface));
  }

  /** This limiter as one surface sees it (what an edge outside auth/ is given). */
  forSurface(surface: AuthSurface): FailedAuthGate {
    let gate = this.#gates.get(surface);
    if (!gate) {
      gate = {
        retryAfter: (address) => this.retryAfter(address, surface),
        check: (address) => this.check(address, surface),
        fail: (address) => this.fail(address, surface),
      };
      this.#gates.set(surface, gate);
    }
    return gate;
  }

  /** (surface, address) buckets tracked right now. */
  get trackedAddresses(): number {
    return this.#window.size;
  }
}

function bucket(address: string, surface: AuthSurface): string {
  return `${surface} ${clientKey(address)}`;
}
