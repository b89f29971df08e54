import { createRequire } from 'node:module';
import type { Logger, LevelWithSilent, DestinationStream } from 'pino';
import { pinoPackage } from './packages.js';

export type { Logger };

/** Fields that must never reach a log line, at any depth pino checks. */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  'headers["proxy-authorization"]',
  'resumeToken',
  '*.resumeToken',
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
];

/** `json`: one JSON object per line (for machines); `pretty`: a readable line in local time (pino-pretty). */
export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** pino-pretty's line for people: local time, level, message, then the fields. */
const PRETTY_OPTIONS = { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name', singleLine: true };

export interface LoggerOptions {
  level?: LevelWithSilent;
  name?: string;
  /** Write to this destination (default stdout; then `format` applies). */
  destination?: NodeJS.WritableStream | DestinationStream;
  /** Line format on stdout (default json). `pretty` needs the optional package pino-pretty, else json. */
  format?: LogFormat;
}

/** pretty on a terminal, json otherwise (a file, a pipe, a log collector). */
export function defaultLogFormat(): LogFormat {
  return process.stdout.isTTY ? 'pretty' : 'json';
}

function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const opts = {
    level: options.level ?? 'info',
    name: options.name ?? 'burrow',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: null,
  };
  const { pino, transport } = pinoPackage();
  if (options.destination) return pino(opts, options.destination);
  if (options.format === 'pretty' && prettyAvailable())
    return pino(opts, transport({ target: 'pino-pretty', options: PRETTY_OPTIONS }) as DestinationStream);
  return pino(opts);
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warning',
  50: 'error',
  60: 'fatal',
};

/**
 * A pino destination that writes one short line per entry for a person at a terminal — `warning:
 * message (key=value …)` — instead of JSON; the CLI's clients log to stderr through it.
 */
export function humanLines(out: NodeJS.WritableStream): DestinationStream {
  return {
    write(line: string): void {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const { level, msg, time: _time, name: _name, ...fields } = entry;
      const extra = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      out.write(
        `${LEVEL_NAMES[Number(level)] ?? 'log'}: ${typeof msg === 'string' ? msg : ''}${extra ? ` (${extra})` : ''}\n`,
      );
    },
  };
}

/**
 * A logger that creates its pino (about 1.5 MiB of RSS, measured in an idle `burrow pipe serve`) at
 * its first use: a service that has logged nothing yet has not loaded pino.
 */
export function lazyLogger(options: LoggerOptions = {}): Logger {
  let real: Logger | undefined;
  const get = (): Logger => (real ??= createLogger(options));
  return new Proxy({} as Logger, {
    get(_target, key) {
      const value: unknown = Reflect.get(get(), key);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(get()) : value;
    },
    set(_target, key, value) {
      return Reflect.set(get(), key, value);
    },
    has(_target, key) {
      return Reflect.has(get(), key);
    },
  });
}

/** A logger that discards everything (library default when the caller passes none). */
export function silentLogger(): Logger {
  return pinoPackage().pino({ level: 'silent' });
}
