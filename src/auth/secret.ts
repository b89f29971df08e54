import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TokenFormat } from '../store/types.js';
import {
  TOKEN_MAX_LENGTH,
  TOKEN_SECRET_LENGTH,
  TOKEN_SECRET_MIN_LENGTH,
  TOKEN_VISIBLE_PREFIX_CHARS,
} from './limits.js';

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Largest multiple of 62 below 256: bytes at or above it are skipped so every character is uniform. */
const UNBIASED_LIMIT = 248;

/** `length` uniformly random base62 characters from the system CSPRNG. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length + 8)) {
      if (byte >= UNBIASED_LIMIT) continue;
      out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

export const TOKEN_PREFIXES: Readonly<Record<TokenFormat, string>> = { burrow: 'brw_', tunely: 'tun_' };

const TOKEN_RE = new RegExp(`^(brw|tun)_[A-Za-z0-9]{${TOKEN_SECRET_MIN_LENGTH},}$`);

/** A new token secret: `brw_` (or `tun_` for tunely clients) + TOKEN_SECRET_LENGTH base62 characters. */
export function generateTokenSecret(format: TokenFormat = 'burrow'): string {
  return TOKEN_PREFIXES[format] + randomBase62(TOKEN_SECRET_LENGTH);
}

/** True when `secret` has the shape of a burrow token (cheap check before any lookup). */
export function isWellFormedToken(secret: string): boolean {
  return secret.length <= TOKEN_MAX_LENGTH && TOKEN_RE.test(secret);
}

/** The part shown in listings, e.g. `brw_Ab12Cd34`: enough to tell tokens apart, useless to an attacker. */
export function visiblePrefix(secret: string): string {
  return secret.slice(0, 4 + TOKEN_VISIBLE_PREFIX_CHARS);
}

/** Hex SHA-256: what is stored and looked up instead of a secret. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * Constant-time string comparison. Both sides are hashed first, so neither the content nor the
 * length of the expected value leaks through timing.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

/** Constant-time comparison of two hex digests of the same algorithm. */
export function constantTimeEqualHex(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  if (ba.length !== bb.length || ba.length === 0) return false;
  return timingSafeEqual(ba, bb);
}

/** A random public id such as `tok_Xy12…` (not a secret). */
export function newId(prefix: string, length: number): string {
  return prefix + randomBase62(length);
}
