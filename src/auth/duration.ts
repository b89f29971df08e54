import { BurrowError } from '../core/errors.js';

const UNITS: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 365 * 86_400_000,
};

/** Longest accepted duration (100 years): keeps dates representable everywhere. */
export const MAX_DURATION_MS = 100 * 365 * 86_400_000;

/**
 * `30d`, `12h`, `90m`, `45s`, `2w`, `1y` → milliseconds; `never` → null.
 * Throws BURROW_ERR_BAD_REQUEST naming the accepted forms.
 */
export function parseDuration(text: string, flag = '--expires'): number | null {
  const value = text.trim().toLowerCase();
  if (value === 'never' || value === 'none') return null;
  const match = /^(\d{1,9})\s*([smhdwy])$/.exec(value);
  const unit = match?.[2];
  const ms = match && unit !== undefined ? Number(match[1]) * (UNITS[unit] ?? 0) : Number.NaN;
  if (!Number.isFinite(ms) || ms <= 0 || ms > MAX_DURATION_MS) {
    throw new BurrowError(
      'BURROW_ERR_BAD_REQUEST',
      `${flag} "${text.slice(0, 40)}" must be a number and a unit (s, m, h, d, w, y) such as 30d, or "never"`,
    );
  }
  return ms;
}
