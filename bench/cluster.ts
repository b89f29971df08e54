/**
 * Cluster bench (issue 21): what the node-to-node hop costs. One origin (bench/lib/origin.ts, a
 * child process), two `burrow server --cluster` nodes (the built CLI, dist/cli.js) on one Redis,
 * one `burrow http` agent on node 1. Measured in the same run, rounds alternating:
 *   direct     the origin itself
 *   one node   visitor → node 1 → agent (the tunnel's own node)
 *   cross-node visitor → node 2 → node 1 → agent (one forwarding hop over the peer link)
 * a. small keep-alive GETs (autocannon, --connections for --duration s): req/s, p50, p99
 * b. one --mib MiB download per round: MiB/s
 *
 *   npm run build && node --import tsx bench/cluster.ts [--rounds 3] [--duration 5]
 *     [--connections 50] [--mib 256] [--redis redis://127.0.0.1:6379]
 */
import { randomBytes } from 'node:crypto';
import { freemem, loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { argNumber, argValue } from './lib/child.js';
import { download, median, runRps, type DownloadSample, type RpsSample, type Target } from './lib/load.js';
import { spawnChild, stopAll, type Child } from './lib/procs.js';
import { startCli, type CliProc } from './lib/soak-procs.js';

const ROUNDS = argNumber('rounds', 3);
const DURATION = argNumber('duration', 5);
const CONNECTIONS = argNumber('connections', 50);
const MIB = argNumber('mib', 256);
const REDIS = argValue('redis') ?? process.env['BURROW_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const SECRET = randomBytes(24).toString('hex');
const PREFIX = `burrow-bench-${process.pid}:`;
const NAME = 'benchcluster';

async function freePortFromServer(): Promise<number> {
  const net = await import('node:net');
  const s = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function main(): Promise<void> {
  const children: Child<unknown>[] = [];
  const procs: CliProc[] = [];
  try {
    const origin = spawnChild<{ port: number }>('origin', 'origin.ts');
    children.push(origin);
    const { port: originPort } = await origin.ready;
    const ports = [await freePortFromServer(), await freePortFromServer()];
    for (const [i, port] of ports.entries()) {
      procs.push(
        await startCli(
          `node${i + 1}`,
          [
            'server',
            '--port',
            String(port),
            '--address',
            '127.0.0.1',
            '--cluster',
            REDIS,
            '--cluster-secret',
            SECRET,
            '--cluster-prefix',
            PREFIX,
            '--node-id',
            `bench${i + 1}`,
            '--advertise-url',
            `http://127.0.0.1:${port}`,
            '--db',
            'sqlite::memory:',
            '--log-level',
            'warn',
            '--log-format',
            'json',
          ],
          /burrow \S+ listening on/,
        ),
      );
    }
    const agent = await startCli(
      'agent',
      ['http', `127.0.0.1:${originPort}`, '--server', `http://127.0.0.1:${ports[0]}`, '--subdomain', NAME, '--json'],
      /"ready"/,
    );
    procs.push(agent);
    const targets: Target[] = [
      { name: 'direct', port: originPort, host: `127.0.0.1:${originPort}` },
      { name: 'one node', port: ports[0]!, host: `${NAME}.localhost:${ports[0]}` },
      { name: 'cross-node', port: ports[1]!, host: `${NAME}.localhost:${ports[1]}` },
    ];
    // warm-up: the peer link opens, the JIT warms
    for (const t of targets) await runRps(t, 10, 1);

    const rps = new Map<string, RpsSample[]>(targets.map((t) => [t.name, []]));
    const dl = new Map<string, DownloadSample[]>(targets.map((t) => [t.name, []]));
    const loads: string[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of targets) rps.get(t.name)!.push(await runRps(t, CONNECTIONS, DURATION));
      for (const t of targets) dl.get(t.name)!.push(await download(t, MIB * 1048576, 120_000));
      loads.push(loadavg()[0]!.toFixed(1));
    }

    console.log(
      `\ncluster bench: ${ROUNDS} rounds, load avg after each round ${loads.join(' / ')}, ${(freemem() / 1048576).toFixed(0)} MiB free\n`,
    );
    console.log(`a. small keep-alive GET, ${CONNECTIONS} connections, ${DURATION} s × ${ROUNDS} rounds (median)\n`);
    console.log('| setup | req/s | p50 ms | p99 ms | vs one node | per-round req/s | non-2xx | errors |');
    console.log('|---|---:|---:|---:|---:|---|---:|---:|');
    const one = median(rps.get('one node')!.map((s) => s.rps));
    for (const t of targets) {
      const xs = rps.get(t.name)!;
      const m = median(xs.map((s) => s.rps));
      console.log(
        `| ${t.name} | ${m.toFixed(0)} | ${median(xs.map((s) => s.p50))} | ${median(xs.map((s) => s.p99))} | ${(m / one).toFixed(2)}× | ${xs.map((s) => s.rps.toFixed(0)).join(' / ')} | ${xs.reduce((a, s) => a + s.non2xx, 0)} | ${xs.reduce((a, s) => a + s.errors, 0)} |`,
      );
    }
    console.log(`\nb. one ${MIB} MiB download per round (median)\n`);
    console.log('| setup | MiB/s | vs one node | per-round MiB/s | failed |');
    console.log('|---|---:|---:|---|---:|');
    const oneDl = median(
      dl
        .get('one node')!
        .filter((s) => s.ok)
        .map((s) => s.mibps),
    );
    for (const t of targets) {
      const xs = dl.get(t.name)!;
      const m = median(xs.filter((s) => s.ok).map((s) => s.mibps));
      console.log(
        `| ${t.name} | ${m.toFixed(0)} | ${(m / oneDl).toFixed(2)}× | ${xs.map((s) => s.mibps.toFixed(0)).join(' / ')} | ${xs.filter((s) => !s.ok).length} |`,
      );
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop('SIGTERM', 5000)));
    await stopAll(children);
    const r = new Redis(REDIS);
    const keys = await r.keys(`${PREFIX}*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
  }
}

await main();
