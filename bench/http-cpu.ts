/**
 * bench/http-cpu: CPU time per small request, per process — a measure that holds up on a shared
 * machine where req/s swings with other jobs. The same origin is loaded directly, through burrow
 * and through pipenet (autocannon in this process, 50 keep-alive connections); each process's
 * user+system time is read from /proc/<pid>/stat before and after, divided by the requests served.
 * The sum over all processes bounds what the 2-core machine can do: req/s ≤ cores / Σ CPU.
 * A reference row loads the simplest Node TCP proxy (socket.pipe both ways, bench/lib/pipe-proxy.ts):
 * the floor of one JavaScript hop; and two of them in a row, the floor of any design with two hops
 * (burrow has two: server and agent, plus the WebSocket between them). A second burrow row loads a
 * tunnel with a Basic-auth visitor rule (every request checked on the relay, credentials stripped),
 * and a third one a tunnel whose agent runs the request inspector (every request and response parsed
 * and recorded by the tap, docs/inspector.md; no page open): its req/s against the plain burrow
 * row's, same round, is the inspector's cost (target ≥ 0.85×).
 *
 * Each setup is also timed unloaded: --sequential requests (default 2000) one after another on one
 * keep-alive connection, p50/p99 in µs, so what each setup ADDS over direct can be compared (issue 19:
 * burrow adds ≤ 2× what two bare hops add). The run ends with the issue's targets, PASS/MISS.
 *
 *   node --import tsx bench/http-cpu.ts [--duration 5] [--connections 50] [--rounds 1] [--sequential 2000]
 *                                       [--profile DIR]
 *
 * --profile DIR writes steady-state CPU profiles of the burrow server and agent (only the measured
 * window, no start-up) to DIR/burrow-server.cpuprofile and DIR/burrow-agent.cpuprofile, and of the
 * agent with the inspector on to DIR/burrow-agent-inspect.cpuprofile.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runRps, sequentialLatency, type LatencySample, type Target } from './lib/load.js';
import { spawnChild, stopAll, type Child } from './lib/procs.js';
import { startTunnelSetups } from './lib/setups.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
}
const duration = arg('duration', 5);
const connections = arg('connections', 50);
/** Rounds over every setup, alternating; with more than one, a table of medians follows. */
const rounds = arg('rounds', 1);
const sequential = arg('sequential', 2000);
const TICK_S = 1 / 100; // USER_HZ on Linux
const profileAt = process.argv.indexOf('--profile');
const profileDir = profileAt === -1 ? undefined : path.resolve(process.argv[profileAt + 1] ?? '.');

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_S;
}
const selfCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const children: Child<unknown>[] = [];
const track = <T>(c: Child<T>): Child<T> => (children.push(c), c);
try {
  const { origin, server, agent, pnServer, pnClient, originPort, burrowPort, pnPort, burrowUrl, pn } =
    await startTunnelSetups(track);
  const pipeProxy = track(spawnChild<{ port: number }>('pipe-proxy', 'pipe-proxy.ts', ['--port', String(originPort)]));
  const { port: pipePort } = await pipeProxy.ready;
  // two hops in a row, like burrow's server and agent (without the WebSocket between them)
  const pipeFront = track(spawnChild<{ port: number }>('pipe-proxy-2', 'pipe-proxy.ts', ['--port', String(pipePort)]));
  const { port: pipeFrontPort } = await pipeFront.ready;
  // a second agent whose tunnel has a Basic-auth visitor rule: every request is checked on the relay
  const guardedAgent = track(
    spawnChild<{ urls: string[] }>('burrow-agent-basic', 'burrow-agent.ts', [
      '--server',
      `http://127.0.0.1:${burrowPort}`,
      '--port',
      String(originPort),
      '--count',
      '1',
      '--prefix',
      'guarded',
      '--basic-auth',
      'bench:bench-secret',
    ]),
  );
  const guardedUrl = (await guardedAgent.ready).urls[0]!;
  // a third agent with the request inspector on: every request and response is tapped and recorded
  const inspectedAgent = track(
    spawnChild<{ urls: string[] }>('burrow-agent-inspect', 'burrow-agent.ts', [
      '--server',
      `http://127.0.0.1:${burrowPort}`,
      '--port',
      String(originPort),
      '--count',
      '1',
      '--prefix',
      'inspected',
      '--inspect',
    ]),
  );
  const inspectedUrl = (await inspectedAgent.ready).urls[0]!;
  const basic = `Basic ${Buffer.from('bench:bench-secret').toString('base64')}`;
  const setups: { target: Target; procs: [string, number][]; profile?: [string, Child<unknown>][] }[] = [
    {
      target: { name: 'direct', port: originPort, host: `127.0.0.1:${originPort}` },
      procs: [['origin', origin.proc.pid!]],
    },
    {
      target: { name: 'node pipe proxy (one hop)', port: pipePort, host: `127.0.0.1:${pipePort}` },
      procs: [
        ['pipe proxy', pipeProxy.proc.pid!],
        ['origin', origin.proc.pid!],
      ],
    },
    {
      target: { name: 'two node pipe proxies in a row', port: pipeFrontPort, host: `127.0.0.1:${pipeFrontPort}` },
      procs: [
        ['pipe proxy 1', pipeFront.proc.pid!],
        ['pipe proxy 2', pipeProxy.proc.pid!],
        ['origin', origin.proc.pid!],
      ],
    },
    {
      target: { name: 'burrow', port: burrowPort, host: new URL(burrowUrl).host },
      procs: [
        ['burrow server', server.proc.pid!],
        ['burrow agent', agent.proc.pid!],
        ['origin', origin.proc.pid!],
      ],
      profile: [
        ['burrow-server', server],
        ['burrow-agent', agent],
      ],
    },
    {
      target: { name: 'burrow, inspector on', port: burrowPort, host: new URL(inspectedUrl).host },
      procs: [
        ['burrow server', server.proc.pid!],
        ['burrow agent', inspectedAgent.proc.pid!],
        ['origin', origin.proc.pid!],
      ],
      profile: [['burrow-agent-inspect', inspectedAgent]],
    },
    {
      target: {
        name: 'burrow, Basic-auth rule',
        port: burrowPort,
        host: new URL(guardedUrl).host,
        headers: { authorization: basic },
      },
      procs: [
        ['burrow server', server.proc.pid!],
        ['burrow agent', guardedAgent.proc.pid!],
        ['origin', origin.proc.pid!],
      ],
    },
    {
      target: { name: 'pipenet', port: pnPort, host: `${pn.id}.localhost:${pnPort}` },
      procs: [
        ['pipenet server', pnServer.proc.pid!],
        ['pipenet client', pnClient.proc.pid!],
        ['origin', origin.proc.pid!],
      ],
    },
  ];
  console.log(
    `Date: ${new Date().toISOString()} · Node ${process.version} · ${os.cpus().length} × ${os.cpus()[0]?.model}`,
  );
  console.log(
    `Command: node --import tsx bench/http-cpu.ts --duration ${duration} --connections ${connections} --rounds ${rounds}`,
  );
  console.log(
    `Load: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  console.log(
    '| setup | req/s | vs direct | load generator µs/req | process µs/req | Σ µs/req | 2 cores / Σ (req/s) | p99 ms at load | one connection p50 / p99 µs |',
  );
  console.log('|---|---:|---:|---:|---|---:|---:|---:|---:|');
  /** Per setup: req/s, server-side Σ (processes only), Σ with the load generator, by round. */
  const samples = new Map<
    string,
    { rps: number[]; procs: number[]; sum: number[]; p99: number[]; per: Map<string, number[]>; lat: LatencySample[] }
  >();
  for (let round = 0; round < rounds; round++) {
    let directRps = 0;
    for (const s of setups) {
      await runRps(s.target, connections, 1); // warm-up
      const profiled = profileDir && round === 0 ? (s.profile ?? []) : [];
      if (profiled.length) fs.mkdirSync(profileDir!, { recursive: true });
      for (const [, c] of profiled) await c.request({ cmd: 'profile-start' });
      const before = s.procs.map(([, pid]) => cpuSeconds(pid));
      const self0 = selfCpu();
      const r = await runRps(s.target, connections, duration);
      const self = ((selfCpu() - self0) / r.total) * 1e6;
      for (const [name, c] of profiled) {
        await c.request({ cmd: 'profile-stop', file: path.join(profileDir!, `${name}.cpuprofile`) });
      }
      const per = s.procs.map(([name, pid], i) => [name, ((cpuSeconds(pid) - before[i]!) / r.total) * 1e6] as const);
      const procs = per.reduce((a, [, v]) => a + v, 0);
      const sum = self + procs;
      if (s.target.name === 'direct') directRps = r.rps;
      if (r.non2xx || r.errors) console.log(`  (${s.target.name}: ${r.non2xx} non-2xx, ${r.errors} errors)`);
      const lat =
        sequential > 0
          ? await sequentialLatency(s.target, sequential).catch((err: Error) => {
              console.log(`  (${s.target.name}: sequential requests failed: ${err.message})`);
              return { p50: NaN, p99: NaN, count: 0 };
            })
          : { p50: NaN, p99: NaN, count: 0 };
      const got = samples.get(s.target.name) ?? {
        rps: [] as number[],
        procs: [] as number[],
        sum: [] as number[],
        p99: [] as number[],
        per: new Map<string, number[]>(),
        lat: [] as LatencySample[],
      };
      got.rps.push(r.rps);
      got.procs.push(procs);
      got.sum.push(sum);
      got.p99.push(r.p99);
      got.lat.push(lat);
      for (const [n, v] of per) got.per.set(n, [...(got.per.get(n) ?? []), v]);
      samples.set(s.target.name, got);
      console.log(
        `| ${s.target.name} | ${r.rps.toFixed(0)} | ${(r.rps / directRps).toFixed(2)}× | ${self.toFixed(1)} | ${per.map(([n, v]) => `${n} ${v.toFixed(1)}`).join(', ')} | ${sum.toFixed(1)} | ${((2 / sum) * 1e6).toFixed(0)} | ${r.p99} | ${lat.p50.toFixed(0)} / ${lat.p99.toFixed(0)} |`,
      );
    }
  }
  if (rounds > 1) {
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const direct = samples.get('direct')!;
    const burrow = samples.get('burrow');
    console.log(`\nMedians of ${rounds} rounds:\n`);
    console.log('| setup | req/s | vs direct | processes µs/req | Σ µs/req | vs burrow (Σ) |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const [name, v] of samples) {
      console.log(
        `| ${name} | ${med(v.rps).toFixed(0)} | ${(med(v.rps) / med(direct.rps)).toFixed(2)}× | ${med(v.procs).toFixed(1)} | ${med(v.sum).toFixed(1)} | ${burrow ? (med(v.sum) / med(burrow.sum)).toFixed(2) + '×' : ''} |`,
      );
    }
    const inspected = samples.get('burrow, inspector on');
    if (burrow && inspected) {
      // per round (the two rows ran back to back), then the median: the inspector's cost
      const ratios = inspected.rps.map((r, i) => r / burrow.rps[i]!);
      const cpu = inspected.sum.map((x, i) => burrow.sum[i]! / x);
      console.log(
        `\nInspector on vs off, small requests: req/s ${med(ratios).toFixed(2)}× (rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')}); CPU-bound req/s (2 cores / Σ) ${med(cpu).toFixed(2)}× (target ≥ 0.85×)`,
      );
    }
  }
  printTargets(samples);
} finally {
  await stopAll(children);
}

