import type { SingletonSession } from './singleton-session.js';

/** Live singleton sessions by key, and a bounded memory of ended keys (their resumes get 410). */
export class SessionStore {
  readonly #live = new Map<string, SingletonSession>();
  /** key → time after which it is forgotten; insertion order = age. */
  readonly #ended = new Map<string, number>();
  readonly #endedTtlMs: number;
  readonly #endedMax: number;

  constructor(options: { endedTtlMs: number; endedMax: number }) {
    this.#endedTtlMs = options.endedTtlMs;
    this.#endedMax = options.endedMax;
  }

  get size(): number {
    return this.#live.size;
  }

  get(key: string): SingletonSession | undefined {
    return this.#live.get(key);
  }

  add(session: SingletonSession): void {
    this.#live.set(session.key, session);
  }

  /** Remove a live session and remember its key as ended. */
  end(session: SingletonSession): void {
    if (this.#live.get(session.key) === session) this.#live.delete(session.key);
    this.#ended.delete(session.key);
    this.#ended.set(session.key, Date.now() + this.#endedTtlMs);
    this.#prune();
  }

  isEnded(key: string): boolean {
    const until = this.#ended.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#ended.delete(key);
    return false;
  }

  values(): SingletonSession[] {
    return [...this.#live.values()];
  }

  detachedCount(): number {
    let n = 0;
    for (const s of this.#live.values()) if (!s.attached) n++;
    return n;
  }

  pausedCount(): number {
    let n = 0;
    for (const s of this.#live.values()) if (s.targetPaused) n++;
    return n;
  }

  #prune(): void {
    const now = Date.now();
    for (const [key, until] of this.#ended) {
      if (this.#ended.size <= this.#endedMax && until > now) break;
      this.#ended.delete(key);
    }
  }
}
