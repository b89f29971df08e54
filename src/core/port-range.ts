/** Port ranges as configured: "20000-20999" (`--tcp-ports`, the localtunnel edge's port range). */
import { BurrowError } from './errors.js';

/** An inclusive range of TCP ports, 1 ≤ from ≤ to ≤ 65535. */
export interface PortRange {
  from: number;
  to: number;
}

/** Check a range given as numbers: integers, 1–65535, from ≤ to. Returns it unchanged. */
export function checkPortRange(range: PortRange): PortRange {
  const { from, to } = range;
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to > 65535 || from > to) {
    throw new BurrowError('BURROW_ERR_INVALID_CONFIG', `port range ${from}-${to} must be within 1–65535, from ≤ to`);
  }
  return range;
}

/** "20000-20999" (spaces around the dash allowed) → { from: 20000, to: 20999 }, checked. */
export function parsePortRange(text: string): PortRange {
  const m = /^(\d{1,5})\s*-\s*(\d{1,5})$/.exec(text.trim());
  if (!m) {
    throw new BurrowError(
      'BURROW_ERR_INVALID_CONFIG',
      `port range "${text}" must look like 20000-20999 (1–65535, from ≤ to)`,
    );
  }
  return checkPortRange({ from: Number(m[1]), to: Number(m[2]) });
}
