/**
 * How the pipe commands report a failure: `error: <message>`, `fix: <what to do>`, `code: BURROW_ERR_…`
 * on stderr, exit 1 (2 for a usage error). The fix fits the situation (a pipe command's flags, a
 * busy path), falling back to the code's generic fix. Never a stack trace.
 */
import { BurrowError, isBurrowError, type ErrorCode } from '../../core/errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A failure with the fix this situation calls for (the code's own fix is the fallback). */
export class PipeCliError extends Error {
  readonly code: ErrorCode;
  readonly fix: string;
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, fix: string, exitCode = EXIT_FAILURE) {
    super(message);
    this.code = code;
    this.fix = fix;
    this.exitCode = exitCode;
  }
}

/** The fix for a BurrowError met by a pipe command: pipe words, not the generic table's. */
function pipeFix(err: BurrowError): string {
  switch (err.code) {
    case 'BURROW_ERR_UNAUTHORIZED':
      return 'This server wants a token for pipe transfers: pass --token TOKEN or set BURROW_TOKEN (a token of kind pipe: `burrow token create --kind pipe` on the server).';
    case 'BURROW_ERR_FORBIDDEN':
      return 'The token is valid but not for pipes: ask the operator for one of kind pipe (`burrow token create --kind pipe`).';
    case 'BURROW_ERR_SERVER_UNREACHABLE':
      return 'Check --server (or BURROW_PIPE_SERVER / BURROW_SERVER): scheme, host and port, and that `burrow server` or `burrow pipe serve` runs there.';
    case 'BURROW_ERR_PIPE_REJECTED':
      if (/sender has been connected|established already|reached limits/i.test(err.message))
        return 'Someone is already using this path: pick another path (e.g. add a random suffix), or wait for that transfer to end.';
      if (/number of receivers should be/i.test(err.message))
        return 'Give every peer the same -n (the sender and each receiver).';
      if (/All receivers aborted/i.test(err.message))
        return 'The receiver(s) stopped reading before the end (a closed pipe such as `| head`, or Ctrl-C); send again when they are ready.';
      if (/reserved path/i.test(err.message)) return 'Pick a path that is not a page of the server, e.g. mypath123.';
      return err.fix;
    default:
      return err.fix;
  }
}

function isUsageError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('commander.');
}

/** Prints `err` in the one format; returns the exit status. */
export function reportPipeError(err: unknown): number {
  let message: string;
  let fix: string;
  let code: string;
  let status = EXIT_FAILURE;
  if (err instanceof PipeCliError) {
    ({ message, fix, code } = err);
    status = err.exitCode;
  } else if (isBurrowError(err)) {
    message = err.message;
    fix = pipeFix(err);
    code = err.code;
    if (err.code === 'BURROW_ERR_INVALID_CONFIG') status = EXIT_USAGE;
  } else if (isUsageError(err)) {
    message = (err as Error).message.replace(/^error:\s*/, '');
    fix = 'See `burrow pipe <command> --help`.';
    code = 'BURROW_ERR_INVALID_CONFIG';
    status = EXIT_USAGE;
  } else {
    message = err instanceof Error ? err.message : String(err);
    fix = 'An unexpected failure: run again; if it repeats, report it with this message.';
    code = 'BURROW_ERR_INTERNAL';
  }
  process.stderr.write(`error: ${message}\nfix: ${fix}\ncode: ${code}\n`);
  return status;
}

/** A file to send that cannot be read: missing, a directory, no permission. */
export function unreadableFile(file: string, err: NodeJS.ErrnoException): PipeCliError {
  const why =
    err.code === 'ENOENT'
      ? 'no such file'
      : err.code === 'EISDIR'
        ? 'it is a directory'
        : err.code === 'EACCES'
          ? 'permission denied'
          : err.message;
  const fix =
    err.code === 'EISDIR'
      ? `Send one file, or a folder as an archive: tar cz -C ${file} . | burrow pipe send PATH -`
      : 'Check the file name (or use - to send standard input).';
  return new PipeCliError('BURROW_ERR_INVALID_CONFIG', `cannot send ${file}: ${why}`, fix, EXIT_USAGE);
}
