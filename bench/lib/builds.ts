/**
 * What the A/B benches share (bench/http-inspect-cpu.ts, bench/http-small-cpu.ts,
 * bench/ws-access-cpu.ts): the builds named by --builds, a build's `burrow server` with a
 * `burrow http` agent, and the paired change of build 2 against build 1, round by round.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { argValue } from './child.js';
import { median } from './load.js';
import { CLI_JS, startCli, type CliProc } from './soak-procs.js';

/** The builds' dist/cli.js named by --builds (comma-separated; default this checkout's), each checked to exist. */
export function buildsArg(): string[] {
  const builds = (argValue('builds') ?? CLI_JS).split(',').map((p) => path.resolve(p));
  for (const b of builds) if (!existsSync(b)) throw new Error(`${b}: no such build (run npm run build there)`);
  return builds;
}

export interface HttpBuild {
  cli: string;
  /** The server's port, and the tunnel's Host. */
  port: number;
  host: string;
  server: number;
  agent: number;
}

/**
 * A build's `burrow server` (in-memory SQLite, on 127.0.0.1) and a `burrow http` agent of
 * `originUrl` with `agentFlags`, both the built CLI `cli`; each process is added to `procs` (the
 * caller stops them).
 */
export async function startHttpBuild(
  cli: string,
  originUrl: string,
  agentFlags: string[],
  procs: CliProc[],
  serverFlags: string[] = [],
): Promise<HttpBuild> {
  const server = await startCli(
    `burrow server (${cli})`,
    ['server', '--port', '0', '--address', '127.0.0.1', '--db', 'sqlite::memory:', ...serverFlags],
    /listening on [\d.]+:(\d+)/,
    60_000,
    cli,
  );
  procs.push(server);
  const agent = await startCli(
    `burrow http (${cli})`,
    ['http', originUrl, ...agentFlags, '--server', `http://127.0.0.1:${server.match[1]}`, '--json'],
    /"event":"ready".*"url":"http:\/\/([^"/]+)/,
    60_000,
    cli,
  );
  procs.push(agent);
  return { cli, port: Number(server.match[1]), host: agent.match[1]!, server: server.pid, agent: agent.pid };
}

/** Build 2's rounds against build 1's same rounds: the median change, then each round's ("-2.1 % (+3 -5 …)"). */
export function pairedChange(a: readonly number[], b: readonly number[]): string {
  const r = b.map((x, j) => x / a[j]! - 1);
  return `${(100 * median(r)).toFixed(1)} % (${r.map((x) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(0)}`).join(' ')})`;
}

/** "load average 1.0 1.2 1.3 → 1.4 1.2 1.3", from `start` (os.loadavg() then) to `end` (default now). */
export function loadLine(start: readonly number[], end: readonly number[] = loadavg()): string {
  const f = (l: readonly number[]): string => l.map((x) => x.toFixed(1)).join(' ');
  return `load average ${f(start)} → ${f(end)}`;
}
