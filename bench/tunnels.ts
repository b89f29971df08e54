/**
 * bench/tunnels: 10,000 idle tunnels on one fresh `burrow server` (issue 19 item 6), in two shapes:
 *   single  AGENTS processes × openTunnel() calls, one agent WebSocket per tunnel
 *   group   AGENTS processes × openTunnels() groups of 64 tunnels (MAX_TUNNELS_PER_SESSION), one
 *           socket per group
 * The server runs from plain node and dist/ (`npm run build` first) with --expose-gc and the
 * inspector on loopback (HeapProfiler.collectGarbage before each memory reading). Per shape:
 * server RSS per tunnel after a full GC (target ≤ 20 KB), /health latency sampled every 100 ms for
 * IDLE_S seconds while the tunnels heartbeat (p50/p99/max, target ≤ 50 ms), and the server's CPU
 * (user+sys from /proc/<pid>/stat) over the same seconds: what the heartbeats cost.
 * Limits raised for the bench, all as server flags: --max-tunnels, --max-connections-per-ip and
 * --new-tunnels-per-minute (defaults 10,000, 256 and 60: one address opens them all here).
 * Over the same idle seconds the server's own event-loop delay (perf_hooks.monitorEventLoopDelay,
 * through the inspector: the longest turn the server itself was busy, as against time lost to the
 * sampler or the OS scheduler) is printed too. With --profile DIR the server is CPU-profiled through
 * the inspector over the idle seconds (DIR/tunnels-<shape>.cpuprofile, open in Chrome DevTools) and
 * its busiest functions and longest busy stretches (with what ran in them) are printed, and the
 * server's setImmediate calls are counted per 10 ms (the mux sends its queued frames — a PING, a
 * PONG — in one setImmediate per session): how bursty the heartbeats are. (The profiler starts 1 s
 * before the measured seconds: starting it stalls the server.)
 * The machine's own share of the tail: a bare Node HTTP server in a process of its own is sampled
 * right after each /health the same way ("control"), and the agent processes' CPU is read too.
 *
 *   npm run build && node --import tsx bench/tunnels.ts [--tunnels 10000] [--agents 8] [--idle-s 30] [--shapes single,group] [--profile DIR]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, createServer as createHttpServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { freePort, rssMiB, serverCliArgs } from './pipe-server.js';

const { values } = parseArgs({
  options: {
    role: { type: 'string', default: 'bench' },
    tunnels: { type: 'string', default: '10000' },
    agents: { type: 'string', default: '8' },
    'idle-s': { type: 'string', default: '30' },
    shapes: { type: 'string', default: 'single,group' },
    profile: { type: 'string' },
    // agent role
    server: { type: 'string' },
    shape: { type: 'string' },
    count: { type: 'string' },
    prefix: { type: 'string' },
    port: { type: 'string' },
  },
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

if (values.role === 'agent') await runAgent();
else await runBench();

/** An agent process: opens --count tunnels to --server in the --shape, prints READY, stays idle. */
async function runAgent(): Promise<void> {
  const count = Number(values.count);
  const server = values.server!;
  const port = Number(values.port);
  const prefix = values.prefix!;
  if (values.shape === 'group') {
    // one connection carries at most MAX_TUNNELS_PER_SESSION (64) tunnels: groups of that many
    const { openTunnels } = await import('../src/client/burrow/open-tunnels.js');
    const { MAX_TUNNELS_PER_SESSION } = await import('../src/wire/mux/limits.js');
    for (let from = 0; from < count; from += MAX_TUNNELS_PER_SESSION) {
      const size = Math.min(MAX_TUNNELS_PER_SESSION, count - from);
      const group = await openTunnels({
        server,
        tunnels: Array.from({ length: size }, (_, i) => ({
          kind: 'http' as const,
          name: `t${from + i}`,
          options: { port, localHost: '127.0.0.1', subdomain: `${prefix}-${from + i}` },
        })),
      });
      group.on('error', () => {});
    }
  } else {
    const { openTunnel } = await import('../src/client/burrow/open-tunnel.js');
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const i = next++;
        const t = await openTunnel({ port, server, localHost: '127.0.0.1', subdomain: `${prefix}-${i}` });
        t.on('error', () => {});
      }
    };
    await Promise.all(Array.from({ length: Math.min(25, count) }, () => worker()));
  }
  process.stdout.write('READY\n');
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  await new Promise(() => {});
}

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime (fields 14, 15)
}

