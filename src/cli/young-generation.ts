/**
 * V8 doubles its young generation (the two semi-spaces) whenever more survives a scavenge than it
 * holds, and gives the room back only in a memory-reducing collection that an idle server never
 * runs. Start-up is all survivors (every module's code and records), so loading `burrow server` grew
 * the semi-spaces from 1 to 4 MiB each and left 8 MiB of empty young generation in the idle
 * process's RSS. `--max-semi-space-size=1` on the command line would keep it small for the whole
 * life and slow every data path; instead the CLI's long-running commands hold the growth factor at
 * 1 while they load and start, and set V8's default back once they listen (the flag is read when the
 * space would grow, so setting it at run time works; measured in bench/RESULTS.md, "Idle memory,
 * second pass"). Under load the young generation grows again as before.
 */
import v8 from 'node:v8';

/** V8's own `--semi-space-growth-factor` (11.3, Node 20), restored after start. */
export const SEMI_SPACE_GROWTH_FACTOR = 2;
/** Release anyway this long after the hold, for commands that never say they are ready. */
export const YOUNG_GENERATION_HOLD_MAX_MS = 5_000;

let held = false;

/**
 * Keep the young generation at its initial size while the command loads (see the file's comment).
 * Nothing happens when the operator passes their own semi-space flags. Returns whether it held.
 */
export function holdYoungGeneration(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): boolean {
  if ([...execArgv, env['NODE_OPTIONS'] ?? ''].some((a) => /semi[-_]space/.test(a))) return false;
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  held = true;
  setTimeout(releaseYoungGeneration, YOUNG_GENERATION_HOLD_MAX_MS).unref();
  return true;
}

/** The command has started: let the young generation grow with the load again. */
export function releaseYoungGeneration(): void {
  if (!held) return;
  held = false;
  v8.setFlagsFromString(`--semi-space-growth-factor=${SEMI_SPACE_GROWTH_FACTOR}`);
}
