/**
 * bench/soak's bookkeeping: operations done and failed per kind (failures by cause), and the
 * restart windows of the restarting agent, inside which its visitors' 502/503s and cut connections
 * are expected rather than errors.
 */

export interface KindCounts {
  done: number;
  bytes: number;
  errors: Map<string, number>;
  /** Failures of a restarting tunnel's visitors inside a restart window. */
  expected: Map<string, number>;
}

/** Causes a visitor of a restarting agent may see while it is away; a 404 is not one of them. */
const EXPECTED_DURING_RESTART =
  /^(HTTP 50[23]\b|upgrade refused: HTTP 50[23]\b|ECONNRESET|EPIPE|socket hang up|response cut|short body|closed)/;

/** A cause without its byte counts ("response cut after N bytes"), so that like failures count together. */
function countable(cause: string): string {
  return cause.replace(/\b\d{4,}\b/g, 'N');
}

/** How long after the new agent is ready its visitors may still see the old one's failures. */
const WINDOW_TAIL_MS = 2_000;

export class Tally {
  readonly startedAt = Date.now();
  readonly kinds = new Map<string, KindCounts>();
  /** When each kind's cause was first and last seen (s since the start). */
  #seen = new Map<string, [number, number]>();
  #windows: { from: number; to: number }[] = [];

  constructor(kinds: string[]) {
    for (const k of kinds) this.#kind(k);
  }

  #kind(kind: string): KindCounts {
    let c = this.kinds.get(kind);
    if (!c) {
      c = { done: 0, bytes: 0, errors: new Map(), expected: new Map() };
      this.kinds.set(kind, c);
    }
    return c;
  }

  ok(kind: string, bytes = 0): void {
    const c = this.#kind(kind);
    c.done++;
    c.bytes += bytes;
  }

  error(kind: string, rawCause: string): void {
    const cause = countable(rawCause);
    const c = this.#kind(kind);
    c.errors.set(cause, (c.errors.get(cause) ?? 0) + 1);
    this.#see(kind, cause);
  }

  #see(kind: string, cause: string): void {
    const at = Math.round((Date.now() - this.startedAt) / 1000);
    const key = `${kind}\0${cause}`;
    const s = this.#seen.get(key);
    if (s) s[1] = at;
    else this.#seen.set(key, [at, at]);
  }

  /**
   * A failure of an operation that ran from `start` to now. On a restarting tunnel
   * (`restarting`), one that overlaps a restart window with an expected cause is counted apart.
   */
  fail(kind: string, rawCause: string, start: number, restarting: boolean): void {
    const end = Date.now();
    let cause = countable(rawCause);
    if (restarting && this.inRestart(start, end)) {
      if (EXPECTED_DURING_RESTART.test(cause)) {
        const c = this.#kind(kind);
        c.expected.set(cause, (c.expected.get(cause) ?? 0) + 1);
        this.#see(kind, cause);
        return;
      }
      cause = `${cause} (during restart)`;
    }
    this.error(kind, cause);
  }

  /** A restart begins now; call the returned function once the new agent is ready. */
  openWindow(): () => void {
    const w = { from: Date.now(), to: Infinity };
    this.#windows.push(w);
    return () => {
      w.to = Date.now() + WINDOW_TAIL_MS;
    };
  }

  inRestart(start: number, end: number): boolean {
    return this.#windows.some((w) => start <= w.to && end >= w.from);
  }

  totals(): { done: number; errors: number; expected: number } {
    let done = 0;
    let errors = 0;
    let expected = 0;
    for (const c of this.kinds.values()) {
      done += c.done;
      for (const n of c.errors.values()) errors += n;
      for (const n of c.expected.values()) expected += n;
    }
    return { done, errors, expected };
  }

  /** Done count per kind (for per-interval deltas). */
  doneByKind(): Map<string, number> {
    return new Map([...this.kinds].map(([k, c]) => [k, c.done]));
  }

  /** "kind: cause ×n (t=first–last s)" for every error, or for every expected failure. */
  describe(which: 'errors' | 'expected'): string[] {
    const out: string[] = [];
    for (const [k, c] of this.kinds)
      for (const [cause, n] of c[which]) {
        const [first, last] = this.#seen.get(`${k}\0${cause}`) ?? [0, 0];
        out.push(`${k}: ${cause} ×${n} (t=${first === last ? first : `${first}–${last}`} s)`);
      }
    return out;
  }
}
