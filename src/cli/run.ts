/**
 * How every command runs: its action returns the exit status once it is completely over; a failure
 * goes through the one printer (errors.ts); a requested stop (SIGINT/SIGTERM) aborts `stop.signal`,
 * the command closes cleanly and exits 0 (a second signal exits at once). Nothing escapes as a stack
 * trace: guardProcess() catches what a command forgot.
 */
import { CommanderError, type Command } from './commander.js';
import { EXIT_OK, printError, type ErrorContext } from './errors.js';

/** The CommanderError code a failed command ends with: src/cli.ts exits with its status. */
export const COMMAND_FAILED = 'burrow.failed';

/** SIGINT/SIGTERM as an AbortSignal for a long-running command. */
export interface StopRequests {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Resolves at the first SIGINT or SIGTERM. */
  readonly requested: Promise<void>;
}

/** `atOnce`: the command has nothing to close (it takes no StopRequests), so a signal ends it now. */
function listenForStop(atOnce: boolean): { stop: StopRequests; dispose: () => void } {
  const ac = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    // a second signal stops waiting for the clean close
    if (atOnce || ac.signal.aborted) process.exit(EXIT_OK);
    ac.abort(name);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const requested = new Promise<void>((resolve) =>
    ac.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  return {
    stop: { signal: ac.signal, requested },
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * Run a command's body. Errors print in the one format on the command's stderr (a failure after a
 * requested stop is part of stopping: exit 0); a non-zero status ends the action by throwing a
 * CommanderError (COMMAND_FAILED) with it, which src/cli.ts turns into the exit status (and an
 * in-process caller with exitOverride() catches like any commander error).
 */
export async function runCommand(
  cmd: Command,
  ctx: ErrorContext,
  body: (stop: StopRequests) => Promise<number | void>,
): Promise<void> {
  const { stop, dispose } = listenForStop(body.length === 0);
  const output = cmd.configureOutput();
  const writeErr = (text: string): void => {
    if (output.writeErr) output.writeErr(text);
    else process.stderr.write(text);
  };
  let code: number;
  try {
    code = (await body(stop)) ?? EXIT_OK;
  } catch (err) {
    code = stop.signal.aborted ? EXIT_OK : printError(err, ctx, writeErr);
  } finally {
    dispose();
  }
  if (code !== EXIT_OK) throw new CommanderError(code, COMMAND_FAILED, `exit ${code}`);
}

/**
 * Last-resort guards for the whole process: an error no command caught is printed in the one
 * format (exit 1), and a closed stdout (`burrow … | head`) is a normal end (exit 0, quiet).
 */
export function guardProcess(): void {
  const fatal = (err: unknown): void => {
    process.exit(printError(err));
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_OK);
    // a command's own pipeline cut stdout (a stop, a failed transfer): the command reports that itself
    if (err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.code === 'ERR_STREAM_DESTROYED') return;
    fatal(err);
  });
}
