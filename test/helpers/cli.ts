/** Run the burrow CLI as a child process and read its JSON lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const BUILT_CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/**
 * The node arguments that start the CLI: the built dist/cli.js when BURROW_TEST_CLI=dist (what
 * `npm test` sets: it builds first, and a built CLI starts several times faster than one compiled
 * on the fly), else the source through tsx (a single test file run during development).
 */
export function cliArgs(...args: string[]): string[] {
  if (process.env['BURROW_TEST_CLI'] === 'dist' && existsSync(BUILT_CLI)) return [BUILT_CLI, ...args];
  return ['--import', 'tsx', CLI, ...args];
}

/** The arguments of `burrow server` on a free loopback port with its store at `db` (a URL), then `more`. */
export function loopbackServer(db: string, ...more: string[]): string[] {
  return ['server', '--port', '0', '--address', '127.0.0.1', '--db', db, ...more];
}

export interface CliProcess {
  child: ChildProcess;
  /** Resolves with the next stdout line matching pred. */
  nextLine(pred?: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  lines: string[];
  stderr: () => string;
  exited: Promise<number | null>;
}

export function runCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, cliArgs(...args), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let err = '';
  const waiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    const i = waiters.findIndex((w) => w.pred(line));
    if (i !== -1) waiters.splice(i, 1)[0]!.resolve(line);
  });
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    stderr: () => err,
    exited,
    nextLine(pred = () => true, timeoutMs = 20_000) {
      const seen = lines.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`no matching line in ${timeoutMs} ms; stdout: ${lines.join('\n')}; stderr: ${err}`)),
          timeoutMs,
        );
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
      });
    },
  };
}
