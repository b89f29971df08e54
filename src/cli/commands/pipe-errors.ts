/**
 * The pipe commands' words for the CLI's one error printer (src/cli/errors.ts): the fix that fits a
 * pipe situation (its flags, a busy path), the code's generic fix as the fallback.
 */
import { BurrowError, isBurrowError } from '../../core/errors.js';
import { printError, usageError } from '../errors.js';

export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../errors.js';

/** How the printer words generic fixes for the pipe commands. */
const PIPE = { command: 'pipe' } as const;

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

/** Prints `err` in the CLI's one format (src/cli/errors.ts) with the pipe's own fix words; returns the exit status. */
export function reportPipeError(err: unknown): number {
  if (isBurrowError(err)) {
    const fix = pipeFix(err);
    if (fix !== err.fix) return printError(new BurrowError(err.code, err.detail, { cause: err, fix }), PIPE);
  }
  return printError(err, PIPE);
}

/** A file to send that cannot be read: missing, a directory, no permission. */
export function unreadableFile(file: string, err: NodeJS.ErrnoException): BurrowError {
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
  return usageError(`cannot send ${file}: ${why}`, fix);
}
