/**
 * bench/tcp: raw TCP direct vs through burrow's TCP-over-WebSocket access (the limrun adapter),
 * driven by the real @limrun/api client and by burrow's own startTcpTunnel, in both modes.
 *
 *   node --import tsx bench/tcp.ts [--size-mib 1024] [--conns 100] [--exchanges 200] [--rounds 1] [--write]
 *
 * Processes: the targets (a sink that acks after N bytes, an echo) and the burrow adapter (on a
 * plain http server) each run in their own child process; the clients run in this process.
 * 1) one stream up: an 8-byte length, then N bytes; the sink answers one byte once it has all N.
 *    One stream down: an 8-byte length to the source, which sends N bytes.
 * 2) request/response: --conns connections in parallel, each doing --exchanges sequential 64-byte
 *    echo round trips (singleton mode: one tunnel per connection, as limrun allows one at a time).
 * --write replaces the "## tcp" section of bench/RESULTS.md.
 */
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startTcpTunnel as limrunStart } from '@limrun/api/tunnel';
import { argNumber, argValue, exitWithParent, ready } from './lib/child.js';
import { ROOT, spawnChild, stopAll, type Child } from './lib/procs.js';
import { MSG, reqRes, runTargets, streamDown, streamUp, targetFlags } from './lib/tcp-targets.js';

const TOKEN = 'bench-token';

// ---------------------------------------------------------------- child roles

