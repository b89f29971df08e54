/**
 * The per-client limit on new tunnels, shared by every edge that creates tunnels (burrow REGISTER,
 * localtunnel handshakes, tunely and tiflis registrations): at most `perMinute` per client
 * address (IPv6: its /64) in a sliding minute. A *held* tunnel (an unclaimed localtunnel pool
 * port) keeps counting until it is released, so one client never holds more than `perMinute`
 * unclaimed ports however long they wait.
 */
import { clientKey } from './client-key.js';
import { RateLimitedError } from './errors.js';
import { DEFAULT_NEW_TUNNELS_PER_MINUTE, NEW_TUNNELS_MAX_TRACKED, NEW_TUNNELS_WINDOW_MS } from './limits.js';
import { SlidingWindowCounter } from './sliding-window.js';

export interface NewTunnelLimiterOptions {
  /** New tunnels per client address per window (default DEFAULT_NEW_TUNNELS_PER_MINUTE). */
  perMinute?: number;
  /** Default NEW_TUNNELS_WINDOW_MS. */
  windowMs?: number;
  /** Client addresses tracked at once (default NEW_TUNNELS_MAX_TRACKED). */
  maxTracked?: number;
  /** Clock in ms (tests pass a fake one). */
  now?: () => number;
  /**
   * Told when a client starts being refused (once, not on every refusal, until it is admitted
   * again): for a log line that an attacker cannot turn into a flood.
   */
  onLimited?: (info: { client: string; edge: string; retryAfter: number }) => void;
}

/** One admitted new tunnel. */
export interface NewTunnelTicket {
  /** The tunnel was not created after all (refused, failed): it does not count. */
  cancel(): void;
  /** A held ticket's tunnel was claimed or is gone: it counts until its minute ends. */
  release(): void;
}

export class NewTunnelLimiter {
  readonly perMinute: number;
  readonly #window: SlidingWindowCounter;
  readonly #onLimited: NewTunnelLimiterOptions['onLimited'];
  /** Clients refused since they were last admitted (so onLimited is told once). */
  readonly #limited = new Set<string>();
  readonly #maxTracked: number;

  constructor(options: NewTunnelLimiterOptions = {}) {
    this.perMinute = options.perMinute ?? DEFAULT_NEW_TUNNELS_PER_MINUTE;
    if (!Number.isInteger(this.perMinute) || this.perMinute < 1) {
      throw new RangeError(`new tunnels per minute must be a whole number ≥ 1, not ${this.perMinute}`);
    }
    this.#maxTracked = options.maxTracked ?? NEW_TUNNELS_MAX_TRACKED;
    this.#window = new SlidingWindowCounter({
      max: this.perMinute,
      windowMs: options.windowMs ?? NEW_TUNNELS_WINDOW_MS,
      maxKeys: this.#maxTracked,
      ...(options.now ? { now: options.now } : {}),
    });
    this.#onLimited = options.onLimited;
  }

  /** Seconds until `address` may create a tunnel, or 0 when it may now. */
  retryAfter(address: string): number {
    return this.#window.retryAfter(clientKey(address));
  }

  /** New tunnels counted for `address` right now (held ones included). */
  count(address: string): number {
    return this.#window.count(clientKey(address));
  }

  /**
   * Count one new tunnel for `address`, or throw RateLimitedError (BURROW_ERR_RATE_LIMITED, with
   * retryAfter seconds) when it has created `perMinute` in the last minute. `held`: the tunnel
   * keeps counting until ticket.release().
   */
  take(address: string, options: { held?: boolean; edge?: string } = {}): NewTunnelTicket {
    const key = clientKey(address);
    const wait = this.#window.retryAfter(key);
    if (wait > 0) {
      if (!this.#limited.has(key)) {
        if (this.#limited.size >= this.#maxTracked) this.#limited.clear();
        this.#limited.add(key);
        this.#onLimited?.({ client: key, edge: options.edge ?? 'unknown', retryAfter: wait });
      }
      throw new RateLimitedError(
        wait,
        `this address opened ${this.perMinute} new tunnels within a minute; try again in ${wait} s`,
      );
    }
    this.#limited.delete(key);
    return this.#window.record(key, { held: options.held === true });
  }
}
