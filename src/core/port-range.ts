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

/** Most entries in a port list (`--allow-port 5173 --allow-port 8000-8010` …). */
export const MAX_PORT_LIST_ENTRIES = 64;

/**
 * A list of ports and ranges: "5173", "8000-8010", or several joined with commas (each may also be
 * given separately). Throws BURROW_ERR_INVALID_CONFIG naming the entry that is wrong.
 */
export function parsePortList(entries: string | readonly string[]): PortRange[] {
  const parts = (typeof entries === 'string' ? [entries] : entries)
    .flatMap((e) => e.split(','))
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  if (parts.length > MAX_PORT_LIST_ENTRIES) {
    throw new BurrowError(
      'BURROW_ERR_INVALID_CONFIG',
      `at most ${MAX_PORT_LIST_ENTRIES} ports or ranges may be allowed`,
    );
  }
  return parts.map((p) => {
    if (/^\d{1,5}$/.test(p)) return checkPortRange({ from: Number(p), to: Number(p) });
    return parsePortRange(p);
  });
}

/** The list in its text form: "5173,8000-8010". */
export function formatPortList(ranges: readonly PortRange[]): string {
  return ranges.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(',');
}

/** Is the port in one of the ranges? */
export function inPortList(port: number, ranges: readonly PortRange[]): boolean {
  return ranges.some((r) => port >= r.from && port <= r.to);
}
