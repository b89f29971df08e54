/**
 * Legacy clients bench: the same small keep-alive GET at 50 connections (autocannon), against
 *   direct            the origin itself
 *   burrow + lt       burrow's server (localtunnel adapter) with the real `lt` CLI
 *   burrow + pipenet  burrow's server with the real `pipenet client`
 *   pipenet + pipenet pipenet's own server (`pipenet server`) with `pipenet client`
 * Origin and servers run in child processes; rounds alternate between the rows.
 *
 *   node --import tsx bench/legacy-clients.ts [--duration 5] [--rounds 3] [--connections 50]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

interface AutocannonResult {
  requests: { average: number };
  latency: { p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (o: {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
}) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const here = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(here), '..');
const LT = path.join(root, 'node_modules/localtunnel/bin/lt.js');
const PIPENET = path.join(root, 'node_modules/pipenet/dist/cli.js');

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
}

// ---- child modes ----
if (process.argv[2] === '--child-origin') {
  const body = Buffer.from('hello from the origin\n');
  const s = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
  s.listen(0, '127.0.0.1', () => console.log(`PORT ${(s.address() as net.AddressInfo).port}`));
} else if (process.argv[2] === '--child-burrow') {
  const { createServer } = await import('../src/app/server.js');
  const { createLocaltunnelAdapter } = await import('../src/adapters/localtunnel/index.js');
  const server = createServer({
    address: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    processMetrics: false,
    adapters: [createLocaltunnelAdapter({ address: '127.0.0.1' })],
  });
  const a = await server.listen();
  console.log(`PORT ${a.port}`);
} else {
  await main();
}

function startChild(args: string[]): { child: ChildProcess; line: (re: RegExp) => Promise<RegExpMatchArray> } {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
  let out = '';
  const waiters: (() => void)[] = [];
  const on = (c: Buffer): void => {
    out += c.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout.on('data', on);
  child.stderr.on('data', on);
  const line = (re: RegExp): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout waiting for ${re}: ${out}`)), 20_000);
      const check = (): void => {
        const m = re.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        } else waiters.push(check);
      };
      check();
    });
  return { child, line };
}

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

function getJson(port: number, p: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, headers: { host: `127.0.0.1:${port}` } }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => {
          try {
            resolve(JSON.parse(b) as Record<string, unknown>);
          } catch {
            resolve({});
          }
        });
      })
      .on('error', reject);
  });
}

async function waitPool(serverPort: number, id: string, n: number): Promise<void> {
  const end = Date.now() + 20_000;
  for (;;) {
    const s = await getJson(serverPort, `/api/tunnels/${id}/status`).catch((): Record<string, unknown> => ({}));
    if (Number(s['connectedSockets'] ?? 0) >= n) return;
    if (Date.now() > end) throw new Error(`pool of ${id} did not reach ${n} sockets`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Row {
  name: string;
  port: number;
  host: string;
}

interface Sample {
  rps: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function run(row: Row, duration: number, connections: number): Promise<Sample> {
  const r = await autocannon({
    url: `http://127.0.0.1:${row.port}/`,
    connections,
    duration,
    headers: { host: row.host },
  });
  return { rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const duration = arg('duration', 5);
  const rounds = arg('rounds', 3);
  const connections = arg('connections', 50);
  const children: ChildProcess[] = [];
  const child = (args: string[]) => {
    const c = startChild(args);
    children.push(c.child);
    return c;
  };
  try {
    const origin = child(['--import', 'tsx', here, '--child-origin']);
    const originPort = Number((await origin.line(/PORT (\d+)/))[1]);

    const burrow = child(['--import', 'tsx', here, '--child-burrow']);
    const burrowPort = Number((await burrow.line(/PORT (\d+)/))[1]);
    const burrowUrl = `http://127.0.0.1:${burrowPort}`;

    const pnPort = await freePort();
    const pnServer = child([
      PIPENET,
      'server',
      '--port',
      String(pnPort),
      '--address',
      '127.0.0.1',
      '--domain',
      'localhost',
    ]);
    await pnServer.line(/listening on port/);

    const local = ['--local-host', '127.0.0.1'];
    const lt = child([LT, '--port', String(originPort), '--host', burrowUrl, '--subdomain', 'bench-lt']);
    const ltUrl = (await lt.line(/your url is: (\S+)/))[1]!;
    const pnb = child([
      PIPENET,
      'client',
      '--port',
      String(originPort),
      '--host',
      burrowUrl,
      '--subdomain',
      'bench-pipenet',
      ...local,
    ]);
    const pnbUrl = (await pnb.line(/your url is: (\S+)/))[1]!;
    const pnp = child([
      PIPENET,
      'client',
      '--port',
      String(originPort),
      '--host',
      `http://127.0.0.1:${pnPort}`,
      ...local,
    ]);
    const pnpUrl = (await pnp.line(/your url is: (\S+)/))[1]!;
    // pipenet's server builds the URL from the Host it was asked on: http://<id>.127.0.0.1:<port>.
    const pnpId = /^https?:\/\/([^.]+)\./.exec(pnpUrl)![1]!;

    await waitPool(burrowPort, 'bench-lt', 10);
    await waitPool(burrowPort, 'bench-pipenet', 10);
    await waitPool(pnPort, pnpId, 10);

    const rows: Row[] = [
      { name: 'direct', port: originPort, host: `127.0.0.1:${originPort}` },
      { name: 'burrow server + lt', port: burrowPort, host: new URL(ltUrl).host },
      { name: 'burrow server + pipenet client', port: burrowPort, host: new URL(pnbUrl).host },
      { name: 'pipenet server + pipenet client', port: pnPort, host: `${pnpId}.localhost:${pnPort}` },
    ];
    // Warm-up.
    for (const row of rows) await run(row, 1, connections);
    const samples = new Map<string, Sample[]>(rows.map((r) => [r.name, []]));
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? rows : [...rows].reverse();
      for (const row of order) {
        const s = await run(row, duration, connections);
        samples.get(row.name)!.push(s);
        console.error(
          `round ${i + 1} ${row.name}: ${Math.round(s.rps)} req/s p99 ${s.p99} ms non2xx ${s.non2xx} errors ${s.errors}`,
        );
      }
    }
    const base = median(samples.get('pipenet server + pipenet client')!.map((s) => s.rps));
    const baseP99 = median(samples.get('pipenet server + pipenet client')!.map((s) => s.p99));
    console.log(
      `\n| setup (${connections} connections, ${duration} s × ${rounds} rounds, median) | req/s | p99 ms | req/s vs pipenet server | p99 vs pipenet server | non-2xx | errors |`,
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const row of rows) {
      const ss = samples.get(row.name)!;
      const rps = median(ss.map((s) => s.rps));
      const p99 = median(ss.map((s) => s.p99));
      const non2xx = ss.reduce((a, s) => a + s.non2xx, 0);
      const errors = ss.reduce((a, s) => a + s.errors, 0);
      console.log(
        `| ${row.name} | ${Math.round(rps)} | ${p99} | ${(rps / base).toFixed(2)}× | ${(p99 / baseP99).toFixed(2)}× | ${non2xx} | ${errors} |`,
      );
    }
  } finally {
    for (const c of children) c.kill('SIGKILL');
  }
}
