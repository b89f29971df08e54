/**
 * bench/hop-reads: what one bare TCP hop (a Node process reading one socket and writing another)
 * costs per GiB when it reads the way Node pipes (`src.pipe(out)`: a fresh 64 KiB buffer per read)
 * and when it reads into reused buffers (src/core/pooled-reads.ts, each buffer back once `out`
 * wrote it), at one or several buffer sizes. The hop is the unit burrow's tunnel ends are made of.
 *
 *   node --import tsx bench/hop-reads.ts [--size-mib 1024] [--rounds 5] [--sizes 64,256]
 *
 * Each round runs every variant once, in a fresh hop process (plain `node` with tsx, glibc's malloc
 * thresholds settled as burrow's processes settle them: src/core/malloc.ts), between a source and a
 * sink in this process. It prints the hop's CPU seconds per GiB (user + system, from the hop
 * itself) and MiB/s per round, then the medians.
 */
import { spawn } from 'node:child_process';
import net, { type AddressInfo, type Socket } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { argNumber, argValue } from './lib/child.js';

const HERE = fileURLToPath(import.meta.url);

async function hop(): Promise<void> {
  const { settleMallocThresholds } = await import('../src/core/malloc.js');
  const { readIntoPool } = await import('../src/core/pooled-reads.js');
  settleMallocThresholds();
  const mode = argValue('mode')!;
  const kib = argNumber('kib', 64);
  const out = net.connect(argNumber('sink', 0), '127.0.0.1');
  const src = net.connect(argNumber('source', 0), '127.0.0.1');
  const t0 = process.cpuUsage();
  out.on('finish', () => {
    const c = process.cpuUsage(t0);
    process.stdout.write(`${JSON.stringify({ cpuS: (c.user + c.system) / 1e6 })}\n`);
    process.exit(0);
  });
  if (mode === 'pipe') {
    src.pipe(out);
    return;
  }
  await new Promise((r) => src.once('connect', r));
  const reads = readIntoPool(
    src,
    {
      onChunk(chunk, release) {
        if (!out.write(chunk, release)) {
          reads!.pause();
          out.once('drain', () => reads!.resume());
        }
      },
    },
    { bufferBytes: kib * 1024, firstBytes: kib * 1024 },
  );
  if (!reads) throw new Error('this socket cannot read into user buffers');
  src.on('end', () => out.end());
}

/** One transfer of `bytes` through a fresh hop process; its CPU seconds and the wall-clock MiB/s. */
async function once(mode: string, kib: number, bytes: number): Promise<{ cpuS: number; mibs: number }> {
  const block = Buffer.alloc(64 * 1024, 7);
  const source = net.createServer((s: Socket) => {
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes) {
        sent += block.length;
        if (!s.write(block)) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
    };
    pump();
  });
  let received = 0;
  const sink = net.createServer();
  const sinkDone = new Promise<void>((resolve) => {
    sink.on('connection', (s: Socket) => {
      s.on('data', (c: Buffer) => (received += c.length));
      s.on('end', () => resolve());
    });
  });
  await Promise.all([
    new Promise<void>((r) => source.listen(0, '127.0.0.1', r)),
    new Promise<void>((r) => sink.listen(0, '127.0.0.1', r)),
  ]);
  const t = process.hrtime.bigint();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      HERE,
      '--role',
      'hop',
      '--mode',
      mode,
      '--kib',
      String(kib),
      '--source',
      String((source.address() as AddressInfo).port),
      '--sink',
      String((sink.address() as AddressInfo).port),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += String(d)));
  await new Promise((r) => child.once('exit', r));
  await sinkDone;
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  source.close();
  sink.close();
  if (received !== bytes) throw new Error(`${mode} ${kib} KiB: ${received} of ${bytes} bytes arrived`);
  const { cpuS } = JSON.parse(out) as { cpuS: number };
  return { cpuS, mibs: bytes / 1048576 / seconds };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const bytes = argNumber('size-mib', 1024) * 1048576;
  const rounds = argNumber('rounds', 5);
  const sizes = (argValue('sizes') ?? '64,256').split(',').map(Number);
  const variants = [{ mode: 'pipe', kib: 64, name: 'pipe() (a fresh 64 KiB buffer per read)' }].concat(
    sizes.map((kib) => ({ mode: 'pooled', kib, name: `reused ${kib} KiB buffers` })),
  );
  const load0 = loadavg();
  const got = new Map<string, { cpu: number[]; mibs: number[] }>();
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const x = await once(v.mode, v.kib, bytes);
      const gib = bytes / 1024 ** 3;
      const g = got.get(v.name) ?? { cpu: [], mibs: [] };
      g.cpu.push(x.cpuS / gib);
      g.mibs.push(x.mibs);
      got.set(v.name, g);
      process.stdout.write(
        `round ${r + 1}, ${v.name}: ${(x.cpuS / gib).toFixed(2)} s/GiB, ${x.mibs.toFixed(0)} MiB/s\n`,
      );
    }
  }
  const pipeCpu = median(got.get(variants[0]!.name)!.cpu);
  process.stdout.write(
    `\nOne hop, ${bytes / 1048576} MiB per transfer, medians of ${rounds} rounds (load ${load0
      .map((l) => l.toFixed(1))
      .join(' ')} → ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}):\n\n| hop reads | CPU s/GiB | vs pipe() | MiB/s |\n|---|---:|---:|---:|\n`,
  );
  for (const v of variants) {
    const g = got.get(v.name)!;
    const c = median(g.cpu);
    process.stdout.write(
      `| ${v.name} | ${c.toFixed(2)} | ${(c / pipeCpu).toFixed(2)}× | ${median(g.mibs).toFixed(0)} |\n`,
    );
  }
}

if (argValue('role') === 'hop') await hop();
else await main();
