/**
 * bench/ws-access-cpu: the CPU seconds per GiB each burrow process spends on the WebSocket access
 * path of a TCP tunnel (`burrow connect URL --mode multiplexed` (or `--mode singleton`, `burrow connect`'s default) →
 * `burrow server` → `burrow tcp`), or with `--mode public-port` on the server's public TCP port
 * (`burrow server --tcp-ports` → `burrow tcp`, no access client),
 * one stream each way, for one build or two builds side by side (an A/B of a change).
 *
 *   node --import tsx bench/ws-access-cpu.ts [--builds A/dist/cli.js,B/dist/cli.js] [--size-mib 1024] [--rounds 6]
 *                                            [--mode multiplexed|singleton|public-port] [--cpu-prof DIR]
 *
 * Why CPU per process, and why two builds in one run: on a shared 2-core VM the throughput of one
 * stream swings by ±20 % between identical runs, and so does the CPU of a whole run; alternating
 * the builds round by round and comparing each round with the other build's rounds beside it
 * (paired) shows a change of a few per cent that a throughput table cannot. Each build has its own
 * server, agents and access clients (all the built CLI, as users run them); the targets (a sink
 * and a source, bench/lib/tcp-targets.ts) and the load run once for all. A build's first round is
 * a warm-up (JIT, buffer growth: it costs up to twice the later ones) and is not counted.
 * Without --builds, this checkout's dist/cli.js alone.
 */
import { loadavg } from 'node:os';
import path from 'node:path';
import { buildsArg, loadLine, pairedChange } from './lib/builds.js';
import { argNumber, argValue } from './lib/child.js';
import { median } from './lib/load.js';
import { ROOT, spawnChild, stopAll, type Child } from './lib/procs.js';
import { loopbackServerArgs, procSample, startCli, type CliProc } from './lib/soak-procs.js';
import { runTargets, streamDown, streamUp } from './lib/tcp-targets.js';

const MODE = argValue('mode') ?? 'multiplexed';
if (MODE !== 'multiplexed' && MODE !== 'singleton' && MODE !== 'public-port')
  throw new Error('--mode: multiplexed, singleton or public-port');
/** public-port: the streams go to the server's public TCP port (no access client: issue 19 item 4's "TCP one stream"). */
const PUBLIC = MODE === 'public-port';
/** --cpu-prof DIR: every burrow process writes a CPU profile there when it stops. */
const PROF_DIR = argValue('cpu-prof');
const NODE_ARGS = PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(PROF_DIR)}`] : [];
const ROLES = PUBLIC ? (['server', 'agent'] as const) : (['server', 'agent', 'access client'] as const);

interface Build {
  cli: string;
  /** The pids of the server, the sink's and source's agents, and access clients. */
  pids: { server: number; agent: { up: number; down: number }; access?: { up: number; down: number } };
  ports: { sink: number; source: number };
  /** Per counted round: CPU s/GiB of [server, agent, access client], upload and download. */
  up: number[][];
  down: number[][];
}

const cpuOf = (pid: number): number => procSample(pid)?.cpuS ?? 0;

async function startBuild(cli: string, t: { sink: number; source: number }, procs: CliProc[]): Promise<Build> {
  const start = async (name: string, args: string[], ready: RegExp): Promise<CliProc> => {
    const p = await startCli(`${name} (${cli})`, args, ready, 60_000, cli, NODE_ARGS);
    procs.push(p);
    return p;
  };
  const from = 30000 + Math.floor(Math.random() * 9900);
  const server = await start('burrow server', loopbackServerArgs(from, 10), /listening on [\d.]+:(\d+)/);
  const url = `http://127.0.0.1:${server.match[1]}`;
  const exposed = /"event":"ready".*"tcpAddress":"[^"]*:(\d+)","wsUrl":"([^"]+)","accessToken":"([^"]+)"/;
  const agent = (port: number): Promise<CliProc> =>
    start('burrow tcp', ['tcp', String(port), '--server', url, '--local-host', '127.0.0.1', '--json'], exposed);
  const access = (a: CliProc): Promise<CliProc> =>
    start(
      'burrow connect',
      ['connect', a.match[2]!, '--token', a.match[3]!, '--mode', MODE, '--json', '--log-level', 'error'],
      /"event":"ready".*"port":(\d+)/,
    );
  const sinkAgent = await agent(t.sink);
  const sourceAgent = await agent(t.source);
  if (PUBLIC) {
    return {
      cli,
      pids: { server: server.pid, agent: { up: sinkAgent.pid, down: sourceAgent.pid } },
      ports: { sink: Number(sinkAgent.match[1]), source: Number(sourceAgent.match[1]) },
      up: [],
      down: [],
    };
  }
  const sinkAccess = await access(sinkAgent);
  const sourceAccess = await access(sourceAgent);
  return {
    cli,
    pids: {
      server: server.pid,
      agent: { up: sinkAgent.pid, down: sourceAgent.pid },
      access: { up: sinkAccess.pid, down: sourceAccess.pid },
    },
    ports: { sink: Number(sinkAccess.match[1]), source: Number(sourceAccess.match[1]) },
    up: [],
    down: [],
  };
}