async function runServer(): Promise<void> {
  const { createTcpWsAdapter } = await import('../src/adapters/tcp-ws/index.js');
  const adapter = createTcpWsAdapter({
    targets: [
      { name: 'sink', host: '127.0.0.1', port: argNumber('sink', 0), token: TOKEN },
      { name: 'source', host: '127.0.0.1', port: argNumber('source', 0), token: TOKEN },
      { name: 'echo', host: '127.0.0.1', port: argNumber('echo', 0), token: TOKEN },
    ],
  });
  const http = createHttpServer((_req, res) => res.writeHead(404).end());
  http.on('upgrade', (req, socket, head) => {
    if (!adapter.handleUpgrade?.(req, socket, head, new URL(req.url ?? '/', 'http://x'))) socket.destroy();
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  ready({ port: (http.address() as AddressInfo).port });
  exitWithParent();
}

// ---------------------------------------------------------------- parent

interface Tunnelish {
  address: { port: number };
  close(): void;
}
type Starter = (
  url: string,
  token: string,
  host: string,
  port: number,
  opts: { mode: 'singleton' | 'multiplexed'; logLevel: 'none' },
) => Promise<Tunnelish>;

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
rssTimer.unref();

/** One stream of `bytes` to the sink through `port`; returns MiB/s and the client's peak RSS. */
async function oneStream(port: number, bytes: number): Promise<{ mibps: number; rssMiB: number }> {
  peakRss = process.memoryUsage().rss;
  const mibps = await streamUp(port, bytes);
  return { mibps, rssMiB: peakRss / 1024 / 1024 };
}

/** Ask the source for `bytes` through `port`; returns MiB/s and the client's peak RSS. */
async function oneStreamDown(port: number, bytes: number): Promise<{ downMibps: number; downRssMiB: number }> {
  peakRss = process.memoryUsage().rss;
  const downMibps = await streamDown(port, bytes);
  return { downMibps, downRssMiB: peakRss / 1024 / 1024 };
}

interface Row {
  name: string;
  mibps: number;
  rssMiB: number;
  downMibps: number;
  downRssMiB: number;
  perSec: number;
  p50: number;
  p99: number;
}

const startedAt = new Date();
const startLoad = loadavg();
const fmtLoad = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' / ');

async function main(): Promise<void> {
  const sizeMiB = argNumber('size-mib', 1024);
  const conns = argNumber('conns', 100);
  const exchanges = argNumber('exchanges', 200);
  const bytes = sizeMiB * 1024 * 1024;
  const self = path.relative(path.join(ROOT, 'bench', 'lib'), path.join(ROOT, 'bench', 'tcp.ts'));
  const children: Child<unknown>[] = [];
  try {
    const targets = spawnChild<{ sink: number; source: number; echo: number }>('targets', self, ['--role', 'targets']);
    children.push(targets);
    const t = await targets.ready;
    const server = spawnChild<{ port: number }>('server', self, ['--role', 'server', ...targetFlags(t)]);
    children.push(server);
    const { port } = await server.ready;
    const base = `ws://127.0.0.1:${port}/tcp`;

    const { startTcpTunnel: burrowStart } = await import('../src/client/tcp-ws/tcp-tunnel.js');
    const clients: [string, Starter][] = [
      ['limrun client', limrunStart],
      ['burrow client', burrowStart],
    ];
    const rounds = argNumber('rounds', 1);
    const samples = new Map<string, Omit<Row, 'name'>[]>();
    const record = (name: string, r: Omit<Row, 'name'>): void => {
      samples.set(name, [...(samples.get(name) ?? []), r]);
      process.stdout.write(`${name}: ${JSON.stringify(r)}\n`);
    };

    process.stdout.write(
      `one stream: ${sizeMiB} MiB; request/response: ${conns} connections × ${exchanges} × ${MSG} B; ${rounds} round(s)\n`,
    );
    for (let round = 0; round < rounds; round++) {
      record('direct', {
        ...(await oneStream(t.sink, bytes)),
        ...(await oneStreamDown(t.source, bytes)),
        ...(await reqRes(Array<number>(conns).fill(t.echo), exchanges)),
      });
      for (const mode of ['singleton', 'multiplexed'] as const) {
        // Alternate the client order per round so neither always runs on a warmer machine.
        const ordered = round % 2 === 0 ? clients : [...clients].reverse();
        for (const [label, start] of ordered) {
          const opts = { mode, logLevel: 'none' } as const;
          const sinkTunnel = await start(`${base}/sink`, TOKEN, '127.0.0.1', 0, opts);
          const up = await oneStream(sinkTunnel.address.port, bytes);
          sinkTunnel.close();
          const sourceTunnel = await start(`${base}/source`, TOKEN, '127.0.0.1', 0, opts);
          const down = await oneStreamDown(sourceTunnel.address.port, bytes);
          sourceTunnel.close();
          const echoTunnels: Tunnelish[] =
            mode === 'singleton'
              ? await Promise.all(
                  Array.from({ length: conns }, () => start(`${base}/echo`, TOKEN, '127.0.0.1', 0, opts)),
                )
              : [await start(`${base}/echo`, TOKEN, '127.0.0.1', 0, opts)];
          const ports = Array.from(
            { length: conns },
            (_, i) => echoTunnels[mode === 'singleton' ? i : 0]!.address.port,
          );
          const rr = await reqRes(ports, exchanges);
          for (const x of echoTunnels) x.close();
          record(`${label}, ${mode}`, { ...up, ...down, ...rr });
        }
      }
    }
    const median = (xs: number[]): number => {
      const s = [...xs].sort((a, b) => a - b);
      return s[Math.floor(s.length / 2)] ?? 0;
    };
    const order = [
      'direct',
      ...(['singleton', 'multiplexed'] as const).flatMap((m) => clients.map(([l]) => `${l}, ${m}`)),
    ];
    const rows: Row[] = order.map((name) => {
      const xs = samples.get(name) ?? [];
      const pick = (k: keyof Omit<Row, 'name'>): number => median(xs.map((x) => x[k]));
      return {
        name,
        mibps: pick('mibps'),
        rssMiB: pick('rssMiB'),
        downMibps: pick('downMibps'),
        downRssMiB: pick('downRssMiB'),
        perSec: pick('perSec'),
        p50: pick('p50'),
        p99: pick('p99'),
      };
    });

    const d = rows[0]!;
    const fmt = (n: number, digits = 0): string => n.toFixed(digits);
    const table = [
      `| path (client → burrow limrun adapter → target) | upload MiB/s | vs direct | client peak RSS MiB | download MiB/s | vs direct | client peak RSS MiB | exchanges/s | vs direct | p50 ms | p99 ms |`,
      `|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
      ...rows.map(
        (r) =>
          `| ${r.name} | ${fmt(r.mibps)} | ${fmt(r.mibps / d.mibps, 2)}× | ${fmt(r.rssMiB)} | ${fmt(r.downMibps)} | ${fmt(r.downMibps / d.downMibps, 2)}× | ${fmt(r.downRssMiB)} | ${fmt(r.perSec)} | ${fmt(r.perSec / d.perSec, 2)}× | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} |`,
      ),
    ].join('\n');
    process.stdout.write(`\n${table}\n`);
    if (process.argv.includes('--write')) writeResults(table, sizeMiB, conns, exchanges, rounds);
  } finally {
    await stopAll(children);
  }
}

function writeResults(table: string, sizeMiB: number, conns: number, exchanges: number, rounds: number): void {
  const file = path.join(ROOT, 'bench', 'RESULTS.md');
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = '# Benchmark results\n';
  }
  const section = [
    '## tcp',
    '',
    `Command: \`node --import tsx bench/tcp.ts --size-mib ${sizeMiB} --conns ${conns} --exchanges ${exchanges} --rounds ${rounds} --write\``,
    `(medians of ${rounds} round(s), client order alternating per round; defaults are 1024 MiB, 100, 200, 1).`,
    'Targets (a sink that acks after N bytes, a source, an echo) and the burrow limrun adapter (on a',
    'plain http server, no TLS) run in two child processes; the clients run in the bench process.',
    `"Upload"/"download": ${sizeMiB} MiB client → target / target → client on one connection.`,
    `"Exchanges": ${conns} connections in parallel, each doing ${exchanges} sequential ${MSG}-byte echo`,
    `round trips (singleton mode: ${conns} tunnels, since a singleton tunnel carries one connection at`,
    'a time). "Client peak RSS" is the bench process\'s peak resident memory during that transfer.',
    '2-core VM shared with other jobs, so absolute numbers are noisy and single runs vary by 2× or more.',
    '',
    `Run: ${startedAt.toISOString()}, Node ${process.version}; load average (1, 5, 15 min) ${fmtLoad(startLoad)} at the start,`,
    `${fmtLoad(loadavg())} at the end.`,
    '',
    table,
    '',
    'Reading: every WebSocket path is far below direct here; the ≥ 0.5× one-stream target is not met',
    'for the WebSocket access. Upload: a bare ws → ws transfer with no burrow code in between measured',
    '80–110 MiB/s on this machine (load ≈ 10) — `ws` masks client frames and unmasks them in',
    'JavaScript when its optional native `bufferutil` addon is absent — and 300–390 MiB/s with an',
    'all-zero client mask; docs/tcp.md lists both levers (neither is on by default). Download (server',
    'frames are not masked) pays two extra JavaScript hops and copies; client, adapter and target in',
    'one process measured 120–310 MiB/s. Across rounds neither client was consistently faster;',
    "burrow's client stayed near the direct run's memory (backpressure both ways) where limrun's grew",
    '(it sends without checking `bufferedAmount` and writes without checking `write()`).',
    '',
    'The `burrow tcp` expose row (direct vs through an agent tunnel) belongs to the core `burrow tcp`',
    'bench and is not measured here.',
    '',
    '',
  ].join('\n');
  const re = /^## tcp\n[\s\S]*?(?=^## |(?![\s\S]))/m;
  text = re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}`;
  writeFileSync(file, text);
  process.stdout.write(`wrote the "## tcp" section of ${file}\n`);
}

const role = argValue('role');
if (role === 'targets') await runTargets();
else if (role === 'server') await runServer();
else await main();
