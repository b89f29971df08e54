/**
 * bench/http-small-cpu: CPU microseconds per small keep-alive request of `burrow server` and
 * `burrow http` (issue 19 item 2b: the server against a bare hop), for one build or two builds side
 * by side (an A/B of a change, rounds alternating, compared round by round as bench/ws-access-cpu.ts).
 *
 *   node --import tsx bench/http-small-cpu.ts [--builds A/dist/cli.js,B/dist/cli.js] [--duration 4]
 *                                             [--connections 50] [--rate 8000] [--rounds 9] [--inspect]
 *
 * Each build has its own server and agent (the built CLI, as users run them: bench/http-cpu.ts
 * runs the source through tsx, whose transform wraps every closure made at run time in a naming
 * call, about 2 % of the server's busy time in its profile); the origin (bench/lib/origin.ts) runs
 * once for all, and the load (autocannon, --connections keep-alive connections for --duration
 * seconds) in this process. The agent runs without its inspector unless --inspect. A build's first
 * round is a warm-up and is not counted.
 */
import { loadavg } from 'node:os';
import path from 'node:path';
import { buildsArg, loadLine, pairedChange, startHttpBuild, type HttpBuild } from './lib/builds.js';
import { argNumber } from './lib/child.js';
import { runRps, median } from './lib/load.js';
import { ROOT, spawnChild, stopAll } from './lib/procs.js';
import { procSample, type CliProc } from './lib/soak-procs.js';

interface Build extends HttpBuild {
  /** Per counted round: agent and server CPU µs per request, and req/s. */
  rounds: { agent: number; server: number; rps: number }[];
}

const cpuOf = (pid: number): number => procSample(pid)?.cpuS ?? 0;
/**
 * The load's default rate, below what either build reaches on 2 cores (15,000–20,000 req/s): at a
 * fixed rate each round batches alike, so CPU per request compares across rounds; unbounded, a
 * round that got less of the machine served fewer requests per write and cost more per request.
 */
const DEFAULT_RATE = 8000;

async function main(): Promise<void> {
  const builds = buildsArg();
  const duration = argNumber('duration', 4);
  const connections = argNumber('connections', 50);
  const rounds = argNumber('rounds', 9);
  const inspect = process.argv.includes('--inspect');
  /** Requests a second over all connections: 0 for as many as go (the CPU per request then moves with the batching). */
  const rate = argNumber('rate', DEFAULT_RATE) || undefined;
  const origin = spawnChild<{ port: number }>('origin', 'origin.ts');
  const procs: CliProc[] = [];
  const load0 = loadavg();
  try {
    const { port: originPort } = await origin.ready;
    const started: Build[] = [];
    for (const cli of builds) {
      const b = await startHttpBuild(
        cli,
        `http://127.0.0.1:${originPort}`,
        inspect ? ['--inspect', '127.0.0.1:0'] : ['--no-inspect'],
        procs,
        // the load opens its connections at once from one address
        ['--log-level', 'warn', '--max-connections-per-ip', '0'],
      );
      started.push({ ...b, rounds: [] });
    }
    process.stdout.write(
      `small GETs, ${connections} keep-alive connections at ${rate ?? 'an unbounded'} req/s, ${duration} s per round, ${rounds} rounds per build, inspector ${inspect ? 'on' : 'off'}\n`,
    );
    for (let r = 0; r < rounds; r++) {
      for (const [i, b] of started.entries()) {
        const a0 = cpuOf(b.agent);
        const s0 = cpuOf(b.server);
        const s = await runRps({ name: `build ${i + 1}`, port: b.port, host: b.host }, connections, duration, rate);
        if (s.errors > 0 || s.non2xx > 0 || s.total === 0)
          throw new Error(`build ${i + 1}: ${s.errors} errors, ${s.non2xx} non-2xx of ${s.total}`);
        const x = {
          agent: ((cpuOf(b.agent) - a0) / s.total) * 1e6,
          server: ((cpuOf(b.server) - s0) / s.total) * 1e6,
          rps: s.rps,
        };
        if (r > 0) b.rounds.push(x);
        process.stdout.write(
          `round ${r + 1}, build ${i + 1}: server ${x.server.toFixed(1)}, agent ${x.agent.toFixed(1)} CPU µs/request, ${x.rps.toFixed(0)} req/s${r === 0 ? ' (warm-up)' : ''}\n`,
        );
      }
    }
    process.stdout.write(`\n| build | server CPU µs/request | agent CPU µs/request | req/s |\n|---|---:|---:|---:|\n`);
    for (const [i, b] of started.entries()) {
      const m = (k: 'agent' | 'server' | 'rps'): number => median(b.rounds.map((x) => x[k]));
      process.stdout.write(
        `| ${i + 1}: ${path.relative(ROOT, b.cli) || b.cli} | ${m('server').toFixed(1)} | ${m('agent').toFixed(1)} | ${m('rps').toFixed(0)} |\n`,
      );
    }
    if (started.length === 2) {
      const [a, b] = started as [Build, Build];
      const paired = (k: 'agent' | 'server' | 'rps'): string =>
        pairedChange(
          a.rounds.map((x) => x[k]),
          b.rounds.map((x) => x[k]),
        );
      process.stdout.write(
        `\nBuild 2 against build 1, same round: server ${paired('server')}; agent ${paired('agent')}; req/s ${paired('rps')}\n`,
      );
    }
    process.stdout.write(`\n${loadLine(load0)}\n`);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await stopAll([origin]);
  }
}

await main();
