/**
 * The console's server-side sessions: a random id in an HttpOnly cookie, a CSRF token bound to
 * it (compared in constant time), an idle and an absolute expiry. Nothing secret is kept but the
 * two random values; the admin token itself is never stored.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { MAX_SESSIONS, SESSION_ABSOLUTE_MS, SESSION_ID_BYTES, SESSION_IDLE_MS } from './limits.js';

export interface ConsoleSession {
  readonly id: string;
  readonly csrf: string;
  readonly createdAt: number;
  lastSeenAt: number;
}

export interface ConsoleSessionsOptions {
  idleMs?: number;
  absoluteMs?: number;
  maxSessions?: number;
  /** Clock in ms (tests inject one). */
  now?: () => number;
}

export class ConsoleSessions {
  readonly #sessions = new Map<string, ConsoleSession>();
  readonly #idleMs: number;
  readonly #absoluteMs: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: ConsoleSessionsOptions = {}) {
    this.#idleMs = options.idleMs ?? SESSION_IDLE_MS;
    this.#absoluteMs = options.absoluteMs ?? SESSION_ABSOLUTE_MS;
    this.#max = options.maxSessions ?? MAX_SESSIONS;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** A new session after a good sign-in (the oldest goes when the store is full). */
  create(): ConsoleSession {
    this.sweep();
    while (this.#sessions.size >= this.#max) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    const now = this.#now();
    const s: ConsoleSession = { id: token(), csrf: token(), createdAt: now, lastSeenAt: now };
    this.#sessions.set(s.id, s);
    return s;
  }

  /** The live session with this id (touching it), or undefined when unknown or expired. */
  get(id: string | undefined): ConsoleSession | undefined {
    if (id === undefined) return undefined;
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    const now = this.#now();
    if (this.#expired(s, now)) {
      this.#sessions.delete(id);
      return undefined;
    }
    s.lastSeenAt = now;
    return s;
  }

  /** The live session with this id, without counting this as use (undefined when ended). */
  peek(id: string): ConsoleSession | undefined {
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    if (this.#expired(s, this.#now())) {
      this.#sessions.delete(id);
      return undefined;
    }
    return s;
  }

  /** When this session ends at the latest if it stays busy (ms since the epoch). */
  expiresAt(s: ConsoleSession): number {
    return Math.min(s.createdAt + this.#absoluteMs, s.lastSeenAt + this.#idleMs);
  }

  /** Sign out. */
  destroy(id: string): void {
    this.#sessions.delete(id);
  }

  /** Forget expired sessions. */
  sweep(): void {
    const now = this.#now();
    for (const [id, s] of this.#sessions) if (this.#expired(s, now)) this.#sessions.delete(id);
  }

  clear(): void {
    this.#sessions.clear();
  }

  #expired(s: ConsoleSession, now: number): boolean {
    return now - s.lastSeenAt >= this.#idleMs || now - s.createdAt >= this.#absoluteMs;
  }
}

/** True when `presented` is this session's CSRF token (constant time; false when absent). */
export function csrfMatches(session: ConsoleSession, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(session.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}

function token(): string {
  return randomBytes(SESSION_ID_BYTES).toString('base64url');
}
