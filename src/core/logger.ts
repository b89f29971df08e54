import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

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

export interface LoggerOptions {
  level?: LevelWithSilent;
  name?: string;
  /** Write to this destination (default stdout). */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const opts = {
    level: options.level ?? 'info',
    name: options.name ?? 'burrow',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: null,
  };
  return options.destination ? pino(opts, options.destination as DestinationStream) : pino(opts);
}

/** A logger that discards everything (library default when the caller passes none). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