/**
 * Issue 19's targets for small requests (2, 3), from the medians of the rounds: burrow's req/s
 * against two bare hops in a row, its server's µs per request against one bare hop's, its p99 at
 * load against direct's, and what one connection's sequential requests gain in latency over direct.
 */
function printTargets(
  samples: Map<string, { rps: number[]; p99: number[]; per: Map<string, number[]>; lat: LatencySample[] }>,
): void {
  const med = (xs: number[]): number => {
    const v = [...xs].sort((a, b) => a - b);
    const m = Math.floor(v.length / 2);
    return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
  };
  const direct = samples.get('direct');
  const floor = samples.get('two node pipe proxies in a row');
  const hop = samples.get('node pipe proxy (one hop)');
  const burrow = samples.get('burrow');
  if (!direct || !floor || !hop || !burrow) return;
  const line = (ok: boolean, id: string, text: string): string => `- ${ok ? 'PASS' : 'MISS'} ${id} ${text}`;
  const rpsRatio = med(burrow.rps) / med(floor.rps);
  const server = med(burrow.per.get('burrow server') ?? []);
  const bare = med(hop.per.get('pipe proxy') ?? []);
  const p99Ratio = med(burrow.p99) / Math.max(1, med(direct.p99));
  // every setup runs as fast as it can, so its p99 is mostly queueing (50 connections over its own
  // req/s): the two-hop floor's ratio shows what any design with two hops reaches here
  const floorP99Ratio = med(floor.p99) / Math.max(1, med(direct.p99));
  const added = (s: typeof direct, q: 'p50' | 'p99'): number =>
    med(s.lat.map((l) => l[q])) - med(direct.lat.map((l) => l[q]));
  const out = [
    '',
    `Targets (issue 19; medians of ${burrow.rps.length} round(s)):`,
    '',
    line(rpsRatio >= 1, '19.2a', `small requests: burrow ${rpsRatio.toFixed(2)}× two bare hops' req/s (target ≥ 1.0)`),
    line(
      server <= bare,
      '19.2b',
      `burrow server ${server.toFixed(1)} µs/req vs one bare hop ${bare.toFixed(1)} (${(server / bare).toFixed(2)}×, target ≤ 1.0)`,
    ),
    line(
      p99Ratio <= 3,
      '19.2c',
      `p99 at ${connections} connections: burrow ${med(burrow.p99)} ms, direct ${med(direct.p99)} ms (${p99Ratio.toFixed(2)}×, target ≤ 3; autocannon's ms, direct's floored at 1; the floor, two bare hops: ${med(floor.p99)} ms, ${floorP99Ratio.toFixed(2)}×)`,
    ),
  ];
  for (const q of ['p50', 'p99'] as const) {
    const b = added(burrow, q);
    const f = added(floor, q);
    out.push(
      line(
        b <= 2 * f,
        `19.3-${q}`,
        `one connection, ${q}: burrow adds ${b.toFixed(0)} µs over direct, two bare hops ${f.toFixed(0)} µs (${(b / f).toFixed(2)}×, target ≤ 2)`,
      ),
    );
  }
  console.log(out.join('\n'));
}
