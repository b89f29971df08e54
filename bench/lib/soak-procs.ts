/**
 * bench/soak's processes: the built CLI (`node dist/cli.js server|http|tcp …`) as children whose
 * ready line is matched on stdout, stopped with a signal, and read from /proc (RSS, open fds).
 * Every child is killed when the bench exits, however it exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { argValue } from './child.js';
import { ROOT } from './procs.js';

/** The built CLI: this checkout's dist/cli.js, or another build's with `--cli <path>`. */
export const CLI_JS = path.resolve(argValue('cli') ?? path.join(ROOT, 'dist', 'cli.js'));

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export interface CliProc {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** The ready line's match. */
  match: RegExpExecArray;
  /** stdout + stderr so far (last 64 KiB). */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>;
  /** Send `signal`, SIGKILL after `graceMs`; resolves when it is gone. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
}

/** `burrow server` on a free port of 127.0.0.1 with an in-memory store and a public TCP port range, then `more`. */
export function loopbackServerArgs(tcpFrom: number, tcpPorts: number, ...more: string[]): string[] {
  const range = `${tcpFrom}-${tcpFrom + tcpPorts - 1}`;
  return ['server', '--port', '0', '--address', '127.0.0.1', '--db', 'sqlite::memory:', '--tcp-ports', range, ...more];
}

/**
 * Start `node dist/cli.js ...args`; resolves once a stdout line matches `readyRe`, rejects (with its
 * output) if it exits first or takes longer than `timeoutMs`.
 */
export function startCli(
  name: string,
  args: string[],
  readyRe: RegExp,
  timeoutMs = 30_000,
  /** Another build's dist/cli.js (an A/B of one command). */
  cli = CLI_JS,
  /** Node flags before the script (e.g. --cpu-prof). */
  nodeArgs: string[] = [],
): Promise<CliProc> {
  const proc = spawn(process.execPath, [...nodeArgs, cli, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  let out = '';
  const exited = new Promise<number | string>((resolve) =>
    proc.once('exit', (code, sig) => {
      live.delete(proc);
      resolve(code ?? sig ?? 'unknown');
    }),
  );
  return new Promise<CliProc>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      fail(new Error(`${name}: not ready after ${timeoutMs} ms\n${out.slice(-2000)}`));
    }, timeoutMs);
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(e);
    };
    const ready = (m: RegExpExecArray): void => {
      settled = true;
      clearTimeout(timer);
      resolve({
        name,
        proc,
        pid: proc.pid!,
        match: m,
        output: () => out,
        exited,
        async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
          const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
          const code = await exited;
          clearTimeout(t);
          return code;
        },
      });
    };
    // the ready line may come on either stream (the server's banner is on stderr)
    for (const stream of [proc.stdout, proc.stderr]) {
      let line = '';
      stream.on('data', (c: Buffer) => {
        const s = c.toString();
        out = (out + s).slice(-65536);
        if (settled) return;
        line += s;
        let i;
        while (!settled && (i = line.indexOf('\n')) !== -1) {
          const m = readyRe.exec(line.slice(0, i));
          line = line.slice(i + 1);
          if (m) ready(m);
        }
      });
    }
    void exited.then((code) => fail(new Error(`${name}: exited (${code}) before ready\n${out.slice(-2000)}`)));
  });
}

export interface ProcSample {
  /** Resident set size, bytes (VmRSS). */
  rss: number;
  /** Open file descriptors (entries of /proc/<pid>/fd). */
  fds: number;
  /** user + system CPU seconds so far. */
  cpuS: number;
}

/** RSS, open fds and CPU time of a live process (Linux /proc); undefined when it is gone. */
export function procSample(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      rss: Number(kb?.[1] ?? 0) * 1024,
      fds: readdirSync(`/proc/${pid}/fd`).length,
      cpuS: (Number(f[11]) + Number(f[12])) / 100, // USER_HZ
    };
  } catch {
    return undefined;
  }
}
