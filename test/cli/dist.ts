/**
 * The built CLI (dist/cli.js, `npm run build` first) as a user runs it: a child process, its output,
 * its exit status and how long it took; and the checks every failure must pass (the one format).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DIST_CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/**
 * The dist/ modules behind a list of loaded files (paths relative to ROOT): the CLI is a bundle
 * (scripts/bundle-cli.mjs), each of whose files under dist/bundle/ holds several modules, listed in
 * dist/bundle/modules.json; a bundle file stays in the list, followed by its modules.
 */
export function bundledModules(loaded: readonly string[]): string[] {
  const map = JSON.parse(readFileSync(join(ROOT, 'dist/bundle/modules.json'), 'utf8')) as Record<string, string[]>;
  return loaded.flatMap((p) => {
    const file = /^dist\/bundle\/(.+\.js)$/.exec(p)?.[1];
    return file === undefined ? [p] : [p, ...(map[file] ?? [])];
  });
}

/** Skip message when dist/ is missing. */
export const NOT_BUILT = existsSync(DIST_CLI) ? undefined : 'dist/cli.js is missing: run `npm run build` first';

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when the process ended (it is killed at the bound). */
  ended: Promise<Ran>;
}

/** Start `node dist/cli.js …args`; it is killed with SIGKILL after boundMs (a hang fails the test). */
export function startCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; boundMs?: number; stdin?: 'ignore' | 'pipe' } = {},
): Running {
  const started = performance.now();
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', ...options.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const child = spawn(process.execPath, [DIST_CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: env,
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const bound = setTimeout(() => child.kill('SIGKILL'), options.boundMs ?? 15_000);
  const ended = new Promise<Ran>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(bound);
      resolve({ code, signal, stdout: out, stderr: err, ms: performance.now() - started });
    }),
  );
  return { child, stdout: () => out, stderr: () => err, ended };
}

export function runCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; boundMs?: number } = {},
): Promise<Ran> {
  return startCli(args, options).ended;
}

/**
 * A failure as every command must end one: within its bound (not killed), no stack frame, no
 * `Unhandled`, the three lines `error:` / `fix:` / `code: BURROW_ERR_…`, and the documented status.
 */
export function assertCleanFailure(r: Ran, status: number, code?: RegExp, what = ''): void {
  const all = `${r.stdout}\n${r.stderr}`;
  const show = `${what}\nstatus ${r.code} signal ${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  assert.equal(r.signal, null, `killed at its bound (a hang): ${show}`);
  assert.doesNotMatch(all, /^\s+at /m, `a stack frame: ${show}`);
  assert.doesNotMatch(all, /Unhandled/, `"Unhandled": ${show}`);
  assert.match(r.stderr, /^error: .+\nfix: .+\ncode: BURROW_ERR_[A-Z_]+$/m, `the one error format: ${show}`);
  assert.equal(r.stderr.match(/^error:/gm)?.length, 1, `one error, printed once: ${show}`);
  if (code) assert.match(r.stderr, new RegExp(`^code: ${code.source}$`, 'm'), `the code: ${show}`);
  assert.equal(r.code, status, `exit status: ${show}`);
}

export interface GcCounts {
  minor: number;
  major: number;
}

/**
 * A `--require` preload that counts the process's garbage collections (scavenges and mark-compacts)
 * into a file in `dir`, from the first one on; start the CLI with `NODE_OPTIONS: --require <preload>`.
 * The file holds the counts of the collections whose callbacks ran: read it after a request the
 * process answered.
 */
export function gcCounter(dir: string): { preload: string; counts(): GcCounts } {
  const file = join(dir, 'gc-counts.json');
  const preload = join(dir, 'gc-preload.cjs');
  writeFileSync(
    preload,
    `const { PerformanceObserver, constants } = require('node:perf_hooks'); const n = { minor: 0, major: 0 };
     new PerformanceObserver((l) => { for (const e of l.getEntries()) { const k = e.detail && e.detail.kind;
       if (k === constants.NODE_PERFORMANCE_GC_MINOR) n.minor++; if (k === constants.NODE_PERFORMANCE_GC_MAJOR) n.major++; }
       require('node:fs').writeFileSync(${JSON.stringify(file)}, JSON.stringify(n)); }).observe({ entryTypes: ['gc'] });\n`,
  );
  return {
    preload,
    counts: () => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as GcCounts) : { minor: 0, major: 0 }),
  };
}

/**
 * Starts a long-running command (`server`, `pipe serve`, …) and waits for its `listening on` line;
 * `base` is `http://address:port` as it printed them.
 */
export async function startListening(
  args: string[],
  options: Parameters<typeof startCli>[1] = {},
): Promise<{ run: Running; base: string }> {
  const run = startCli(args, options);
  for (let i = 0; ; i++) {
    const m = /listening on (?:http:\/\/)?([\d.]+):(\d+)/.exec(run.stdout() + run.stderr());
    if (m) return { run, base: `http://${m[1]}:${m[2]}` };
    if (i > 300 || run.child.exitCode !== null) throw new Error(`not listening: ${run.stdout()}${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
