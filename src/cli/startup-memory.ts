/**
 * What starting a long-running command leaves in an idle process's RSS for good, and how the CLI
 * avoids it (measured in bench/RESULTS.md, "Idle memory, second pass"):
 *
 * - V8 doubles its young generation (the two semi-spaces) whenever more survives a scavenge than it
 *   holds, and gives the room back only in a memory-reducing collection an idle server never runs.
 *   Start-up is all survivors (every module's code and records): loading `burrow server` grew the
 *   semi-spaces from 1 to 4 MiB each, 8 MiB of empty young generation at rest.
 * - Module resolution (node's path and URL helpers) runs hot enough at start for TurboFan to compile
 *   a dozen of its functions, and the first optimizing compile pages in ~4 MiB of the compiler's own
 *   code from node's binary plus its zones.
 *
 * So the CLI holds both while the command loads and starts — `--semi-space-growth-factor=1` and
 * `--no-turbofan`, V8 flags read when they apply, so setting them at run time works — and sets V8's
 * defaults back once it listens. Under load the young generation grows and hot code is optimized as
 * before. `--max-semi-space-size=1` or `--no-opt` on the command line would keep them for the whole
 * life and slow every data path.
 */
import v8 from 'node:v8';

/** V8's own defaults (11.3, Node 20), restored after start. */
export const SEMI_SPACE_GROWTH_FACTOR = 2;
/** Release anyway this long after the hold (`burrow server` and `pipe serve` release once they listen). */
export const STARTUP_HOLD_MAX_MS = 5_000;
/**
 * The young generation's hold ends this long after the release of TurboFan's: a scavenge V8 posted
 * as a task near the end of start-up runs a moment after the command listens, and released at once
 * it could double the young generation of a server that then stays idle (seen as 4 MiB instead of 2
 * in test/cli/startup-memory.test.ts, once in CI and once in ~15 local runs).
 */
export const YOUNG_RELEASE_DELAY_MS = 1_000;

/** The flags held, each skipped when the operator set their own. */
const HELD: readonly { own: RegExp; hold: string; release: string }[] = [
  {
    own: /semi[-_]space/,
    hold: '--semi-space-growth-factor=1',
    release: `--semi-space-growth-factor=${SEMI_SPACE_GROWTH_FACTOR}`,
  },
  { own: /--(no-)?(opt|turbofan)\b|--jitless/, hold: '--no-turbofan', release: '--turbofan' },
];

let releases: string[] = [];

/**
 * Hold the young generation's growth and TurboFan while the command loads (see the file's comment).
 * Returns the flags held: none for those the operator set in execArgv or NODE_OPTIONS.
 */
export function holdStartupMemory(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): string[] {
  const own = [...execArgv, env['NODE_OPTIONS'] ?? ''].join(' ');
  const held = HELD.filter((f) => !f.own.test(own));
  for (const f of held) v8.setFlagsFromString(f.hold);
  releases = held.map((f) => f.release);
  if (held.length) setTimeout(releaseStartupMemory, STARTUP_HOLD_MAX_MS).unref();
  return held.map((f) => f.hold);
}

/**
 * The command has started: V8's defaults again, for the load — TurboFan at once, the young
 * generation's growth `youngDelayMs` later.
 */
export function releaseStartupMemory(youngDelayMs = YOUNG_RELEASE_DELAY_MS): void {
  const young = releases.filter((f) => f.startsWith('--semi-space'));
  for (const f of releases) if (!young.includes(f)) v8.setFlagsFromString(f);
  releases = [];
  if (young.length === 0) return;
  const release = (): void => {
    for (const f of young) v8.setFlagsFromString(f);
  };
  if (youngDelayMs <= 0) release();
  else setTimeout(release, youngDelayMs).unref();
}
