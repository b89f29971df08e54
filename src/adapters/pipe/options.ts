import type { PipeLimits } from '../../wire/pipe/health.js';
import { DIRECT_BODY_MIN_BYTES } from '../../core/direct-body.js';
import { BurrowError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import * as L from '../../wire/pipe/limits.js';
import { VERSION } from '../../version.js';

/** A timer handle as returned by `PipeClock.setTimeout`. */
export type TimerHandle = unknown;

/** Time source of one pipe handler; tests pass a fake one to drive eviction without waiting. */
export interface PipeClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const realClock: PipeClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Options of `createPipeHandler` (every limit defaults to the constant of the same name). */
export interface PipeOptions {
  logger?: Logger;
  clock?: PipeClock;
  /** Version string shown by /version and the pages (default: burrow's package version). */
  version?: string;
  maxReceivers?: number;
  maxPathLength?: number;
  maxPendingPipes?: number;
  maxActivePipes?: number;
  pendingTimeoutMs?: number;
  activeIdleTimeoutMs?: number;
  maxHeaderValueBytes?: number;
  multipartDeadlineMs?: number;
  maxSpectatorsPerPath?: number;
  maxSpectatorGroups?: number;
  spectatorTtlMs?: number;
  spectatorLingerMs?: number;
  progressIntervalMs?: number;
  spectatorHeartbeatMs?: number;
  closeGraceMs?: number;
  /**
   * A sender's upload with a Content-Length of at least this many bytes (HTTP/1.1 over plain TCP,
   * not multipart) is read past Node's HTTP parser into reused buffers, and its connection closes
   * after the transfer (default DIRECT_BODY_MIN_BYTES, 1 MiB; `Infinity` switches it off).
   */
  directBodyMinBytes?: number;
}

export type { PipeLimits };

export interface ResolvedPipeOptions {
  readonly logger: Logger;
  readonly clock: PipeClock;
  readonly version: string;
  readonly limits: PipeLimits;
  readonly directBodyMinBytes: number;
}

function positiveInt(name: string, value: number | undefined, fallback: number, problems: string[]): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) problems.push(`${name} must be a positive integer (got ${value})`);
  return value;
}

/** Applies defaults and validates every option, reporting all problems at once. */
export function resolvePipeOptions(options: PipeOptions = {}): ResolvedPipeOptions {
  const p: string[] = [];
  const limits: PipeLimits = {
    maxReceivers: positiveInt('maxReceivers', options.maxReceivers, L.MAX_RECEIVERS, p),
    maxPathLength: positiveInt('maxPathLength', options.maxPathLength, L.MAX_PATH_LENGTH, p),
    maxPendingPipes: positiveInt('maxPendingPipes', options.maxPendingPipes, L.MAX_PENDING_PIPES, p),
    maxActivePipes: positiveInt('maxActivePipes', options.maxActivePipes, L.MAX_ACTIVE_PIPES, p),
    pendingTimeoutMs: positiveInt('pendingTimeoutMs', options.pendingTimeoutMs, L.PENDING_TIMEOUT_MS, p),
    activeIdleTimeoutMs: positiveInt('activeIdleTimeoutMs', options.activeIdleTimeoutMs, L.ACTIVE_IDLE_TIMEOUT_MS, p),
    maxHeaderValueBytes: positiveInt('maxHeaderValueBytes', options.maxHeaderValueBytes, L.MAX_HEADER_VALUE_BYTES, p),
    multipartDeadlineMs: positiveInt('multipartDeadlineMs', options.multipartDeadlineMs, L.MULTIPART_DEADLINE_MS, p),
    maxSpectatorsPerPath: positiveInt(
      'maxSpectatorsPerPath',
      options.maxSpectatorsPerPath,
      L.MAX_SPECTATORS_PER_PATH,
      p,
    ),
    maxSpectatorGroups: positiveInt('maxSpectatorGroups', options.maxSpectatorGroups, L.MAX_SPECTATOR_GROUPS, p),
    spectatorTtlMs: positiveInt('spectatorTtlMs', options.spectatorTtlMs, L.SPECTATOR_TTL_MS, p),
    spectatorLingerMs: positiveInt('spectatorLingerMs', options.spectatorLingerMs, L.SPECTATOR_LINGER_MS, p),
    progressIntervalMs: positiveInt('progressIntervalMs', options.progressIntervalMs, L.PROGRESS_INTERVAL_MS, p),
    spectatorHeartbeatMs: positiveInt(
      'spectatorHeartbeatMs',
      options.spectatorHeartbeatMs,
      L.SPECTATOR_HEARTBEAT_MS,
      p,
    ),
    closeGraceMs: positiveInt('closeGraceMs', options.closeGraceMs, L.CLOSE_GRACE_MS, p),
  };
  if (limits.maxReceivers > L.MAX_RECEIVERS) p.push(`maxReceivers must be at most ${L.MAX_RECEIVERS}`);
  const directBodyMinBytes = options.directBodyMinBytes ?? DIRECT_BODY_MIN_BYTES;
  if (!(directBodyMinBytes >= 1) || (!Number.isInteger(directBodyMinBytes) && directBodyMinBytes !== Infinity)) {
    p.push(`directBodyMinBytes must be a positive integer or Infinity (got ${options.directBodyMinBytes})`);
  }
  if (p.length > 0) {
    throw new PipeOptionsError(p);
  }
  return Object.freeze({
    logger: options.logger ?? silentLogger(),
    clock: options.clock ?? realClock,
    version: options.version ?? VERSION,
    limits: Object.freeze(limits),
    directBodyMinBytes,
  });
}

/** Thrown by createPipeHandler for invalid options; `problems` lists every one. */
export class PipeOptionsError extends BurrowError {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super('BURROW_ERR_INVALID_CONFIG', `pipe: ${problems.join('; ')}`);
    this.problems = problems;
  }
}
