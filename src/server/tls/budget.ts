/** The bound on new certificates: at most `perHour` issuances started in any sliding hour. */
const HOUR_MS = 60 * 60 * 1000;

export class IssuanceBudget {
  readonly perHour: number;
  readonly #now: () => number;
  readonly #times: number[] = [];

  constructor(perHour: number, now: () => number) {
    this.perHour = perHour;
    this.#now = now;
  }

  /** Take one issuance; false (nothing taken) when the last hour already holds `perHour`. */
  take(): boolean {
    const now = this.#now();
    while (this.#times.length && this.#times[0]! <= now - HOUR_MS) this.#times.shift();
    if (this.#times.length >= this.perHour) return false;
    this.#times.push(now);
    return true;
  }
}
