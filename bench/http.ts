/**
 * Core HTTP bench (issue 2, "Performance"): the same origin directly, through burrow, through
 * pipenet (its npm package's own server and client) and through the `localtunnel` npm client on
 * pipenet's server (which speaks localtunnel's protocol), in one process tree. Every server, agent
 * and the origin run in their own child process (bench/lib/*.ts); the load generator
 * (autocannon, programmatic) runs here. Rounds alternate direct, burrow, pipenet, direct, …
 *
 *   a. small keep-alive GET at 50 connections      → req/s, p50/p99 latency
 *   b. one 256 MiB download (origin streams zeros)  → MiB/s
 *   c. 1,000 idle tunnels on one fresh burrow server (openTunnel, one WebSocket each, from a few
 *      agent processes)                             → server RSS (/api/status mem.rss) per tunnel
 *
 *   node --import tsx bench/http.ts [--quick] [--rounds 3] [--duration 5] [--connections 50]
 *        [--mib 256] [--tunnels 1000] [--agents 4] [--only a,b,c] [--cpu-prof <dir>]
 *
 * --quick: 2 rounds × 2 s, 64 MiB, 200 tunnels (about 45 s). Targets print as PASS/MISS; exit code 0.
 * bench/targets.ts runs this and the other benches and prints every target in one table.
 * --cpu-prof <dir> runs the scenario a/b burrow server and agent children with node --cpu-prof
 * (CPU-*.cpuprofile files in <dir>).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import {
  download,
  getJson,
  median,
  runRps,
  sleep,
  type DownloadSample,
  type RpsSample,
  type Target,
} from './lib/load.js';
import { spawnChild, stopAll, type Child } from './lib/procs.js';
import { startTunnelSetups } from './lib/setups.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}
function num(name: string, def: number): number {
  const v = arg(name);
  return v === undefined ? def : Number(v);
}
const quick = process.argv.includes('--quick');
const opts = {
  rounds: num('rounds', quick ? 2 : 3),
  duration: num('duration', quick ? 2 : 5),
  connections: num('connections', 50),
  mib: num('mib', quick ? 64 : 256),
  tunnels: num('tunnels', quick ? 200 : 1000),
  agents: num('agents', 4),
  only: new Set((arg('only') ?? 'a,b,c').split(',')),
  cpuProf: arg('cpu-prof'),
};
const DOWNLOAD_TIMEOUT_MS = 180_000;
const HARD_LIMIT_MS = 30 * 60_000;

const loads: number[] = [];
const load1 = (): number => {
  const l = os.loadavg()[0]!;
  loads.push(l);
  return l;
};
const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}
const checks: Check[] = [];
function check(name: string, value: number, op: '>=' | '<=', limit: number, detail: string): void {
  const ok = Number.isFinite(value) && (op === '>=' ? value >= limit : value <= limit);
  checks.push({ name, ok, detail: `${detail} (target ${op} ${limit})` });
}

async function expectBody(t: Target): Promise<void> {
  const r = await runRps(t, 1, 0.3);
  if (r.total === 0 || r.non2xx > 0 || r.errors > 0)
    throw new Error(`${t.name}: sanity request failed ${JSON.stringify(r)}`);
}

async function waitPipenetPool(port: number, id: string, n: number): Promise<number> {
  const end = Date.now() + 10_000;
  let sockets = 0;
  while (Date.now() < end) {
    const s = await getJson(port, `/api/tunnels/${id}/status`).catch((): Record<string, unknown> => ({}));
    sockets = Number(s['connectedSockets'] ?? 0);
    if (sockets >= n) break;
    await sleep(100);
  }
  return sockets;
}

async function scenariosAB(lines: string[]): Promise<void> {
  const children: Child<unknown>[] = [];
  const track = <T>(c: Child<T>): Child<T> => (children.push(c), c);
  try {
    const serverArgs = opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(opts.cpuProf)}`] : [];
    const { originPort, burrowPort, pnPort, burrowUrl, pn, lt } = await startTunnelSetups(track, serverArgs, {
      localtunnel: true,
    });
    const pnSockets = await waitPipenetPool(pnPort, pn.id, 10);
    await waitPipenetPool(pnPort, lt!.id, 10);
    const targets: Target[] = [
      { name: 'direct', port: originPort, host: `127.0.0.1:${originPort}` },
      { name: 'burrow', port: burrowPort, host: new URL(burrowUrl).host },
      { name: 'pipenet', port: pnPort, host: `${pn.id}.localhost:${pnPort}` },
      // the localtunnel npm client (what `lt` runs) on pipenet's server, which speaks its protocol
      { name: 'localtunnel', port: pnPort, host: `${lt!.id}.localhost:${pnPort}` },
    ];
    console.error(
      `origin :${originPort}; burrow :${burrowPort} ${burrowUrl}; pipenet :${pnPort} ${pn.url} (pool ${pnSockets} sockets)`,
    );
    for (const t of targets) await expectBody(t);

    if (opts.only.has('a')) {
      for (const t of targets) await runRps(t, opts.connections, 1); // warm-up
      const samples = new Map<string, RpsSample[]>(targets.map((t) => [t.name, []]));
      for (let round = 1; round <= opts.rounds; round++) {
        for (const t of targets) {
          const s = await runRps(t, opts.connections, opts.duration);
          samples.get(t.name)!.push(s);
          console.error(
            `a round ${round} ${t.name.padEnd(7)} ${fmt(s.rps).padStart(6)} req/s p50 ${s.p50} ms p99 ${s.p99} ms served ${s.served}/${opts.connections} conns non2xx ${s.non2xx} errors ${s.errors} load ${fmt(load1(), 1)}`,
          );
        }
      }
      const med = (name: string, k: keyof RpsSample): number => median(samples.get(name)!.map((s) => s[k]));
      const d = med('direct', 'rps');
      const p = med('pipenet', 'rps');
      lines.push(
        '',
        `a. small keep-alive GET, ${opts.connections} connections, ${opts.duration} s × ${opts.rounds} rounds (median)`,
        '',
        '| setup | req/s | p50 ms | p99 ms | vs direct | vs pipenet | per-round req/s | connections served (min) | non-2xx | errors |',
        '|---|---:|---:|---:|---:|---:|---|---:|---:|---:|',
      );
      for (const t of targets) {
        const ss = samples.get(t.name)!;
        const rps = med(t.name, 'rps');
        lines.push(
          `| ${t.name} | ${fmt(rps)} | ${fmt(med(t.name, 'p50'))} | ${fmt(med(t.name, 'p99'))} | ${fmt(rps / d, 2)}× | ${fmt(rps / p, 2)}× | ${ss.map((s) => fmt(s.rps)).join(' / ')} | ${Math.min(...ss.map((s) => s.served))}/${opts.connections} | ${ss.reduce((a, s) => a + s.non2xx, 0)} | ${ss.reduce((a, s) => a + s.errors, 0)} |`,
        );
      }
      const b = med('burrow', 'rps');
      // Same-round ratios too: the load on this shared machine drifts between rounds.
      const paired = (x: string, y: string, k: keyof RpsSample): string =>
        samples
          .get(x)!
          .map((s, i) => fmt(s[k] / samples.get(y)![i]![k], 2))
          .join(' / ');
      check(
        'a1 burrow req/s ≥ 0.5× direct',
        b / d,
        '>=',
        0.5,
        `${fmt(b)} / ${fmt(d)} = ${fmt(b / d, 2)}×; same-round ratios ${paired('burrow', 'direct', 'rps')}`,
      );
      check(
        'a2 burrow req/s ≥ 10× pipenet',
        b / p,
        '>=',
        10,
        `${fmt(b)} / ${fmt(p)} = ${fmt(b / p, 2)}×; same-round ratios ${paired('burrow', 'pipenet', 'rps')}`,
      );
      const bp = med('burrow', 'p99');
      const dp = med('direct', 'p99');
      check(
        'a3 burrow p99 ≤ 3× direct',
        bp / dp,
        '<=',
        3,
        `${fmt(bp)} ms / ${fmt(dp)} ms = ${fmt(bp / dp, 2)}×; same-round ratios ${paired('burrow', 'direct', 'p99')}`,
      );
    }

    if (opts.only.has('b')) {
      const bytes = opts.mib * 1048576;
      const samples = new Map<string, DownloadSample[]>(targets.map((t) => [t.name, []]));
      for (let round = 1; round <= opts.rounds; round++) {
        for (const t of targets) {
          const s = await download(t, bytes, DOWNLOAD_TIMEOUT_MS);
          samples.get(t.name)!.push(s);
          console.error(
            `b round ${round} ${t.name.padEnd(7)} ${fmt(s.mibps).padStart(5)} MiB/s (${fmt(s.seconds, 2)} s)${s.ok ? '' : ` FAILED: ${s.error}`} load ${fmt(load1(), 1)}`,
          );
        }
      }
      const med = (name: string): number =>
        median(
          samples
            .get(name)!
            .filter((s) => s.ok)
            .map((s) => s.mibps),
        );
      const d = med('direct');
      lines.push(
        '',
        `b. one ${opts.mib} MiB download per round, ${opts.rounds} rounds (median of successful rounds)`,
        '',
        '| setup | MiB/s | vs direct | per-round MiB/s | failed |',
        '|---|---:|---:|---|---:|',
      );
      for (const t of targets) {
        const ss = samples.get(t.name)!;
        lines.push(
          `| ${t.name} | ${fmt(med(t.name))} | ${fmt(med(t.name) / d, 2)}× | ${ss.map((s) => (s.ok ? fmt(s.mibps) : 'fail')).join(' / ')} | ${ss.filter((s) => !s.ok).length} |`,
        );
      }
      const b = med('burrow');
      const ss = (name: string): DownloadSample[] => samples.get(name)!;
      const paired = ss('burrow')
        .map((s, i) => (s.ok && ss('direct')[i]!.ok ? fmt(s.mibps / ss('direct')[i]!.mibps, 2) : 'n/a'))
        .join(' / ');
      check(
        'b  burrow download ≥ 0.6× direct',
        b / d,
        '>=',
        0.6,
        `${fmt(b)} / ${fmt(d)} MiB/s = ${fmt(b / d, 2)}×; same-round ratios ${paired}`,
      );
    }
  } finally {
    await stopAll(children);
  }
}

interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

async function scenarioC(lines: string[]): Promise<void> {
  const children: Child<unknown>[] = [];
  try {
    const origin = spawnChild<{ port: number }>('origin', 'origin.ts');
    const server = spawnChild<{ port: number }>('burrow-server', 'burrow-server.ts', [], { nodeArgs: ['--expose-gc'] });
    children.push(origin, server);
    const [{ port: originPort }, { port }] = await Promise.all([origin.ready, server.ready]);
    const status = async (): Promise<{ tunnels: number; agents: number; mem: Mem; heap: Mem }> => {
      const g = await server.request<{ mem: Mem; gc: boolean }>({ cmd: 'gc' });
      const s = await getJson(port, '/api/status');
      return { tunnels: Number(s['tunnels']), agents: Number(s['agents']), mem: s['mem'] as Mem, heap: g.mem };
    };
    // Warm the server's code paths with one tunnel that comes and goes, then settle.
    const warm = spawnChild<unknown>('warm-agent', 'burrow-agent.ts', [
      '--server',
      `http://127.0.0.1:${port}`,
      '--port',
      String(originPort),
      '--count',
      '2',
      '--prefix',
      'warm',
    ]);
    await warm.ready;
    await warm.stop();
    await sleep(1500);
    const before = await status();
    const n = opts.tunnels;
    const per = Math.ceil(n / opts.agents);
    const t0 = Date.now();
    const agents: Child<{ count: number }>[] = [];
    for (let i = 0; i < opts.agents && i * per < n; i++) {
      const a = spawnChild<{ count: number }>(
        `agent-${i}`,
        'burrow-agent.ts',
        [
          '--server',
          `http://127.0.0.1:${port}`,
          '--port',
          String(originPort),
          '--count',
          String(Math.min(per, n - i * per)),
          '--prefix',
          `idle${i}`,
          '--concurrency',
          '25',
        ],
        { readyTimeoutMs: 240_000 },
      );
      agents.push(a);
      children.push(a);
    }
    const opened = (await Promise.all(agents.map((a) => a.ready))).reduce((s, r) => s + r.count, 0);
    const openS = (Date.now() - t0) / 1000;
    await sleep(3000); // idle: let pings and timers run
    const after = await status();
    console.error(
      `c ${opened} tunnels opened in ${fmt(openS, 1)} s; server reports ${after.tunnels} tunnels, ${after.agents} agents; rss ${fmt(before.mem.rss / 1048576, 1)} → ${fmt(after.mem.rss / 1048576, 1)} MiB load ${fmt(load1(), 1)}`,
    );
    const kb = (a: number, b: number): number => (b - a) / 1024 / n;
    const rssKb = kb(before.mem.rss, after.mem.rss);
    const heapKb = kb(before.heap.heapUsed, after.heap.heapUsed);
    const extKb = kb(before.heap.external, after.heap.external);
    lines.push(
      '',
      `c. ${n} idle tunnels (openTunnel, one WebSocket each, from ${agents.length} agent processes) on one fresh burrow server`,
      '',
      '| measure (server process, after full GC) | before | after | per tunnel |',
      '|---|---:|---:|---:|',
      `| tunnels / agents (/api/status) | ${before.tunnels} / ${before.agents} | ${after.tunnels} / ${after.agents} | |`,
      `| RSS (/api/status mem.rss) | ${fmt(before.mem.rss / 1048576, 1)} MiB | ${fmt(after.mem.rss / 1048576, 1)} MiB | **${fmt(rssKb, 1)} KB** |`,
      `| V8 heap used | ${fmt(before.heap.heapUsed / 1048576, 1)} MiB | ${fmt(after.heap.heapUsed / 1048576, 1)} MiB | ${fmt(heapKb, 1)} KB |`,
      `| external (buffers) | ${fmt(before.heap.external / 1048576, 1)} MiB | ${fmt(after.heap.external / 1048576, 1)} MiB | ${fmt(extKb, 1)} KB |`,
      '',
      `(${opened} tunnels opened in ${fmt(openS, 1)} s; KB = 1024 bytes.)`,
    );
    if (after.tunnels < n)
      checks.push({ name: 'c  all tunnels registered', ok: false, detail: `${after.tunnels} of ${n}` });
    check('c  server RSS ≤ 50 KB per idle tunnel', rssKb, '<=', 50, `${fmt(rssKb, 1)} KB/tunnel`);
  } finally {
    await stopAll(children);
  }
}

async function main(): Promise<void> {
  const hard = setTimeout(() => {
    console.error(`bench: hard time limit (${HARD_LIMIT_MS / 60000} min) reached; stopping`);
    process.exit(2);
  }, HARD_LIMIT_MS);
  hard.unref();
  const uptime = (): string => {
    try {
      return execFileSync('uptime', { encoding: 'utf8' }).trim();
    } catch {
      return `loadavg ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(', ')}`;
    }
  };
  const startUptime = uptime();
  const started = new Date();
  load1();
  console.error(`bench/http ${JSON.stringify({ ...opts, only: [...opts.only] })}\nstart: ${startUptime}`);
  const lines: string[] = [];
  if (opts.only.has('a') || opts.only.has('b')) await scenariosAB(lines);
  if (opts.only.has('c')) await scenarioC(lines);
  const endUptime = uptime();
  const cpus = os.cpus();
  console.log(
    `\nDate: ${started.toISOString()}  ·  Node ${process.version}  ·  ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}`,
  );
  console.log(`Command: node --import tsx bench/http.ts ${process.argv.slice(2).join(' ')}`.trimEnd());
  console.log(
    `Load: start \`${startUptime}\`; end \`${endUptime}\`; 1-min load during runs ${fmt(Math.min(...loads), 1)}–${fmt(Math.max(...loads), 1)}`,
  );
  console.log(lines.join('\n'));
  console.log('\nTargets:\n');
  for (const c of checks) console.log(`- ${c.ok ? 'PASS' : 'MISS'} ${c.name}: ${c.detail}`);
  process.exitCode = 0;
}

await main();
