/** Small helpers shared by CLI commands: env fallbacks, number/duration parsing, error printing. */
import { InvalidArgumentError } from 'commander';
import { isBurrowError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';

/** The first set environment variable among names. */
export function envFirst(...names: string[]): string | undefined {
  for (const n of names) {
    const v = process.env[n];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

export function envBool(...names: string[]): boolean | undefined {
  const v = envFirst(...names);
  if (v === undefined) return undefined;
  return /^(1|true|yes|on)$/i.test(v);
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

/** Print an error the way every command does: message, then how to fix it; returns the exit code. */
export function printError(err: unknown): number {
  if (isBurrowError(err)) {
    process.stderr.write(`error: ${err.message}\n`);
    process.stderr.write(`  fix: ${err.fix}\n  code: ${err.code}\n`);
  } else {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  return 1;
}
