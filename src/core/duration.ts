/**
 * burrow's one duration grammar (docs/configuration.md, "Durations"), for timeouts and grace
 * periods on the command line and in the environment as much as for token lifetimes:
 * a number (decimals allowed) with an optional unit `ms`, `s`, `m`, `h`, `d`, `w` or `y`, where a
 * bare number means seconds; `never` (or `none`) means no limit. Units are case-insensitive and may
 * follow the number after spaces. Callers decide what makes sense for them (a timeout cannot be
 * `never`, a token lifetime cannot be 0).
 */
import { BurrowError } from './errors.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 365 * 86_400_000,
};

/** Longest accepted duration (100 years): keeps dates representable everywhere. */
export const MAX_DURATION_MS = 100 * 365 * 86_400_000;

/** The accepted forms, as error messages name them. */
export const DURATION_FORMS =
  'a number with an optional unit (ms, s, m, h, d, w, y) such as 500ms, 30s, 5m or 30d (a bare number means seconds), or "never"';

/**
 * Parse a duration into whole milliseconds (rounded), or null for `never` / `none`. Throws
 * BURROW_ERR_BAD_REQUEST naming `label` and the accepted forms for anything else, for negative
 * values and for more than MAX_DURATION_MS.
 */
export function parseDuration(text: string, label = 'duration'): number | null {
  const value = text.trim().toLowerCase();
  if (value === 'never' || value === 'none') return null;
  const match = /^(\d{1,12}(?:\.\d{1,9})?)\s*(ms|s|m|h|d|w|y)?$/.exec(value);
  const ms = match ? Math.round(Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? Number.NaN)) : Number.NaN;
  if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) {
    throw new BurrowError('BURROW_ERR_BAD_REQUEST', `${label} "${text.slice(0, 40)}" must be ${DURATION_FORMS}`);
  }
  return ms;
}
