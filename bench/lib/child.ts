/**
 * Child-side helpers for bench child scripts: report readiness as one JSON line on stdout, and
 * never outlive the bench (exit when the IPC channel to the parent closes, or on SIGTERM/SIGINT;
 * a clean exit lets `--cpu-prof` write its profile).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { keepHeapHeadroom } from '../../src/core/heap-headroom.js';
import { settleMallocThresholds } from '../../src/core/malloc.js';

export const READY_PREFIX = 'BENCH_READY ';

/**
 * Answer the parent's {"cmd":"profile-start"} / {"cmd":"profile-stop","file":…} IPC messages with a
 * CPU profile of just that window (steady state, no start-up), written as a .cpuprofile file.
 */
export function serveProfiling(): void {
  let session: Session | undefined;
  process.on('message', (m: { cmd?: string; file?: string }) => {
    if (m?.cmd === 'profile-start') {
      session = new Session();
      session.connect();
      session.post('Profiler.enable', () => session!.post('Profiler.start', () => process.send?.({ profiling: true })));
    } else if (m?.cmd === 'profile-stop' && session) {
      const s = session;
      session = undefined;
      s.post('Profiler.stop', (err, res) => {
        if (!err && m.file) writeFileSync(m.file, JSON.stringify(res.profile));
        s.disconnect();
        process.send?.({ profiled: m.file ?? null });
      });
    }
  });
}

export function ready(value: unknown): void {
  process.stdout.write(`${READY_PREFIX}${JSON.stringify(value)}\n`);
}

export function exitWithParent(onExit?: () => void): void {
  const bye = (): void => {
    try {
      onExit?.();
    } finally {
      process.exit(0);
    }
  };
  process.on('disconnect', bye);
  process.on('SIGTERM', bye);
  process.on('SIGINT', bye);
  if (!process.connected) bye();
}

/** `--name value` from argv (string). */
export function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

export function argNumber(name: string, def: number): number {
  const v = argValue(name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} needs a number, got ${v}`);
  return n;
}

/**
 * A burrow process of the bench runs as the CLI's long-running commands do: glibc's malloc thresholds
 * settled at start (src/core/malloc.ts), and a server keeps the heap headroom `burrow server` keeps
 * once it listens (src/core/heap-headroom.ts; the client commands do not). The peers' processes run
 * as their own CLIs do.
 */
export function likeBurrowCli(role: 'server' | 'client'): void {
  settleMallocThresholds();
  if (role === 'server') keepHeapHeadroom();
}
