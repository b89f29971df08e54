import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time comparison of two secrets (sha-256 digests, so lengths do not leak). */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}
