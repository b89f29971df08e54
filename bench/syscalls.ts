/**
 * bench/syscalls: system calls per request in the burrow server and its agent, counted by perf's
 * syscall tracepoints, at four loads: one connection sending requests one after another, 50
 * connections at 1,000 and at 10,000 req/s, and 50 connections unbounded. The same origin, server
 * and agent as bench/http-cpu (the agent's tunnel asks for request EVENTs, the SDK's default).
 * On a VM where CPU time per request swings by ±15–20 % between identical runs, these counts hold
 * still: run it on the builds before and after a change to the data path (bench/RESULTS.md).
 *
 *   node --import tsx bench/syscalls.ts [--duration 3]
 *
 * Needs `perf` and access to the tracepoints (root, or kernel.perf_event_paranoid ≤ -1); it says so
 * and exits 2 otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { argNumber } from './lib/child.js';
import { runRps, type Target } from './lib/load.js';
import { spawnChild, stopAll, type Child } from './lib/procs.js';

const durationS = argNumber('duration', 3);
const SYSCALLS = ['writev', 'write', 'read', 'epoll_pwait'] as const;
const EVENTS = SYSCALLS.map((s) => `syscalls:sys_enter_${s}`).join(',');

const probe = spawnSync('perf', ['stat', '-x,', '-e', 'syscalls:sys_enter_read', '--', 'true'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0 || /not supported|<not counted>|No permission/i.test(probe.stderr)) {
  process.stderr.write(
    `bench/syscalls needs perf with access to syscall tracepoints (apt-get install linux-perf; run as root or set kernel.perf_event_paranoid=-1): ${probe.error?.message ?? probe.stderr.trim()}\n`,
  );
  process.exit(2);
}

/** Count `EVENTS` of process `pid` while `during` runs; resolves with the count of each system call. */
async function counted<T>(pid: number, dir: string, during: () => Promise<T>): Promise<[T, Record<string, number>]> {
  const out = path.join(dir, `perf-${pid}-${Date.now()}.csv`);
  const perf = spawn('perf', ['stat', '-x,', '-e', EVENTS, '-p', String(pid), '-o', out], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 100)); // perf attaches
  const result = await during();
  perf.kill('SIGINT');
  await new Promise((r) => perf.once('exit', r));
  const counts: Record<string, number> = {};
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    const [value, , event] = line.split(',');
    const name = event?.replace('syscalls:sys_enter_', '');
    if (name && value && /^\d+$/.test(value)) counts[name] = Number(value);
  }
  return [result, counts];
}

const children: Child<unknown>[] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'burrow-syscalls-'));
try {
  const origin = spawnChild<{ port: number }>('origin', 'origin.ts');
  const server = spawnChild<{ port: number }>('burrow-server', 'burrow-server.ts');
  children.push(origin, server);
  const [{ port: originPort }, { port: serverPort }] = await Promise.all([origin.ready, server.ready]);
  const agent = spawnChild<{ urls: string[] }>('burrow-agent', 'burrow-agent.ts', [
    '--server',
    `http://127.0.0.1:${serverPort}`,
    '--port',
    String(originPort),
    '--count',
    '1',
  ]);
  children.push(agent);
  const { urls } = await agent.ready;
  const target: Target = { name: 'burrow', port: serverPort, host: new URL(urls[0]!).host };
  await runRps(target, 50, 1); // warm-up
  const loads: [string, number, number | undefined][] = [
    ['1 connection, sequential', 1, undefined],
    ['50 connections, 1,000 req/s', 50, 1_000],
    ['50 connections, 10,000 req/s', 50, 10_000],
    ['50 connections, unbounded', 50, undefined],
  ];
  process.stdout.write(
    `node ${process.version}; ${durationS} s per load; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(
        ' ',
      )}\n\n| load | req/s | ${SYSCALLS.map((s) => `server ${s}`).join(' | ')} | ${SYSCALLS.map((s) => `agent ${s}`).join(' | ')} |\n|---|---:|${'---:|'.repeat(2 * SYSCALLS.length)}\n`,
  );
  for (const [label, connections, rate] of loads) {
    const [[sample, serverCounts], agentCounts] = await counted(agent.proc.pid!, dir, () =>
      counted(server.proc.pid!, dir, () => runRps(target, connections, durationS, rate)),
    );
    const per = (c: Record<string, number>): string =>
      SYSCALLS.map((s) => ((c[s] ?? 0) / sample.total).toFixed(2)).join(' | ');
    process.stdout.write(`| ${label} | ${sample.rps.toFixed(0)} | ${per(serverCounts)} | ${per(agentCounts)} |\n`);
  }
  process.stdout.write('\n(system calls per answered request; the counts span the load plus perf’s start and stop)\n');
} finally {
  await stopAll(children);
  rmSync(dir, { recursive: true, force: true });
}