function getJson(port: number, path: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () => resolve(JSON.parse(b) as Record<string, unknown>));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Milliseconds for one GET /health (or `path`) on a fresh connection. */
function healthMs(port: number, path = '/health'): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Inspector {
  gcAndMemory(): Promise<NodeJS.MemoryUsage>;
  /** Evaluate in the server (the console's `require` is in scope); the JSON-able result. */
  evaluate(expression: string): Promise<unknown>;
  startProfile(): Promise<void>;
  stopProfile(): Promise<CpuProfile>;
  close(): void;
}

/** The server's inspector: a full GC and process.memoryUsage() on demand, evaluation, a CPU profile. */
async function inspector(port: number): Promise<Inspector> {
  const list = await new Promise<{ webSocketDebuggerUrl: string }[]>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/json/list', agent: false }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () => resolve(JSON.parse(b) as { webSocketDebuggerUrl: string }[]));
    })
      .on('error', reject)
      .end();
  });
  const ws = new WebSocket(list[0]!.webSocketDebuggerUrl);
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  let id = 0;
  const pending = new Map<number, (v: unknown) => void>();
  ws.on('message', (d: Buffer) => {
    const m = JSON.parse(d.toString()) as { id?: number; result?: unknown };
    if (m.id !== undefined) pending.get(m.id)?.(m.result);
  });
  const call = (method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    async gcAndMemory() {
      await call('HeapProfiler.collectGarbage');
      await call('HeapProfiler.collectGarbage');
      const r = (await call('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      })) as { result: { value: string } };
      return JSON.parse(r.result.value) as NodeJS.MemoryUsage;
    },
    async evaluate(expression) {
      const r = (await call('Runtime.evaluate', { expression, returnByValue: true, includeCommandLineAPI: true })) as {
        result: { value: unknown };
      };
      return r.result.value;
    },
    async startProfile() {
      await call('Profiler.enable');
      await call('Profiler.setSamplingInterval', { interval: 250 });
      await call('Profiler.start');
    },
    async stopProfile() {
      const r = (await call('Profiler.stop')) as { profile: CpuProfile };
      return r.profile;
    },
    close: () => ws.close(),
  };
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * A summary of a CPU profile: the functions with the most self time, and the longest stretches of
 * back-to-back busy samples (not "(idle)"), each with how much of it ran under a timer
 * (listOnTimeout), a socket read (onStreamRead), or the garbage collector.
 */
function summarizeProfile(p: CpuProfile, skipMs: number): string[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (id: number): string => {
    const f = byId.get(id)!.callFrame;
    const file = f.url.replace(/^.*\/(node_modules\/)?/, '');
    return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
  };
  const under = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = byId.get(at)!.callFrame.functionName;
      if (name === '(garbage collector)') return 'gc';
      if (name === 'listOnTimeout' || name === 'processTimers') return 'timers';
      if (name === 'onStreamRead') return 'socket reads';
    }
    return 'other';
  };
  const self = new Map<number, number>();
  let total = 0;
  let idle = 0;
  const stretches: { ms: number; at: number; kinds: Map<string, number> }[] = [];
  let cur: { ms: number; at: number; kinds: Map<string, number> } | undefined;
  let t = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    t += dt;
    if (t < skipMs) continue;
    total += dt;
    const name = byId.get(id)!.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') {
      if (name === '(idle)') idle += dt;
      if (cur) stretches.push(cur);
      cur = undefined;
      continue;
    }
    self.set(id, (self.get(id) ?? 0) + dt);
    cur ??= { ms: 0, at: t, kinds: new Map() };
    cur.ms += dt;
    const k = under(id);
    cur.kinds.set(k, (cur.kinds.get(k) ?? 0) + dt);
  }
  if (cur) stretches.push(cur);
  const busy = total - idle;
  const bySelfLabel = new Map<string, number>();
  for (const [id, ms] of self) bySelfLabel.set(label(id), (bySelfLabel.get(label(id)) ?? 0) + ms);
  const out = [
    `profile (from ${(skipMs / 1000).toFixed(0)} s on; stretch times count from the profile's start): ${(total / 1000).toFixed(1)} s sampled, busy ${(busy / 1000).toFixed(2)} s; top self time:`,
  ];
  for (const [l, ms] of [...bySelfLabel].sort((a, b) => b[1] - a[1]).slice(0, 15))
    out.push(`  ${ms.toFixed(0).padStart(6)} ms ${((100 * ms) / busy).toFixed(1).padStart(5)} %  ${l}`);
  const kinds = new Map<string, number>();
  for (const s of stretches) for (const [k, ms] of s.kinds) kinds.set(k, (kinds.get(k) ?? 0) + ms);
  out.push(
    `busy time by cause: ${[...kinds]
      .sort((a, b) => b[1] - a[1])
      .map(([k, ms]) => `${k} ${ms.toFixed(0)} ms`)
      .join(', ')}`,
  );
  out.push('longest busy stretches (ms at s: cause ms):');
  for (const s of [...stretches].sort((a, b) => b.ms - a.ms).slice(0, 10))
    out.push(
      `  ${s.ms.toFixed(1).padStart(6)} ms at ${(s.at / 1000).toFixed(2)} s: ${[...s.kinds]
        .sort((a, b) => b[1] - a[1])
        .map(([k, ms]) => `${k} ${ms.toFixed(1)}`)
        .join(', ')}`,
    );
  return out;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function spawnAgent(args: string[]): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL(import.meta.url).pathname, '--role', 'agent', ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    },
  );
  const ready = new Promise<void>((resolve, reject) => {
    let b = '';
    child.stdout!.on('data', (c: Buffer) => {
      b += c.toString();
      if (b.includes('READY')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`agent exited with ${code}`)));
  });
  return { child, ready };
}

