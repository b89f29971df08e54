/**
 * Keys and ids: the registration-key rule the CLI checks at startup, auth-key hashing with
 * constant-time comparison, and tunnel id generation.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { BurrowError } from '../../core/errors.js';
import { TIFLIS_API_KEY_MIN_LENGTH, TIFLIS_TUNNEL_ID_LENGTH, TIFLIS_TUNNEL_ID_MAX_LENGTH } from './limits.js';

/**
 * What is wrong with a registration key (TUNNEL_REGISTRATION_API_KEY / --registration-key), or
 * undefined when it is usable. For configuration pipelines that report every problem at once.
 */
export function registrationKeyProblem(key: string | undefined): string | undefined {
  if (key === undefined || key === '') {
    return 'the tiflis registration key is not set (TUNNEL_REGISTRATION_API_KEY or --registration-key)';
  }
  if (key.length < TIFLIS_API_KEY_MIN_LENGTH) {
    return `the tiflis registration key is ${key.length} characters long; at least ${TIFLIS_API_KEY_MIN_LENGTH} are required`;
  }
  return undefined;
}

/**
 * Throws BURROW_ERR_INVALID_CONFIG when the key is missing or shorter than 32 characters: the
 * CLI calls this before starting, so a weak key never goes live.
 */
export function validateRegistrationKey(key: string | undefined): asserts key is string {
  const problem = registrationKeyProblem(key);
  if (problem !== undefined) throw new BurrowError('BURROW_ERR_INVALID_CONFIG', problem);
}

/** SHA-256 of a key, hex. Only hashes are stored. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Compares two hex SHA-256 digests in constant time (false on malformed input). */
export function digestsEqual(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, 'hex');
  const b = Buffer.from(bHex, 'hex');
  return a.length === 32 && b.length === 32 && timingSafeEqual(a, b);
}

/** Does `key` hash to `storedHash`? Constant time in the key's content. */
export function keyMatches(key: string, storedHash: string): boolean {
  return digestsEqual(hashKey(key), storedHash);
}

/** A new tunnel id: 12 URL-safe characters, like tiflis's nanoid(12). */
export function generateTunnelId(): string {
  return randomBytes(Math.ceil((TIFLIS_TUNNEL_ID_LENGTH * 3) / 4))
    .toString('base64url')
    .slice(0, TIFLIS_TUNNEL_ID_LENGTH);
}

const TUNNEL_ID_PATTERN = /^[A-Za-z0-9_-]+$/;

/** Whether a tunnel id offered by a workstation may be reclaimed (URL-safe, bounded). */
export function isWellFormedTunnelId(id: string): boolean {
  return id.length >= 1 && id.length <= TIFLIS_TUNNEL_ID_MAX_LENGTH && TUNNEL_ID_PATTERN.test(id);
}
