/**
 * What the status panel shows, as data: the session's state, the tunnels, the server latency, the
 * connection and request counters with their rates, and the last requests. Fed by events (attach.ts);
 * drawn by render.ts. The clock is passed in, so tests need no sleeps.
 */

/** Rates are averages over this many seconds (ngrok's rt1: one minute). */
export const RATE_WINDOW_S = 60;
/** The last requests the panel keeps (and shows, as far as the terminal's height allows). */
export const LAST_REQUESTS_KEPT = 10;

export type SessionState =
  | { state: 'online' }
  | { state: 'reconnecting'; attempt: number; nextAt: number; reason: string }
  | { state: 'closed' };

export interface PanelTunnel {
  /** The tunnel's name in `burrow start`'s file (none for `burrow http`). */
  label: string | undefined;
  url: string;
  local: string;
}

export interface RequestRow {
  method: string;
  path: string;
  status: number;
  durationMs: number;
  tunnel: string | undefined;
}

/** Events per second over the last RATE_WINDOW_S seconds, one counter per second (bounded memory). */
export class RateCounter {
  readonly #counts = new Array<number>(RATE_WINDOW_S).fill(0);
  readonly #seconds = new Array<number>(RATE_WINDOW_S).fill(-1);
  readonly #since: number;

  constructor(now: number) {
    this.#since = now;
  }

  add(now: number): void {
    const s = Math.floor(now / 1000);
    const i = s % RATE_WINDOW_S;
    if (this.#seconds[i] !== s) [this.#seconds[i], this.#counts[i]] = [s, 0];
    this.#counts[i]!++;
  }

  /** Per second, over the window (or the time since the start, when shorter). */
  rate(now: number): number {
    const s = Math.floor(now / 1000);
    let n = 0;
    for (let i = 0; i < RATE_WINDOW_S; i++) if (s - this.#seconds[i]! < RATE_WINDOW_S) n += this.#counts[i]!;
    const span = Math.min(RATE_WINDOW_S, Math.max(1, (now - this.#since) / 1000));
    return n / span;
  }
}

export class PanelState {
  session: SessionState = { state: 'online' };
  readonly tunnels: PanelTunnel[] = [];
  inspector: string | undefined;
  rttMs: number | undefined;
  connections = { total: 0, open: 0 };
  requests = { total: 0 };
  /** Newest first. */
  readonly last: RequestRow[] = [];
  readonly connectionRate: RateCounter;
  readonly requestRate: RateCounter;

  constructor(now: number) {
    this.connectionRate = new RateCounter(now);
    this.requestRate = new RateCounter(now);
  }

  connectionOpened(now: number): void {
    this.connections.total++;
    this.connections.open++;
    this.connectionRate.add(now);
  }

  connectionClosed(): void {
    if (this.connections.open > 0) this.connections.open--;
  }

  request(row: RequestRow, now: number): void {
    this.requests.total++;
    this.requestRate.add(now);
    this.last.unshift(row);
    if (this.last.length > LAST_REQUESTS_KEPT) this.last.length = LAST_REQUESTS_KEPT;
  }
}
