/**
 * bench/http-inspect-cpu: CPU seconds per GiB of `burrow http` (the agent, with its request inspector
 * on: the CLI's default) and `burrow server` for large HTTP downloads (or, with `--direction up`,
 * uploads), for one build or two builds side by side (an A/B of a change, rounds alternating,
 * compared round by round as bench/ws-access-cpu.ts).
 *
 *   node --import tsx bench/http-inspect-cpu.ts [--builds A/dist/cli.js,B/dist/cli.js] [--size-mib 256] [--rounds 7]
 *                                              [--direction down|up]
 *
 * Each build has its own server and agent (the built CLI); the origin (a Node HTTP server sending
 * --size-mib MiB with a Content-Length, or reading a PUT of that size) runs in this process. A
 * build's first round is a warm-up.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import path from 'node:path';
import { buildsArg, loadLine, pairedChange, startHttpBuild, type HttpBuild } from './lib/builds.js';
import { argNumber, argValue } from './lib/child.js';
import { median } from './lib/load.js';
import { ROOT } from './lib/procs.js';
import { procSample, type CliProc } from './lib/soak-procs.js';

interface Build extends HttpBuild {
  /** Per counted round: [agent, server] CPU s/GiB. */
  cpu: [number, number][];
}

const cpuOf = (pid: number): number => procSample(pid)?.cpuS ?? 0;

const DIRECTION = argValue('direction') ?? 'down';
if (DIRECTION !== 'down' && DIRECTION !== 'up') throw new Error('--direction: down or up');

/** PUT `mib` MiB (a Content-Length body) through the tunnel; resolves with the bytes the origin counted. */
function upload(b: Build, mib: number, block: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: b.port,
        path: '/',
        method: 'PUT',
        headers: { host: b.host, 'content-length': mib * block.length },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(Number(text)));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    let n = 0;
    const pump = (): void => {
      while (n < mib) {
        n++;
        if (!req.write(block)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

function download(b: Build): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: b.port, path: '/', headers: { host: b.host } }, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => (n += c.length));
        res.on('end', () => resolve(n));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function main(): Promise<void> {
  const builds = buildsArg();
  const mib = argNumber('size-mib', 256);
  const rounds = argNumber('rounds', 7);
  const block = Buffer.alloc(1024 * 1024, 7);
  const origin = http.createServer((req, res) => {
    if (req.method === 'PUT') {
      let got = 0;
      req.on('data', (c: Buffer) => (got += c.length));
      req.on('end', () => res.end(String(got)));
      return;
    }
    res.writeHead(200, { 'content-length': mib * block.length });
    let n = 0;
    const pump = (): void => {
      while (n < mib) {
        n++;
        if (!res.write(block)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const originPort = (origin.address() as AddressInfo).port;
  const procs: CliProc[] = [];
  const load0 = loadavg();
  try {
    const started: Build[] = [];
    for (const cli of builds) {
      const b = await startHttpBuild(cli, `http://127.0.0.1:${originPort}`, ['--inspect', '127.0.0.1:0'], procs);
      started.push({ ...b, cpu: [] });
    }
    process.stdout.write(
      `${mib} MiB ${DIRECTION === 'up' ? 'uploads' : 'downloads'} through burrow http (inspector on), ${rounds} rounds per build\n`,
    );
    for (let r = 0; r < rounds; r++) {
      for (const [i, b] of started.entries()) {
        const a0 = cpuOf(b.agent);
        const s0 = cpuOf(b.server);
        const t = process.hrtime.bigint();
        const n = DIRECTION === 'up' ? await upload(b, mib, block) : await download(b);
        const seconds = Number(process.hrtime.bigint() - t) / 1e9;
        if (n !== mib * block.length) throw new Error(`build ${i + 1}: ${n} of ${mib * block.length} bytes`);
        const gib = n / 1024 ** 3;
        const x: [number, number] = [(cpuOf(b.agent) - a0) / gib, (cpuOf(b.server) - s0) / gib];
        if (r > 0) b.cpu.push(x);
        process.stdout.write(
          `round ${r + 1}, build ${i + 1}: agent ${x[0].toFixed(2)}, server ${x[1].toFixed(2)} CPU s/GiB, ${(mib / seconds).toFixed(0)} MiB/s${r === 0 ? ' (warm-up)' : ''}\n`,
        );
      }
    }
    process.stdout.write(`\n| build | agent CPU s/GiB | server CPU s/GiB |\n|---|---:|---:|\n`);
    for (const [i, b] of started.entries()) {
      process.stdout.write(
        `| ${i + 1}: ${path.relative(ROOT, b.cli) || b.cli} | ${median(b.cpu.map((c) => c[0])).toFixed(2)} | ${median(b.cpu.map((c) => c[1])).toFixed(2)} |\n`,
      );
    }
    if (started.length === 2) {
      const [a, b] = started as [Build, Build];
      const paired = (k: 0 | 1): string =>
        pairedChange(
          a.cpu.map((c) => c[k]),
          b.cpu.map((c) => c[k]),
        );
      process.stdout.write(`\nBuild 2 against build 1, same round: agent ${paired(0)}; server ${paired(1)}\n`);
    }
    process.stdout.write(`\n${loadLine(load0)}\n`);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    origin.close();
  }
}

await main();
