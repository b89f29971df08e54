import { RECONNECT_INITIAL_DELAY_MS, RECONNECT_JITTER, RECONNECT_MAX_DELAY_MS } from './limits.js';

export interface BackoffOptions {
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Fraction of the delay randomised (0..1). */
  jitter?: number;
}

/** Exponential backoff with jitter and a cap: attempt 1 → ~initial, doubling up to max. */
export function backoffDelay(attempt: number, o: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = o.initialDelayMs ?? RECONNECT_INITIAL_DELAY_MS;
  const max = o.maxDelayMs ?? RECONNECT_MAX_DELAY_MS;
  const jitter = o.jitter ?? RECONNECT_JITTER;
  const base = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
  const spread = base * jitter;
  return Math.max(0, Math.round(base - spread + random() * 2 * spread));
}
