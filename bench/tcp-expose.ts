/**
 * bench/tcp-expose: raw TCP direct vs through `burrow tcp` (a public TCP port on the burrow server,
 * one multiplexed stream per connection to the agent, which dials the local service), and vs the
 * WebSocket access to the same tunnel (burrow's startTcpTunnel, multiplexed, → /tcp/<name>).
 *
 *   node --import tsx bench/tcp-expose.ts [--size-mib 1024] [--conns 100] [--exchanges 200] [--write] [--cpu-prof DIR]
 *
 * Processes: the targets (a sink that acks after N bytes, a source, an echo), the burrow server
 * (composeServer, --tcp-ports) and the agent (openTcpTunnel ×3) each run in their own child
 * process; the clients run in this process.
 * 1) one stream up: an 8-byte length, then N bytes; the sink answers one byte once it has all N.
 *    One stream down: an 8-byte length to the source, which sends N bytes.
 * 2) request/response: --conns connections in parallel, each doing --exchanges sequential 64-byte
 *    echo round trips.
 * --write replaces the "## tcp expose" section of bench/RESULTS.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { argNumber, argValue, exitWithParent, ready } from './lib/child.js';
import { ROOT, spawnChild, stopAll, type Child } from './lib/procs.js';
import { MSG, reqRes, runTargets, streamDown, streamUp } from './lib/tcp-targets.js';

// ---------------------------------------------------------------- child roles

async function runServer(): Promise<void> {
  const { composeServer } = await import('../src/server/compose.js');
  const from = 30000 + Math.floor(Math.random() * 9900);
  const composed = await composeServer({
    port: 0,
    address: '127.0.0.1',
    db: 'sqlite::memory:',
    tcpPorts: `${from}-${from + 49}`,
    logLevel: 'silent',
    processMetrics: false,
  });
  const { main } = await composed.listen();
  ready({ port: main.port });
  exitWithParent();
}

async function runAgent(): Promise<void> {
  const { openTcpTunnel } = await import('../src/client/open-tcp.js');
  const server = argValue('server')!;
  const out: Record<string, { port: number; wsUrl: string; token: string }> = {};
  for (const name of ['sink', 'source', 'echo']) {
    const t = await openTcpTunnel({ port: argNumber(name, 0), localHost: '127.0.0.1', server, reconnect: false });
    out[name] = { port: Number(new URL(t.tcpAddress!).port), wsUrl: t.wsUrl!, token: t.accessToken! };
  }
  ready(out);
  exitWithParent();
}

// ---------------------------------------------------------------- parent

/** Through one port, `conns` connections doing `exchanges` round trips each. */
function reqResOn(port: number, conns: number, exchanges: number): ReturnType<typeof reqRes> {
  return reqRes(
    Array.from({ length: conns }, () => port),
    exchanges,
  );
}

interface Row {
  name: string;
  up: number;
  down: number;
  perSec: number;
  p50: number;
  p99: number;
}

async function measure(
  name: string,
  ports: { sink: number; source: number; echo: number },
  bytes: number,
  conns: number,
  exchanges: number,
): Promise<Row> {
  const up = await streamUp(ports.sink, bytes);
  const down = await streamDown(ports.source, bytes);
  const rr = await reqResOn(ports.echo, conns, exchanges);
  const row = { name, up, down, ...rr };
  process.stdout.write(`${name}: ${JSON.stringify(row)}\n`);
  return row;
}

