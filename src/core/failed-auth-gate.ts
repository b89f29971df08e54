/**
 * What an edge needs from the failed-auth limiter (src/auth/failed-auth-limiter.ts), without
 * importing auth/: one surface's view of it. Failures on one surface never lock out another.
 */

/**
 * Where a secret is checked; each has its own failure count per client address.
 * admin: the admin API; agent: agent tokens (burrow HELLO, localtunnel, tunely);
 * visitor: a tunnel's visitor rules (--basic-auth, --bearer); tiflis: the registration key and
 * device auth keys; tcp-ws: TCP-over-WebSocket access tokens; pipe: pipe transfer tokens.
 */
export const AUTH_SURFACES = ['admin', 'agent', 'visitor', 'tiflis', 'tcp-ws', 'pipe'] as const;
export type AuthSurface = (typeof AUTH_SURFACES)[number];

/** The failed-auth limiter as seen by one surface. */
export interface FailedAuthGate {
  /** Seconds until `address` may try again, or 0 when it may try now. */
  retryAfter(address: string): number;
  /** Throws RateLimitedError (BURROW_ERR_RATE_LIMITED) when `address` failed too often. */
  check(address: string): void;
  /** Record one failed attempt of `address`. */
  fail(address: string): void;
}
