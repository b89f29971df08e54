/**
 * bench/pipe: one sender to 1 and to 3 receivers through piping-server@1.12.9, `burrow pipe serve`
 * and a whole `burrow server` (/api/v1/pipe/), each in its own process, in the same run, with two
 * kinds of client: Node's http (SIZE, default 1 GiB; sender and receivers in this process) and
 * curl (`curl -T file URL` → `curl URL`, CURL_SIZE, default 200 MiB, each its own process).
 * Two reference rows run beside them (bench/pipe-server.ts PIPE_REFERENCES): piping-server with
 * glibc's malloc thresholds settled (the peer at its best) and the floor (the least a Node pipe
 * server does, bench/lib/pipe-floor.ts); `--no-references` leaves them out. For the Node-client
 * cases each round also says how busy this process (the client) was: near 100 % of a core, the
 * client, not the server, sets the pace.
 * Medians of RUNS rounds whose order rotates; ratios against piping-server; this process (the Node
 * clients) settles glibc's malloc thresholds first, as burrow's CLI does (src/core/malloc.ts); server RSS (idle after
 * start, after warm-up, peak during the runs) from /proc/<pid>/status (Linux). The servers run from
 * plain node and dist/ (bench/pipe-server.ts), so their RSS compares servers, not loaders.
 *
 *   npm run build && node --import tsx bench/pipe.ts [--size-mib 1024] [--curl-mib 200] [--runs 5]
 *     [--no-references]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { PIPE_REFERENCES, PIPE_SERVERS, rssMiB, startPipeServer } from './pipe-server.js';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { settleMallocThresholds } from '../src/core/malloc.js';

// The Node-client cases' sender and receivers live in this process: glibc trimming its heap per
// buffer here made each case's rounds swing 2-4x (2.4-7.1 s for the same 1 GiB to 3 receivers),
// whatever the server. Settled once, the client is the same steady one for every server; the servers
// themselves run as their users run them (pipe-server.ts).
settleMallocThresholds();

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    'curl-mib': { type: 'string', default: '200' },
    runs: { type: 'string', default: '5' },
    'no-references': { type: 'boolean', default: false },
  },
});
const SIZE = Number(values['size-mib']) * 1024 * 1024;
const CURL_SIZE = Number(values['curl-mib']) * 1024 * 1024;
const RUNS = Number(values.runs);
const IMPLS: readonly string[] = values['no-references'] ? PIPE_SERVERS : [...PIPE_SERVERS, ...PIPE_REFERENCES];
/** The cases: Node's http client and curl, each with 1 and 3 receivers. */
const CASES = [
  { name: 'node n=1', n: 1, curl: false },
  { name: 'node n=3', n: 3, curl: false },
  { name: 'curl n=1', n: 1, curl: true },
  { name: 'curl n=3', n: 3, curl: true },
] as const;

function body(total: number): Readable {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

function receive(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => resolve(n));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function send(url: string, size: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', agent: false, headers: { 'content-length': size } }, (res) => {
      res.resume();
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('error', reject);
    body(size).pipe(req);
  });
}

/** The share of one core this process used since `from` (process.cpuUsage()) over `secs`. */
function busy(from: NodeJS.CpuUsage, secs: number): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6 / secs;
}

/** Node's http client: n receivers and the sender in this process; the seconds and the client's busy share. */
async function transfer(
  base: string,
  path: string,
  n: number,
  size: number,
): Promise<{ secs: number; client: number }> {
  const url = `${base}/${path}${n > 1 ? `?n=${n}` : ''}`;
  const receivers = Array.from({ length: n }, () => receive(url));
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const [got] = await Promise.all([Promise.all(receivers), send(url, size)]);
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  for (const g of got) if (g !== size) throw new Error(`receiver got ${g} of ${size} bytes`);
  return { secs, client: busy(cpu, secs) };
}

function curl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-sS', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`curl exited ${code}`))));
  });
}

