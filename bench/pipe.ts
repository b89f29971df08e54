/**
 * bench/pipe: moves SIZE bytes (default 1 GiB) from one sender to 1 and to 3 receivers through
 * burrow's pipe and through piping-server@1.12.9, each server in its own process, in the same run.
 * Prints throughput (per receiver), the burrow/piping-server ratio and the server's peak RSS.
 *
 *   node --import tsx bench/pipe.ts [--size-mib 1024] [--runs 3]
 *
 * Sender and receivers run in this process; servers are sampled through /proc/<pid>/status (Linux).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { 'size-mib': { type: 'string', default: '1024' }, runs: { type: 'string', default: '3' } },
});
const SIZE = Number(values['size-mib']) * 1024 * 1024;
const RUNS = Number(values.runs);
const IMPLS: readonly string[] = ['burrow', 'piping-server'];
const FANOUTS = [1, 3];

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

async function startServer(kind: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('./pipe-server.ts', import.meta.url).pathname, kind],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = /\{"port":(\d+)\}/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${kind} exited with ${code}`)));
  });
  return { child, port };
}

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

async function transfer(port: number, path: string, n: number, size: number): Promise<number> {
  const url = `http://127.0.0.1:${port}/${path}${n > 1 ? `?n=${n}` : ''}`;
  const receivers = Array.from({ length: n }, () => receive(url));
  const start = process.hrtime.bigint();
  const [got] = await Promise.all([Promise.all(receivers), send(url, size)]);
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  for (const g of got) if (g !== size) throw new Error(`receiver got ${g} of ${size} bytes`);
  return secs;
}

interface Row {
  impl: string;
  n: number;
  /** Best and median MiB/s per receiver over the runs. */
  best: number;
  median: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// Both servers live for the whole run; runs alternate which goes first (ABBA…) so neither gets the
// warmer client, and the best of RUNS is kept. Peak RSS is sampled for each server throughout.
const servers = new Map<string, { child: ChildProcess; port: number; baseRss: number; peakRss: number }>();
for (const impl of IMPLS) {
  const s = await startServer(impl);
  servers.set(impl, { ...s, baseRss: 0, peakRss: 0 });
}
for (const impl of IMPLS) {
  const s = servers.get(impl)!;
  for (const n of FANOUTS) await transfer(s.port, `warmup${n}`, n, 64 * 1024 * 1024);
  s.baseRss = rssMiB(s.child.pid!);
  s.peakRss = s.baseRss;
}
const sampler = setInterval(() => {
  for (const s of servers.values()) s.peakRss = Math.max(s.peakRss, rssMiB(s.child.pid!));
}, 50);
const rows: Row[] = [];
let turn = 0;
for (const n of FANOUTS) {
  const rates = new Map<string, number[]>();
  for (let r = 0; r < RUNS; r++) {
    const order = turn++ % 2 === 0 ? IMPLS : [...IMPLS].reverse();
    for (const impl of order) {
      const secs = await transfer(servers.get(impl)!.port, `run-${n}-${r}`, n, SIZE);
      rates.set(impl, [...(rates.get(impl) ?? []), SIZE / 1024 / 1024 / secs]);
      console.log(
        `${impl.padEnd(14)} n=${n} run ${r + 1}/${RUNS}: ${secs.toFixed(2)} s (${(SIZE / 1024 / 1024 / secs).toFixed(0)} MiB/s per receiver)`,
      );
    }
  }
  for (const impl of IMPLS) {
    const r = rates.get(impl)!;
    rows.push({ impl, n, best: Math.max(...r), median: median(r) });
  }
}
clearInterval(sampler);
for (const s of servers.values()) s.child.kill('SIGTERM');

const b0 = servers.get('burrow')!;
const p0 = servers.get('piping-server')!;
console.log(`\nsize ${SIZE / 1024 / 1024} MiB, ${RUNS} run(s) each, node ${process.version}`);
console.log(
  `| receivers | burrow MiB/s (median / best) | piping-server MiB/s (median / best) | ratio (median) | ratio (best) |`,
);
console.log(`|---|---|---|---|---|`);
for (const n of FANOUTS) {
  const b = rows.find((r) => r.impl === 'burrow' && r.n === n)!;
  const p = rows.find((r) => r.impl === 'piping-server' && r.n === n)!;
  console.log(
    `| ${n} | ${b.median.toFixed(0)} / ${b.best.toFixed(0)} | ${p.median.toFixed(0)} / ${p.best.toFixed(0)} | ${(b.median / p.median).toFixed(2)}x | ${(b.best / p.best).toFixed(2)}x |`,
  );
}
console.log(`\n| server | RSS after warm-up | peak RSS during the runs |`);
console.log(`|---|---|---|`);
console.log(`| burrow | ${b0.baseRss.toFixed(0)} MiB | ${b0.peakRss.toFixed(0)} MiB |`);
console.log(`| piping-server | ${p0.baseRss.toFixed(0)} MiB | ${p0.peakRss.toFixed(0)} MiB |`);