/** One round of a build: one stream up, one down; CPU s/GiB of each role. */
async function round(b: Build, bytes: number): Promise<{ up: number[]; down: number[]; mibs: number[] }> {
  const gib = bytes / 1024 ** 3;
  const dir = async (d: 'up' | 'down'): Promise<{ cpu: number[]; mibs: number }> => {
    const pids = [b.pids.server, b.pids.agent[d], ...(b.pids.access ? [b.pids.access[d]] : [])];
    const before = pids.map(cpuOf);
    const mibs = d === 'up' ? await streamUp(b.ports.sink, bytes) : await streamDown(b.ports.source, bytes);
    return { cpu: pids.map((p, i) => (cpuOf(p) - before[i]!) / gib), mibs };
  };
  const up = await dir('up');
  const down = await dir('down');
  return { up: up.cpu, down: down.cpu, mibs: [up.mibs, down.mibs] };
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

async function main(): Promise<void> {
  const builds = buildsArg();
  const bytes = argNumber('size-mib', 1024) * 1024 * 1024;
  const rounds = argNumber('rounds', 6);
  const startLoad = loadavg();
  const children: Child<unknown>[] = [];
  const procs: CliProc[] = [];
  try {
    const targets = spawnChild<{ sink: number; source: number; echo: number }>(
      'targets',
      path.relative(path.join(ROOT, 'bench', 'lib'), path.join(ROOT, 'bench', 'ws-access-cpu.ts')),
      ['--role', 'targets'],
    );
    children.push(targets);
    const t = await targets.ready;
    const started: Build[] = [];
    for (const cli of builds) started.push(await startBuild(cli, t, procs));
    process.stdout.write(
      `${MODE} mode, one stream each way, ${bytes / 1048576} MiB, ${rounds} rounds per build (the first not counted), builds alternating\n`,
    );
    for (let r = 0; r < rounds; r++) {
      for (const [i, b] of started.entries()) {
        const x = await round(b, bytes);
        const f = (v: number[]): string => v.map((c) => c.toFixed(2)).join(' / ');
        process.stdout.write(
          `round ${r + 1}, build ${i + 1}: up ${x.mibs[0]!.toFixed(0)} MiB/s, CPU s/GiB ${f(x.up)}; down ${x.mibs[1]!.toFixed(0)} MiB/s, ${f(x.down)}${r === 0 ? ' (warm-up)' : ''}\n`,
        );
        if (r > 0) {
          b.up.push(x.up);
          b.down.push(x.down);
        }
      }
    }
    const endLoad = loadavg();
    const cols = [...ROLES.map((r) => `${r} up / down`), 'sum up / down'];
    const lines = [
      `| build | ${cols.join(' | ')} |`,
      `|---|${cols.map(() => '---:').join('|')}|`,
      ...started.map((b, i) => {
        const cell = (k: number): string =>
          `${median(b.up.map((u) => u[k]!)).toFixed(2)} / ${median(b.down.map((d) => d[k]!)).toFixed(2)}`;
        const total = `${median(b.up.map(sum)).toFixed(2)} / ${median(b.down.map(sum)).toFixed(2)}`;
        return `| ${i + 1}: ${path.relative(ROOT, b.cli) || b.cli} | ${ROLES.map((_, k) => cell(k)).join(' | ')} | ${total} |`;
      }),
    ];
    process.stdout.write(`\nCPU seconds per GiB, medians of the counted rounds:\n\n${lines.join('\n')}\n`);
    if (started.length === 2) {
      // paired: each round of build 2 against build 1's same round
      const [a, b] = started as [Build, Build];
      const paired = (pick: (x: Build) => number[][], k: number | 'sum'): string => {
        const v = (row: number[]): number => (k === 'sum' ? sum(row) : row[k]!);
        return pairedChange(pick(a).map(v), pick(b).map(v));
      };
      process.stdout.write(
        `\nBuild 2 against build 1, same round (median, then each round), upload / download:\n\n` +
          [...ROLES.map((r, k) => [r, k] as const), ['sum', 'sum'] as const]
            .map(([name, k]) => `- ${name}: ${paired((x) => x.up, k)} / ${paired((x) => x.down, k)}`)
            .join('\n') +
          '\n',
      );
    }
    process.stdout.write(`\n${loadLine(startLoad, endLoad)}\n`);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await stopAll(children);
  }
}

if (argValue('role') === 'targets') await runTargets();
else await main();