/** curl as users run it: `curl -T file URL` and n × `curl URL`, each its own process. */
async function curlTransfer(base: string, path: string, file: string, size: number, n = 1): Promise<number> {
  const url = `${base}/${path}${n > 1 ? `?n=${n}` : ''}`;
  const start = process.hrtime.bigint();
  const [got] = await Promise.all([
    Promise.all(Array.from({ length: n }, () => curl(['-o', '/dev/null', '-w', '%{size_download}', url]))),
    curl(['-T', file, '-o', '/dev/null', url]),
  ]);
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  for (const g of got) if (Number(g) !== size) throw new Error(`curl received ${g} of ${size} bytes`);
  return secs;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Server {
  child: ChildProcess;
  stop: () => Promise<void>;
  base: string;
  idleRss: number;
  baseRss: number;
  peakRss: number;
}

const LOAD_AT_START = loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');
const dir = mkdtempSync(join(tmpdir(), 'burrow-pipe-bench-'));
const file = join(dir, 'curl.bin');
writeFileSync(file, Buffer.alloc(CURL_SIZE, 0x61));

// All servers live for the whole run; each round rotates which goes first, so none gets the
// warmer client. Peak RSS is sampled for each server throughout.
const servers = new Map<string, Server>();
for (const impl of IMPLS as typeof PIPE_SERVERS) {
  const s = await startPipeServer(impl);
  await new Promise((r) => setTimeout(r, 1000));
  const idle = rssMiB(s.child.pid!);
  servers.set(impl, { child: s.child, stop: () => s.stop(), base: s.base, idleRss: idle, baseRss: 0, peakRss: 0 });
}
for (const impl of IMPLS) {
  const s = servers.get(impl)!;
  for (const n of [1, 3]) await transfer(s.base, `warmup${n}`, n, 64 * 1024 * 1024);
  await curlTransfer(s.base, 'warmup-curl', file, CURL_SIZE);
  s.baseRss = rssMiB(s.child.pid!);
  s.peakRss = s.baseRss;
}
const sampler = setInterval(() => {
  for (const s of servers.values()) s.peakRss = Math.max(s.peakRss, rssMiB(s.child.pid!));
}, 50);
const rates = new Map<string, number[]>(); // `${case}|${impl}` → MiB/s per receiver
const clientBusy = new Map<string, number[]>(); // `${case}|${impl}` → the Node client's share of a core
let turn = 0;
for (const c of CASES) {
  const size = c.curl ? CURL_SIZE : SIZE;
  for (let r = 0; r < RUNS; r++) {
    const order = IMPLS.map((_, i) => IMPLS[(i + turn) % IMPLS.length]!);
    turn++;
    for (const impl of order) {
      const base = servers.get(impl)!.base;
      const path = `run-${c.name.replace(/\W/g, '')}-${r}`;
      const t = c.curl
        ? { secs: await curlTransfer(base, path, file, size, c.n), client: undefined }
        : await transfer(base, path, c.n, size);
      const mib = size / 1024 / 1024 / t.secs;
      const key = `${c.name}|${impl}`;
      rates.set(key, [...(rates.get(key) ?? []), mib]);
      if (t.client !== undefined) clientBusy.set(key, [...(clientBusy.get(key) ?? []), t.client]);
      const client = t.client === undefined ? '' : `, client ${(t.client * 100).toFixed(0)} % busy`;
      console.log(
        `${c.name} ${impl.padEnd(21)} run ${r + 1}/${RUNS}: ${t.secs.toFixed(2)} s (${mib.toFixed(0)} MiB/s per receiver${client})`,
      );
    }
  }
}
clearInterval(sampler);
for (const s of servers.values()) await s.stop();
rmSync(dir, { recursive: true, force: true });

console.log(
  `\nnode ${process.version}; Node client ${SIZE / 1024 / 1024} MiB, curl ${CURL_SIZE / 1024 / 1024} MiB; median of ${RUNS} rotating rounds; load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
const others = IMPLS.filter((i) => i !== 'piping-server');
console.log(`| case | piping-server MiB/s | ${others.map((i) => `${i} MiB/s (ratio)`).join(' | ')} |`);
console.log(`|---|---|${others.map(() => '---|').join('')}`);
for (const c of CASES) {
  const m = (impl: string): number => median(rates.get(`${c.name}|${impl}`)!);
  const p = m('piping-server');
  const cell = (impl: string): string => `${m(impl).toFixed(0)} (${(m(impl) / p).toFixed(2)}x)`;
  console.log(`| ${c.name} | ${p.toFixed(0)} | ${others.map(cell).join(' | ')} |`);
}
console.log(`\nThe Node client's share of a core during the Node-client rounds (median):`);
console.log(`| case | ${IMPLS.join(' | ')} |`);
console.log(`|---|${IMPLS.map(() => '---|').join('')}`);
for (const c of CASES.filter((k) => !k.curl)) {
  const b = (impl: string): string => `${(median(clientBusy.get(`${c.name}|${impl}`)!) * 100).toFixed(0)} %`;
  console.log(`| ${c.name} | ${IMPLS.map(b).join(' | ')} |`);
}
console.log(`\n| server | RSS idle after start | after warm-up | peak during the runs |`);
console.log(`|---|---|---|---|`);
for (const impl of IMPLS) {
  const s = servers.get(impl)!;
  console.log(`| ${impl} | ${s.idleRss.toFixed(0)} MiB | ${s.baseRss.toFixed(0)} MiB | ${s.peakRss.toFixed(0)} MiB |`);
}
const startLoad = LOAD_AT_START;
const ratioOf = (c: string, impl: string): number =>
  median(rates.get(`${c}|${impl}`)!) / median(rates.get(`${c}|piping-server`)!);
const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
console.log(`\nTargets (issue 16), burrow pipe serve vs piping-server; load at start ${startLoad}`);
console.log('| target | measured | result |');
console.log('|---|---:|---|');
for (const c of CASES) {
  const r = ratioOf(c.name, 'burrow');
  console.log(`| ${c.name}: each receiver ≥ 1.1× | ${r.toFixed(2)}× | ${verdict(r >= 1.1)} |`);
}
for (const impl of ['burrow', 'burrow-server']) {
  const peak = servers.get(impl)!.peakRss;
  const peer = servers.get('piping-server')!.peakRss;
  console.log(
    `| ${impl} peak RSS ≤ piping-server's | ${peak.toFixed(0)} vs ${peer.toFixed(0)} MiB | ${verdict(peak <= peer)} |`,
  );
}
if (IMPLS.includes('floor')) {
  const against = (c: string, impl: string, ref: string): string =>
    `${(median(rates.get(`${c}|${impl}`)!) / median(rates.get(`${c}|${ref}`)!)).toFixed(2)}×`;
  console.log(`\nReferences (same run): how far a faster server can go`);
  console.log('| case | floor vs piping-server-settled | burrow vs floor | burrow vs piping-server-settled |');
  console.log('|---|---:|---:|---:|');
  for (const c of CASES)
    console.log(
      `| ${c.name} | ${against(c.name, 'floor', 'piping-server-settled')} | ${against(c.name, 'burrow', 'floor')} | ${against(c.name, 'burrow', 'piping-server-settled')} |`,
    );
}
