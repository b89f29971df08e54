/**
 * What a pipe server's limits are and what its `/health` answers (JSON): the server half builds
 * them, the SDK reads them.
 */

/** The limits a pipe server runs with (each documented in docs/pipe.md#configuration). */
export interface PipeLimits {
  readonly maxReceivers: number;
  readonly maxPathLength: number;
  readonly maxPendingPipes: number;
  readonly maxActivePipes: number;
  readonly pendingTimeoutMs: number;
  readonly activeIdleTimeoutMs: number;
  readonly maxHeaderValueBytes: number;
  readonly multipartDeadlineMs: number;
  readonly maxSpectatorsPerPath: number;
  readonly maxSpectatorGroups: number;
  readonly spectatorTtlMs: number;
  readonly spectatorLingerMs: number;
  readonly progressIntervalMs: number;
  readonly spectatorHeartbeatMs: number;
  readonly closeGraceMs: number;
}

/** The `/health` document of a pipe server. */
export interface PipeHealth {
  status: 'ok' | 'closing';
  version: string;
  uptime: number;
  pending: number;
  active: number;
  spectators: number;
  limits: PipeLimits;
}
