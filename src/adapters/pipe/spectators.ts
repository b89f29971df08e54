/**
 * `?progress` spectators: Server-Sent Events (`state`, `progress`, `done`) about one path, without
 * taking a receiver slot. Bounded per path and overall, each connection lives at most a TTL, and a
 * finished transfer's final state lingers for late watchers.
 */
import type { PipeClock, PipeLimits } from './options.js';
import type { Res } from './http.js';

export type PipeState = 'idle' | 'waiting' | 'streaming' | 'complete' | 'failed';

export interface PipeSnapshot {
  state: PipeState;
  path: string;
  hasSender: boolean;
  /** Receivers connected (waiting or streaming). */
  activeReceivers: number;
  /** `n` of the pipe, or null when there is no pipe. */
  expectedReceivers: number | null;
  bytesTransferred: number;
  totalBytes: number | null;
  /** Average bytes per second since streaming began. */
  speed: number;
  /** Seconds left at the current speed, when the size is known. */
  eta: number | null;
  /** Milliseconds since streaming began (0 before). */
  elapsed: number;
  timestamp: number;
}

export interface DoneInfo {
  state: 'complete' | 'failed';
  bytesTransferred: number;
  totalBytes: number | null;
  duration: number;
  avgSpeed: number;
  reason?: string;
}

interface Spectator {
  readonly res: Res;
  ttl: unknown;
  heartbeat: unknown;
}

interface Group {
  readonly spectators: Set<Spectator>;
  progressTimer: unknown;
  final: { snapshot: PipeSnapshot; done: DoneInfo } | undefined;
  lingerTimer: unknown;
}

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  'Access-Control-Allow-Origin': '*',
  'X-Content-Type-Options': 'nosniff',
} as const;

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

export class SpectatorHub {
  readonly #groups = new Map<string, Group>();

  readonly #clock: PipeClock;
  readonly #limits: PipeLimits;
  readonly #snapshotOf: (path: string) => PipeSnapshot;
  constructor(clock: PipeClock, limits: PipeLimits, snapshotOf: (path: string) => PipeSnapshot) {
    this.#clock = clock;
    this.#limits = limits;
    this.#snapshotOf = snapshotOf;
  }

  /** Number of connected spectators. */
  count(): number {
    let n = 0;
    for (const g of this.#groups.values()) n += g.spectators.size;
    return n;
  }

  /** Starts an SSE stream on `res`; returns an `[ERROR]` message (for a 429) when a cap is reached. */
  attach(path: string, res: Res): string | undefined {
    let group = this.#groups.get(path);
    if (group && group.spectators.size >= this.#limits.maxSpectatorsPerPath) {
      return `Too many spectators on this path (max ${this.#limits.maxSpectatorsPerPath}).`;
    }
    if (!group) {
      if (this.#groups.size >= this.#limits.maxSpectatorGroups) {
        return `Too many watched paths (max ${this.#limits.maxSpectatorGroups}).`;
      }
      group = { spectators: new Set(), progressTimer: undefined, final: undefined, lingerTimer: undefined };
      this.#groups.set(path, group);
    }
    res.writeHead(200, { ...SSE_HEADERS });
    res.write('retry: 3000\n\n');
    if (group.final) {
      res.write(event('state', group.final.snapshot));
      res.end(event('done', group.final.done));
      return undefined;
    }
    res.write(event('state', this.#snapshotOf(path)));
    const g = group;
    const spectator: Spectator = { res, ttl: undefined, heartbeat: undefined };
    g.spectators.add(spectator);
    spectator.ttl = this.#clock.setTimeout(() => this.#detach(path, g, spectator, true), this.#limits.spectatorTtlMs);
    const beat = (): void => {
      if (res.writableEnded) return;
      res.write(': keep-alive\n\n');
      spectator.heartbeat = this.#clock.setTimeout(beat, this.#limits.spectatorHeartbeatMs);
    };
    spectator.heartbeat = this.#clock.setTimeout(beat, this.#limits.spectatorHeartbeatMs);
    res.once('close', () => this.#detach(path, g, spectator, false));
    return undefined;
  }

  /** The pipe on `path` changed state (created, a peer joined or left, streaming began). */
  stateChanged(path: string): void {
    const group = this.#groups.get(path);
    if (!group) return;
    if (group.final) {
      group.final = undefined;
      this.#clock.clearTimeout(group.lingerTimer);
      if (group.spectators.size === 0) {
        this.#groups.delete(path);
        return;
      }
    }
    this.#broadcast(group, event('state', this.#snapshotOf(path)));
  }

  /** Bytes moved on `path`: a `progress` event at most every PROGRESS_INTERVAL_MS. */
  bytesMoved(path: string): void {
    const group = this.#groups.get(path);
    if (!group || group.progressTimer !== undefined || group.spectators.size === 0) return;
    group.progressTimer = this.#clock.setTimeout(() => {
      group.progressTimer = undefined;
      const s = this.#snapshotOf(path);
      if (s.state !== 'streaming') return;
      this.#broadcast(
        group,
        event('progress', {
          bytesTransferred: s.bytesTransferred,
          totalBytes: s.totalBytes,
          speed: s.speed,
          eta: s.eta,
          receivers: s.activeReceivers,
          expectedReceivers: s.expectedReceivers,
          elapsed: s.elapsed,
          timestamp: s.timestamp,
        }),
      );
    }, this.#limits.progressIntervalMs);
  }

  /** The transfer on `path` ended: final `state` + `done`, spectators closed, final state lingers. */
  done(path: string, snapshot: PipeSnapshot, info: DoneInfo): void {
    let group = this.#groups.get(path);
    if (!group) {
      if (this.#groups.size >= this.#limits.maxSpectatorGroups) return;
      group = { spectators: new Set(), progressTimer: undefined, final: undefined, lingerTimer: undefined };
      this.#groups.set(path, group);
    }
    this.#clock.clearTimeout(group.progressTimer);
    group.progressTimer = undefined;
    const last = event('state', snapshot) + event('done', info);
    for (const s of group.spectators) {
      this.#clearTimers(s);
      if (!s.res.writableEnded) s.res.end(last);
    }
    group.spectators.clear();
    group.final = { snapshot, done: info };
    this.#clock.clearTimeout(group.lingerTimer);
    const g = group;
    group.lingerTimer = this.#clock.setTimeout(() => {
      if (this.#groups.get(path) === g && g.spectators.size === 0) this.#groups.delete(path);
      else g.final = undefined;
    }, this.#limits.spectatorLingerMs);
  }

  close(): void {
    for (const group of this.#groups.values()) {
      this.#clock.clearTimeout(group.progressTimer);
      this.#clock.clearTimeout(group.lingerTimer);
      for (const s of group.spectators) {
        this.#clearTimers(s);
        if (!s.res.writableEnded) s.res.end();
      }
    }
    this.#groups.clear();
  }

  #broadcast(group: Group, text: string): void {
    for (const s of group.spectators) if (!s.res.writableEnded) s.res.write(text);
  }

  #clearTimers(s: Spectator): void {
    this.#clock.clearTimeout(s.ttl);
    this.#clock.clearTimeout(s.heartbeat);
  }

  #detach(path: string, group: Group, s: Spectator, end: boolean): void {
    if (!group.spectators.delete(s)) return;
    this.#clearTimers(s);
    if (end && !s.res.writableEnded) s.res.end();
    if (group.spectators.size === 0 && !group.final && this.#groups.get(path) === group) {
      this.#clock.clearTimeout(group.progressTimer);
      this.#groups.delete(path);
    }
  }
}
