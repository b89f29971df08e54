/**
 * What `burrow http` and `burrow tcp` print while they reach the server: `connecting to …` at once,
 * then each failed attempt with its reason, its fix and the next delay, until --connect-timeout.
 */
import type { RetryInfo } from '../../client/burrow/agent.js';
import { DEFAULT_SERVER_URL, FIRST_CONNECT_TIMEOUT_MS } from '../../client/burrow/limits.js';
import { flag } from '../env.js';
import { parseDurationMs } from '../util.js';

export const DEFAULT_SERVER = DEFAULT_SERVER_URL;

/** `--connect-timeout <duration>` (BURROW_CONNECT_TIMEOUT), milliseconds; 0 = keep trying. */
export function connectTimeoutFlag() {
  return flag('--connect-timeout <duration>', 'give up when the server cannot be reached this long (0 = keep trying)', {
    env: 'BURROW_CONNECT_TIMEOUT',
    parse: parseDurationMs,
    default: FIRST_CONNECT_TIMEOUT_MS,
    defaultDescription: `${FIRST_CONNECT_TIMEOUT_MS / 1000}s`,
  });
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/**
 * A failed attempt, for humans: the reason, its fix, and when the next attempt starts. With
 * `limitMs` (the first connection) it also says when the command gives up.
 */
export function retryLine(r: RetryInfo, limitMs?: number): string {
  const when =
    limitMs === undefined
      ? `reconnecting in ${seconds(r.delayMs)}`
      : limitMs > 0
        ? `retrying in ${seconds(r.delayMs)} (giving up after ${seconds(limitMs)}; --connect-timeout 0 keeps trying)`
        : `retrying in ${seconds(r.delayMs)}`;
  return `attempt ${r.attempt} failed: ${r.error.message}\n  fix: ${r.error.fix}\n  ${when}`;
}

/** The same, as a JSON event. */
export function retryEvent(event: string, r: RetryInfo): Record<string, unknown> {
  return {
    event,
    attempt: r.attempt,
    delayMs: r.delayMs,
    code: r.error.code,
    message: r.error.message,
    fix: r.error.fix,
  };
}
