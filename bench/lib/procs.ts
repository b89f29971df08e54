/**
 * Parent-side child process management for the benches: spawn a TS child script (via tsx) with
 * an IPC channel, wait for its BENCH_READY JSON line (with a timeout), and stop every child on
 * the way out (SIGTERM, then SIGKILL after a grace period). Children also exit by themselves when
 * the IPC channel closes, so none outlive the bench even if it is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { READY_PREFIX } from './child.js';

export const LIB_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(LIB_DIR, '..', '..');

export interface Child<T> {
  name: string;
  proc: ChildProcess;
  ready: Promise<T>;
  /** stdout+stderr so far (last 64 KiB). */
  output(): string;
  request<R>(msg: unknown, timeoutMs?: number): Promise<R>;
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();

function killAllNow(): void {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
}
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killAllNow();
    process.exit(130);
  });
}

export interface SpawnOptions {
  /** Extra node flags before the script (e.g. --expose-gc, --cpu-prof). */
  nodeArgs?: string[];
  readyTimeoutMs?: number;
}

/** Spawn bench/lib/<script> with args; resolves `ready` with the child's BENCH_READY value. */
export function spawnChild<T>(name: string, script: string, args: string[] = [], opts: SpawnOptions = {}): Child<T> {
  const proc = spawn(
    process.execPath,
    [...(opts.nodeArgs ?? []), '--import', 'tsx', path.join(LIB_DIR, script), ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  );
  live.add(proc);
  let out = '';
  let exited = false;
  const exitP = new Promise<void>((r) =>
    proc.once('exit', () => {
      exited = true;
      live.delete(proc);
      r();
    }),
  );
  const ready = new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name}: not ready after ${opts.readyTimeoutMs ?? 60_000} ms\n${out.slice(-4000)}`)),
      opts.readyTimeoutMs ?? 60_000,
    );
    let buf = '';
    proc.stdout!.on('data', (c: Buffer) => {
      const s = c.toString();
      out = (out + s).slice(-65536);
      buf += s;
      let i;
      while ((i = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith(READY_PREFIX)) {
          clearTimeout(timer);
          resolve(JSON.parse(line.slice(READY_PREFIX.length)) as T);
        }
      }
    });
    proc.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-65536)));
    proc.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${name}: exited (${code ?? sig}) before ready\n${out.slice(-4000)}`));
    });
  });
  ready.catch(() => {});
  return {
    name,
    proc,
    ready,
    output: () => out,
    request<R>(msg: unknown, timeoutMs = 10_000): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        const timer = setTimeout(() => {
          proc.off('message', onMsg);
          reject(new Error(`${name}: no IPC answer in ${timeoutMs} ms`));
        }, timeoutMs);
        const onMsg = (m: unknown): void => {
          clearTimeout(timer);
          resolve(m as R);
        };
        proc.once('message', onMsg);
        proc.send(msg as object);
      });
    },
    async stop(graceMs = 5_000): Promise<void> {
      if (exited) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exitP;
      clearTimeout(t);
    },
  };
}

export async function stopAll(children: Child<unknown>[]): Promise<void> {
  await Promise.all(children.map((c) => c.stop()));
}