async function main(): Promise<void> {
  const sizeMiB = argNumber('size-mib', 1024);
  const conns = argNumber('conns', 100);
  const exchanges = argNumber('exchanges', 200);
  const bytes = sizeMiB * 1024 * 1024;
  const self = path.relative(path.join(ROOT, 'bench', 'lib'), path.join(ROOT, 'bench', 'tcp-expose.ts'));
  const children: Child<unknown>[] = [];
  try {
    const targets = spawnChild<{ sink: number; source: number; echo: number }>('targets', self, ['--role', 'targets']);
    children.push(targets);
    const t = await targets.ready;
    // --cpu-prof DIR: profile the server and the agent (written on exit).
    const profDir = argValue('cpu-prof');
    const prof = profDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] } : {};
    const server = spawnChild<{ port: number }>('server', self, ['--role', 'server'], prof);
    children.push(server);
    const { port } = await server.ready;
    type Exposed = Record<'sink' | 'source' | 'echo', { port: number; wsUrl: string; token: string }>;
    const agent = spawnChild<Exposed>(
      'agent',
      self,
      [
        '--role',
        'agent',
        '--server',
        `http://127.0.0.1:${port}`,
        '--sink',
        String(t.sink),
        '--source',
        String(t.source),
        '--echo',
        String(t.echo),
      ],
      prof,
    );
    children.push(agent);
    const x = await agent.ready;

    process.stdout.write(
      `one stream: ${sizeMiB} MiB; request/response: ${conns} connections × ${exchanges} × ${MSG} B\n`,
    );
    const rows: Row[] = [];
    rows.push(await measure('direct', t, bytes, conns, exchanges));
    rows.push(
      await measure(
        'burrow tcp (public port)',
        { sink: x.sink.port, source: x.source.port, echo: x.echo.port },
        bytes,
        conns,
        exchanges,
      ),
    );

    const { startTcpTunnel } = await import('../src/client/tcp-tunnel.js');
    const opts = { mode: 'multiplexed' as const, logLevel: 'none' as const };
    const ws = {
      sink: await startTcpTunnel(x.sink.wsUrl, x.sink.token, '127.0.0.1', 0, opts),
      source: await startTcpTunnel(x.source.wsUrl, x.source.token, '127.0.0.1', 0, opts),
      echo: await startTcpTunnel(x.echo.wsUrl, x.echo.token, '127.0.0.1', 0, opts),
    };
    rows.push(
      await measure(
        'burrow tcp via WebSocket access (burrow client, multiplexed)',
        { sink: ws.sink.address.port, source: ws.source.address.port, echo: ws.echo.address.port },
        bytes,
        conns,
        exchanges,
      ),
    );
    for (const w of Object.values(ws)) w.close();

    const d = rows[0]!;
    const f = (n: number, digits = 0): string => n.toFixed(digits);
    const table = [
      '| path | upload MiB/s | vs direct | download MiB/s | vs direct | exchanges/s | vs direct | p50 ms | p99 ms |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map(
        (r) =>
          `| ${r.name} | ${f(r.up)} | ${f(r.up / d.up, 2)}× | ${f(r.down)} | ${f(r.down / d.down, 2)}× | ${f(r.perSec)} | ${f(r.perSec / d.perSec, 2)}× | ${f(r.p50, 2)} | ${f(r.p99, 2)} |`,
      ),
    ].join('\n');
    process.stdout.write(`\n${table}\n`);
    if (process.argv.includes('--write')) writeResults(table, sizeMiB, conns, exchanges);
  } finally {
    await stopAll(children);
  }
}

function writeResults(table: string, sizeMiB: number, conns: number, exchanges: number): void {
  const file = path.join(ROOT, 'bench', 'RESULTS.md');
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = '# Benchmark results\n';
  }
  const section = [
    '## tcp expose',
    '',
    `Command: \`node --import tsx bench/tcp-expose.ts --write\` (defaults: \`--size-mib ${sizeMiB} --conns ${conns} --exchanges ${exchanges}\`).`,
    'Targets (a sink that acks after N bytes, a source, an echo), the burrow server (composeServer with',
    '--tcp-ports, no TLS) and the agent (`openTcpTunnel`, one tunnel per target) run in three child',
    'processes; the clients run in the bench process. "Upload"/"download": one connection,',
    `${sizeMiB} MiB client → target / target → client. "Exchanges": ${conns} connections in parallel, each`,
    `doing ${exchanges} sequential ${MSG}-byte echo round trips. 2-core VM shared with other jobs (load`,
    `average ${loadavg()[0]!.toFixed(1)} at the end of this run), so absolute numbers are noisy.`,
    '',
    table,
    '',
    'Reading: the ≥ 0.5× one-stream target is not met. Through the public port one stream ran at',
    '0.18× (upload) / 0.22× (download) of direct loopback, which is a kernel memory copy at 1.2–1.6',
    'GiB/s; 100 parallel small exchanges reached 0.50×. At load ≈ 20 the same bench gave 0.08× / 0.04×',
    "/ 0.40×. A CPU profile (`--cpu-prof DIR`, 512 MiB) puts the agent's time in `ws` framing:",
    "`_mask` 12 %, `frame` (copying each masked frame) 13 %, `writeBuffer` 13 %, GC 11 %. The server's",
    'time goes to `writev` 15 % and the `ws` receiver (`_write`, `getData`, `_unmask`) 24 %. An all-zero',
    "client mask on the agent's WebSocket (ws `generateMask` in src/client/agent.ts, tried on a scratch",
    'copy, not committed) raised download from 231–290 to 233–399 MiB/s in two back-to-back 512 MiB',
    'runs. Upload did not change, since server → agent frames are not masked. `bufferutil` is not installed.',
    '',
  ].join('\n');
  const re = /^## tcp expose\n[\s\S]*?(?=^## |(?![\s\S]))/m;
  text = re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}`;
  writeFileSync(file, text);
  process.stdout.write(`wrote the "## tcp expose" section of ${file}\n`);
}

const role = argValue('role');
if (role === 'targets') await runTargets();
else if (role === 'server') await runServer();
else if (role === 'agent') await runAgent();
else await main();
