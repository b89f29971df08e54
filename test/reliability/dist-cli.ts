/** Run the built CLI (`node dist/cli.js …`, as a user runs it; `npm run build` first) in a chosen folder. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DIST_CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface DistCli {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output: () => string;
  /** Resolves once the output matches (rejects when the process exits first or after timeoutMs). */
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

export function runDistCli(args: string[], options: { cwd: string; env?: Record<string, string> }): DistCli {
  if (!existsSync(DIST_CLI)) throw new Error(`${DIST_CLI} is missing: run npm run build first`);
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  // the test runner's own BURROW_* settings must not leak into the child
  for (const k of Object.keys(env)) if (k.startsWith('BURROW_') && !(k in (options.env ?? {}))) delete env[k];
  const child = spawn(process.execPath, [DIST_CLI, ...args], {
    cwd: options.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (c: Buffer): void => {
    out += c.toString();
    for (const w of [...waiters]) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      done = true;
      resolve(code);
      for (const w of [...waiters]) w();
    }),
  );
  const waitFor = (re: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`no ${String(re)} in ${timeoutMs} ms: ${out}`)), timeoutMs);
      const finish = (err?: Error, m?: RegExpMatchArray): void => {
        clearTimeout(timer);
        waiters.delete(check);
        if (err) reject(err);
        else resolve(m!);
      };
      const check = (): void => {
        const m = re.exec(out);
        if (m) finish(undefined, m);
        else if (done) finish(new Error(`exited before ${String(re)}: ${out}`));
      };
      waiters.add(check);
      check();
    });
  return { child, output: () => out, waitFor, exited };
}
