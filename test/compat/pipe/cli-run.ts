// Runs `burrow pipe …` (the real CLI, test/helpers/cli.ts cliArgs) as a child process, and `burrow pipe serve` for a suite.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { cliArgs } from '../../helpers/cli.js';

export interface CliResult {
  code: number;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

export function runPipeCli(
  args: string[],
  opts: { input?: Buffer; keepStdin?: boolean; env?: NodeJS.ProcessEnv; stdio?: SpawnOptions['stdio'] } = {},
): { child: ChildProcess; done: Promise<CliResult> } {
  const started = Date.now();
  const child = spawn(process.execPath, cliArgs('pipe', ...args), {
    stdio: opts.stdio ?? ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, BURROW_TOKEN: '', BURROW_PIPE_SERVER: '', BURROW_SERVER: '', ...opts.env },
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => out.push(c));
  child.stderr?.on('data', (c: Buffer) => err.push(c));
  if (child.stdin) {
    child.stdin.on('error', () => {}); // a command that exits before reading all its input
    if (opts.keepStdin) {
      if (opts.input) child.stdin.write(opts.input);
    } else if (opts.input) child.stdin.end(opts.input);
    else child.stdin.end();
  }
  const done = once(child, 'close').then(([code]) => ({
    code: code as number,
    stdout: Buffer.concat(out),
    stderr: Buffer.concat(err).toString(),
    ms: Date.now() - started,
  }));
  return { child, done };
}

/** `burrow pipe serve` on 127.0.0.1, any port; resolves with its URL. */
export async function startServeCli(extra: string[] = []): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = spawn(
    process.execPath,
    cliArgs('pipe', 'serve', '--port', '0', '--address', '127.0.0.1', '--log-level', 'silent', ...extra),
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let text = '';
  server.stdout.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    server.stdout.on('data', (c: string) => {
      text += c;
      const m = /listening on (http:\/\/\S+)/.exec(text);
      if (m) resolve(m[1]!);
    });
    server.once('exit', () => reject(new Error(`serve exited: ${text}`)));
  });
  const stop = async (): Promise<void> => {
    server.kill('SIGTERM');
    if (server.exitCode === null) await once(server, 'exit');
  };
  return { url, stop };
}

/** The one error format: no stack frame, no `Unhandled`, an error, a fix and a code line. */
export function assertCleanError(stderr: string, code: string): void {
  if (/^\s+at /m.test(stderr) || /Unhandled/.test(stderr)) throw new Error(`stack trace in:\n${stderr}`);
  const lines = stderr.trimEnd().split('\n');
  const tail = lines.slice(-3);
  if (!/^error: /.test(tail[0] ?? '') || !/^fix: /.test(tail[1] ?? '') || tail[2] !== `code: ${code}`)
    throw new Error(`expected error/fix/code ${code}, got:\n${stderr}`);
}
