/** Small helpers shared by CLI commands: env fallbacks, number/duration/URL parsing. */
import { InvalidArgumentError } from './commander.js';
import { parseDuration } from '../core/duration.js';

/** The first set environment variable among names. */
export function envFirst(...names: string[]): string | undefined {
  for (const n of names) {
    const v = process.env[n];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

export function parseIntArg(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

/**
 * A duration flag or variable (core/duration.ts: "30" = 30 s, "500ms", "30s", "5m", "1h") →
 * milliseconds, as commander wants its parse errors. `never` is refused: a timeout needs a length.
 */
export function parseDurationMs(value: string): number {
  let ms: number | null;
  try {
    ms = parseDuration(value);
  } catch {
    ms = null;
  }
  if (ms === null)
    throw new InvalidArgumentError('expected a duration such as 30s, 500ms, 5m (a bare number means seconds)');
  return ms;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

/**
 * A server address as every command takes it: `http(s)://host[:port][/path]`, `ws(s)://…`, or
 * `host:port` / `host` (then http://). Returns the URL as text.
 */
export function parseServerUrl(value: string): string {
  const v = value.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `http://${v}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new InvalidArgumentError('expected a server address such as https://tunnels.example.com or localhost:8080');
  }
  if (!/^(https?|wss?):$/.test(u.protocol))
    throw new InvalidArgumentError(`expected an http(s):// or ws(s):// address, not ${u.protocol}//`);
  return withScheme.replace(/\/+$/, '');
}