async function runBench(): Promise<void> {
  const N = Number(values.tunnels);
  const AGENTS = Number(values.agents);
  const IDLE_S = Number(values['idle-s']);
  const shapes = values.shapes.split(',');
  const origin = createHttpServer((_q, s) => s.end('ok')).listen(0, '127.0.0.1');
  await new Promise((r) => origin.once('listening', r));
  const originPort = (origin.address() as { port: number }).port;
  const lines: string[] = [];
  // the control: a bare HTTP server in its own process, sampled next to /health
  const control = spawn(
    process.execPath,
    [
      '-e',
      "require('node:http').createServer((q, s) => s.end('{}')).listen(0, '127.0.0.1', function () { console.log(this.address().port) })",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const controlPort = await new Promise<number>((resolve) =>
    control.stdout.once('data', (c: Buffer) => resolve(Number(c.toString().trim()))),
  );
  for (const shape of shapes) {
    const port = await freePort();
    const inspectPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'burrow-tunnels-'));
    const server = spawn(
      process.execPath,
      [
        '--expose-gc',
        `--inspect=127.0.0.1:${inspectPort}`,
        new URL('../dist/cli.js', import.meta.url).pathname,
        ...serverCliArgs(port, dir),
        '--max-tunnels',
        String(N + 100),
        '--max-connections-per-ip',
        String(N + 1000),
        '--new-tunnels-per-minute',
        '1000000',
      ],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
    const pid = server.pid!;
    const agents: ChildProcess[] = [];
    try {
      for (let i = 0; ; i++) {
        try {
          await getJson(port, '/health');
          break;
        } catch {
          if (i > 200) throw new Error('the server did not start');
          await sleep(50);
        }
      }
      const insp = await inspector(inspectPort);
      // warm the code paths with two tunnels that come and go
      const warm = spawnAgent([
        '--server',
        `http://127.0.0.1:${port}`,
        '--shape',
        shape,
        '--count',
        '2',
        '--prefix',
        'warm',
        '--port',
        String(originPort),
      ]);
      await warm.ready;
      warm.child.kill('SIGTERM');
      await sleep(2000);
      const before = await insp.gcAndMemory();
      const rssBefore = rssMiB(pid);
      const per = Math.ceil(N / AGENTS);
      const t0 = Date.now();
      const started = [];
      for (let i = 0; i < AGENTS && i * per < N; i++) {
        const a = spawnAgent([
          '--server',
          `http://127.0.0.1:${port}`,
          '--shape',
          shape,
          '--count',
          String(Math.min(per, N - i * per)),
          '--prefix',
          `a${i}`,
          '--port',
          String(originPort),
        ]);
        agents.push(a.child);
        started.push(a.ready);
      }
      await Promise.all(started);
      const openS = (Date.now() - t0) / 1000;
      await sleep(3000);
      const status = await getJson(port, '/api/status');
      const after = await insp.gcAndMemory();
      const rssAfter = rssMiB(pid);
      // the two forced full GCs of a ~100 MiB heap stall the server and leave it a backlog of heartbeats
      // to read: let it settle before sampling (a /health right after them waited 85–114 ms)
      await sleep(2000);
      // idle: /health every 100 ms while the tunnels heartbeat; the server's CPU over the same time
      const lat: number[] = [];
      await insp.evaluate(
        "globalThis.__benchLoop = require('node:perf_hooks').monitorEventLoopDelay({ resolution: 1 }); __benchLoop.enable(); 0",
      );
      if (values.profile) {
        await insp.evaluate(
          'globalThis.__benchImm = new Map(); { const orig = globalThis.setImmediate; globalThis.__benchImmOrig = orig; globalThis.setImmediate = function (...a) { const b = Math.floor(performance.now() / 10); __benchImm.set(b, (__benchImm.get(b) ?? 0) + 1); return orig.apply(this, a); }; } 0',
        );
        await insp.startProfile();
        await sleep(1000);
      }
      const ctl: number[] = [];
      const latAt: number[] = [];
      const agentTicks = (): number => agents.reduce((sum, a) => sum + cpuTicks(a.pid!), 0);
      const c0 = cpuTicks(pid);
      const a0 = agentTicks();
      const tIdle = Date.now();
      while (Date.now() - tIdle < IDLE_S * 1000) {
        const next = Date.now() + 100;
        latAt.push((Date.now() - tIdle) / 1000);
        lat.push(await healthMs(port));
        ctl.push(await healthMs(controlPort, '/'));
        await sleep(Math.max(0, next - Date.now()));
      }
      const cpuS = (cpuTicks(pid) - c0) / 100;
      const agentCpuS = (agentTicks() - a0) / 100;
      const wallS = (Date.now() - tIdle) / 1000;
      const loop = (await insp.evaluate(
        '__benchLoop.disable(); JSON.stringify({ p50: __benchLoop.percentile(50) / 1e6, p99: __benchLoop.percentile(99) / 1e6, max: __benchLoop.max / 1e6 })',
      )) as string;
      const { p50: loopP50, p99: loopP99, max: loopMax } = JSON.parse(loop) as Record<string, number>;
      const profileLines: string[] = [];
      if (values.profile) {
        const profile = await insp.stopProfile();
        const imm = JSON.parse(
          (await insp.evaluate(
            'globalThis.setImmediate = __benchImmOrig; JSON.stringify([...__benchImm.values()])',
          )) as string,
        ) as number[];
        const total = imm.reduce((a, b) => a + b, 0);
        const buckets = Math.round((wallS * 1000) / 10);
        const worst = [...imm].sort((a, b) => b - a);
        profileLines.push(
          `setImmediate calls (≈ mux flushes): ${total} in ${buckets} 10-ms windows (mean ${(total / buckets).toFixed(1)}); busiest windows: ${worst.slice(0, 8).join(', ')}; windows with more than 100: ${worst.filter((n) => n > 100).length}`,
        );
        mkdirSync(values.profile, { recursive: true });
        writeFileSync(join(values.profile, `tunnels-${shape}.cpuprofile`), JSON.stringify(profile));
        profileLines.push(...summarizeProfile(profile, 1000));
      }
      insp.close();
      const kb = (a: number, b: number): string => ((b - a) / 1024 / N).toFixed(1);
      const rssKb = ((rssAfter - rssBefore) * 1024) / N;
      lines.push(
        `\n### ${shape}: ${N} tunnels from ${agents.length} agent processes (${shape === 'group' ? 'openTunnels, 64 tunnels per socket' : 'openTunnel, one socket per tunnel'}); opened in ${openS.toFixed(1)} s; /api/status ${String(status['tunnels'])} tunnels, ${String(status['agents'])} agents; load ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
        '',
        '| measure (server, after full GC) | before | after | per tunnel |',
        '|---|---:|---:|---:|',
        `| RSS (/proc) | ${rssBefore.toFixed(1)} MiB | ${rssAfter.toFixed(1)} MiB | **${rssKb.toFixed(1)} KB** (${rssKb <= 20 ? 'PASS' : 'MISS'} ≤ 20 KB) |`,
        `| V8 heap used | ${(before.heapUsed / 1048576).toFixed(1)} MiB | ${(after.heapUsed / 1048576).toFixed(1)} MiB | ${kb(before.heapUsed, after.heapUsed)} KB |`,
        `| external | ${(before.external / 1048576).toFixed(1)} MiB | ${(after.external / 1048576).toFixed(1)} MiB | ${kb(before.external, after.external)} KB |`,
        '',
        `/health every 100 ms for ${wallS.toFixed(0)} s (${lat.length} samples): p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms (${Math.max(...lat) <= 50 ? 'PASS' : 'MISS'} ≤ 50 ms); server CPU ${cpuS.toFixed(2)} s user+sys in ${wallS.toFixed(0)} s = ${((100 * cpuS) / wallS).toFixed(1)} % of a core (heartbeats and the sampler's requests). The server's own event-loop delay over the same seconds: p50 ${loopP50!.toFixed(1)} ms, p99 ${loopP99!.toFixed(1)} ms, max ${loopMax!.toFixed(1)} ms. Slowest /health samples (ms at s): ${lat
          .map((ms, i) => [ms, latAt[i]!] as const)
          .sort((a, b) => b[0] - a[0])
          .slice(0, 5)
          .map(([ms, at]) => `${ms.toFixed(0)} at ${at.toFixed(1)}`)
          .join(
            ', ',
          )}. Control (a bare Node HTTP server in its own process, sampled right after each /health): p50 ${pct(ctl, 50).toFixed(1)} ms, p99 ${pct(ctl, 99).toFixed(1)} ms, max ${Math.max(...ctl).toFixed(1)} ms. Agent processes' CPU: ${agentCpuS.toFixed(2)} s = ${((100 * agentCpuS) / wallS).toFixed(1)} % of a core.`,
        ...(profileLines.length ? ['', '```', ...profileLines, '```'] : []),
      );
      console.error(lines.slice(-(8 + (profileLines.length ? profileLines.length + 3 : 0))).join('\n'));
    } finally {
      for (const a of agents) a.kill('SIGTERM');
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  }
  origin.close();
  control.kill('SIGTERM');
  console.log(
    `node ${process.version}; \`node --import tsx bench/tunnels.ts --tunnels ${N} --agents ${AGENTS} --idle-s ${IDLE_S}\``,
  );
  console.log(lines.join('\n'));
}
