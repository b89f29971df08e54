/**
 * The CLI's one error printer and exit-code rule. Every command ends a failure here:
 *
 *   error: <message>
 *   fix: <what to do>
 *   code: BURROW_ERR_…
 *
 * on stderr, never a stack frame. Exit status: EXIT_USAGE (2) for a usage or configuration error
 * (a bad flag, argument or variable, a file that cannot be read, a port in use), EXIT_FAILURE (1)
 * for anything else; a requested stop (SIGINT/SIGTERM) is EXIT_OK (0) — see run.ts.
 *
 * The fix fits the situation: an error may carry its own (`new BurrowError(code, detail, { fix })`),
 * and fixFor() words the code's generic one in the command's own flags; the table's fix is the
 * fallback. `burrow pipe` can adopt this printer by passing its own `fixFor` words.
 */
import { BurrowError, ERROR_CODES, isBurrowError, type ErrorCode } from '../core/errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Set BURROW_DEBUG=1 to also print the stack of an unexpected error (a bug report's detail). */
export const DEBUG_ENV = 'BURROW_DEBUG';

/** Codes that mean "the command line or configuration is wrong": exit 2. */
const USAGE_CODES: readonly string[] = ['BURROW_ERR_INVALID_CONFIG'];

/** What the printer knows about the situation, to word the fix in the command's own flags. */
export interface ErrorContext {
  /** The command path, e.g. `http`, `tcp`, `token create`. */
  command?: string | undefined;
  /** A token was given (flag or BURROW_TOKEN). */
  tokenGiven?: boolean | undefined;
  /** The admin command acts through a server (--server) rather than on the database. */
  viaServer?: boolean | undefined;
}

/** A usage or configuration error with its own fix: exit 2. */
export function usageError(message: string, fix: string): BurrowError {
  return new BurrowError('BURROW_ERR_INVALID_CONFIG', message, { fix });
}

/** A generic fix from the table, reworded for the command that met it. */
function fixFor(err: BurrowError, ctx: ErrorContext): string {
  if (err.fix !== tableFix(err.code)) return err.fix; // the thrower's own fix already fits
  const cmd = ctx.command ?? '';
  const nameFlag = cmd === 'tcp' ? '--name' : '--subdomain';
  switch (err.code) {
    case 'BURROW_ERR_NAME_TAKEN':
      return `Choose another ${nameFlag}, or stop the other client first.`;
    case 'BURROW_ERR_NAME_RESERVED':
      return /reserved for another token|another token/i.test(err.message)
        ? `Choose another ${nameFlag}, or pass the token the name is reserved for (--token or BURROW_TOKEN).`
        : `Choose another ${nameFlag}; names such as api, admin and www are kept for the server itself.`;
    case 'BURROW_ERR_INVALID_NAME':
      return `Give ${nameFlag} 4–63 characters of lowercase a–z, 0–9 and hyphens, not starting or ending with a hyphen.`;
    case 'BURROW_ERR_UNAUTHORIZED':
      if (ctx.viaServer)
        return "Pass the server's admin token: --admin-token or BURROW_ADMIN_TOKEN (the value given to `burrow server --admin-token`).";
      return ctx.tokenGiven
        ? 'The server does not know this token (mistyped, revoked or expired): pass a valid one with --token or BURROW_TOKEN (`burrow token list` on the server shows them).'
        : 'This server requires a token: pass --token TOKEN or set BURROW_TOKEN (the operator makes one with `burrow token create`).';
    case 'BURROW_ERR_FORBIDDEN':
      if (/--tcp-ports/.test(err.message))
        return 'This server gives no public TCP ports: ask its operator to start it with --tcp-ports 20000-20999, or pass --no-public-port (WebSocket access only).';
      if (ctx.viaServer)
        return "The admin API refused this token: pass the server's admin token (--admin-token or BURROW_ADMIN_TOKEN).";
      return ctx.tokenGiven
        ? 'The token is valid but may not do this (its kinds or names do not cover it); ask the server operator for a token that allows it.'
        : 'The server refused this request: the message says why. No token was sent; if the server hands out tokens, pass one with --token or BURROW_TOKEN.';
    default:
      return err.fix;
  }
}

function tableFix(code: ErrorCode): string {
  return ERROR_CODES[code].fix;
}

const ERRNO_WORDS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EISDIR: 'it is a folder, not a file',
  EACCES: 'permission denied',
  ENOTDIR: 'a part of the path is not a folder',
};

/** Any thrown value → a BurrowError (Node's errno errors and commander's usage errors included). */
export function toBurrowError(err: unknown, ctx: ErrorContext = {}): BurrowError {
  if (isBurrowError(err)) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as Partial<NodeJS.ErrnoException> & {
    port?: number;
  };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = err instanceof Error ? err.message : String(err);
  if (code.startsWith('commander.')) {
    const command = ctx.command ? `burrow ${ctx.command}` : 'burrow';
    return usageError(message.replace(/^error:\s*/, ''), `Run \`${command} --help\` for the flags and arguments.`);
  }
  // a listen error, or one wrapped by a library that kept only its message
  if (code === 'EADDRINUSE' || /EADDRINUSE/.test(message)) {
    const where = e.port ?? /in use:? (\S+)$/.exec(message)?.[1];
    const fix =
      ctx.command === 'server'
        ? 'Stop the program using that port, or choose another with --port (or BURROW_PORT / PORT).'
        : 'Stop the program using that port, or choose another one (--local-port for `burrow connect`).';
    return usageError(where !== undefined ? `${where} is already in use` : 'the port is already in use', fix);
  }
  if (code === 'EADDRNOTAVAIL')
    return usageError(`cannot listen on that address: ${message}`, 'Use an address of this machine (--address).');
  const words = ERRNO_WORDS[code];
  if (words !== undefined)
    return usageError(
      `cannot read ${typeof e.path === 'string' ? e.path : 'a file given on the command line'}: ${words}`,
      'Check the file names given on the command line.',
    );
  return new BurrowError('BURROW_ERR_INTERNAL', message, {
    cause: err,
    fix: `An unexpected failure inside burrow: run again with ${DEBUG_ENV}=1 for the details and report them if it repeats.`,
  });
}

/** The exit status for an error (2 for usage or configuration, 1 otherwise). */
export function exitCodeFor(err: BurrowError): number {
  return USAGE_CODES.includes(err.code) ? EXIT_USAGE : EXIT_FAILURE;
}

/** Format an error as the three lines every command prints, the fix worded for the situation. */
export function formatError(err: BurrowError, ctx: ErrorContext = {}): string {
  const line = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();
  return `error: ${line(err.message)}\nfix: ${line(fixFor(err, ctx))}\ncode: ${err.code}\n`;
}

/** Print an error in the one format on stderr; returns the exit status. */
export function printError(
  err: unknown,
  ctx: ErrorContext = {},
  write: (text: string) => void = (text) => void process.stderr.write(text),
): number {
  const e = toBurrowError(err, ctx);
  write(formatError(e, ctx));
  if (process.env[DEBUG_ENV] && e.code === 'BURROW_ERR_INTERNAL' && e.cause instanceof Error && e.cause.stack)
    write(`${e.cause.stack}\n`);
  return exitCodeFor(e);
}
