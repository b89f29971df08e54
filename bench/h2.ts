/**
 * bench/h2: a page of 50 assets loaded in Chromium through a TLS burrow tunnel, over HTTP/2 and over
 * HTTP/1.1 (the same browser build with --disable-http2), in the same run, rounds alternating. The
 * origin answers each asset after `--delay` ms (a dev server's work; 0 = at once); each load uses a
 * fresh browser context (no cache, no warm connections). Prints the median load time (navigation
 * start → load event) of each, the ratio, and the TLS connections each load opened at the server.
 *
 *   node --import tsx bench/h2.ts [--rounds 10] [--assets 50] [--delay 0,20]
 *
 * Needs Debian's chromium (/usr/bin/chromium). burrow server, agent and origin run in this process.
 */
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createServer } from '../src/server/server.js';
import { openTunnel } from '../src/client/burrow/open-tunnel.js';
// the tests' certificate maker (openssl, a one-day self-signed certificate)
import { selfSignedCert } from '../test/helpers/tls.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : process.argv[i + 1]!;
}
const rounds = Number(arg('rounds', '10'));
const assets = Number(arg('assets', '50'));
const delays = arg('delay', '0,20').split(',').map(Number);
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'];

const dir = mkdtempSync(join(tmpdir(), 'burrow-bench-h2-'));
const certFiles = selfSignedCert(dir, 'bench.test', ['DNS:bench.test', 'DNS:*.bench.test']);

let delayMs = 0;
const origin = http.createServer((req, res) => {
  if (req.url === '/') {
    const imgs = Array.from({ length: assets }, (_, i) => `<img src="/a/${i}.svg" width="8" height="8">`).join('');
    res.writeHead(200, { 'Content-Type': 'text/html', 'Cache-Control': 'no-store' });
    res.end(`<!doctype html><title>bench</title><body>${imgs}</body>`);
    return;
  }
  setTimeout(() => {
    res.writeHead(200, { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'no-store' });
    res.end('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>');
  }, delayMs);
});
origin.listen(0, '127.0.0.1');
await once(origin, 'listening');

const server = createServer({
  port: 0,
  address: '127.0.0.1',
  domains: ['bench.test'],
  logLevel: 'silent',
  processMetrics: false,
  tls: { cert: readFileSync(certFiles.cert), key: readFileSync(certFiles.key) },
});
const { port } = await server.listen();
let connections = 0;
server.httpServer!.on('secureConnection', () => connections++);
// the agent over a plain forwarder to the TLS port (the bench's certificate is its own)
const forwarder = net.createServer((plain) => {
  const secure = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
  plain.pipe(secure).pipe(plain);
  plain.on('error', () => secure.destroy());
  secure.on('error', () => plain.destroy());
});
forwarder.listen(0, '127.0.0.1');
await once(forwarder, 'listening');
const tunnel = await openTunnel({
  port: (origin.address() as net.AddressInfo).port,
  localHost: '127.0.0.1',
  server: `http://127.0.0.1:${(forwarder.address() as net.AddressInfo).port}`,
  subdomain: 'page',
});

const launch = (extra: string[]): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: [...ARGS, '--ignore-certificate-errors', '--host-resolver-rules=MAP *.bench.test 127.0.0.1', ...extra],
  });
const browsers = { h2: await launch([]), 'http/1.1': await launch(['--disable-http2']) };

async function load(b: Browser): Promise<{ ms: number; protocol: string; connections: number }> {
  const ctx = await b.newContext();
  const page = await ctx.newPage();
  const before = connections;
  await page.goto(`https://page.bench.test:${port}/`, { waitUntil: 'load' });
  const r = await page.evaluate<{ ms: number; protocol: string; n: number }>(`(() => {
    const n = performance.getEntriesByType('navigation')[0];
    const a = performance.getEntriesByType('resource').filter((e) => e.name.includes('/a/'));
    return { ms: n.loadEventStart, protocol: n.nextHopProtocol, n: a.length };
  })()`);
  await ctx.close();
  if (r.n !== assets) throw new Error(`loaded ${r.n} of ${assets} assets`);
  return { ms: r.ms, protocol: r.protocol, connections: connections - before };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `# ${new Date().toISOString()} · Node ${process.version} · ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
);
console.log(`# node --import tsx bench/h2.ts --rounds ${rounds} --assets ${assets} --delay ${delays.join(',')}`);
console.log(
  `# load at start: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log('');
console.log('| origin delay per asset | over | median load ms | per-round ms | TLS connections per load | h2 ÷ h1 |');
console.log('|---:|---|---:|---|---:|---:|');
try {
  for (const d of delays) {
    delayMs = d;
    const got: Record<string, { ms: number[]; conns: number[]; protocol: string }> = {};
    for (const k of Object.keys(browsers)) got[k] = { ms: [], conns: [], protocol: '' };
    await load(browsers.h2); // warm the tunnel and the origin
    for (let r = 0; r < rounds; r++) {
      for (const [k, b] of Object.entries(browsers)) {
        const x = await load(b);
        got[k]!.ms.push(x.ms);
        got[k]!.conns.push(x.connections);
        got[k]!.protocol = x.protocol;
      }
    }
    const h2 = median(got.h2!.ms);
    const h1 = median(got['http/1.1']!.ms);
    for (const [k, g] of Object.entries(got)) {
      console.log(
        `| ${d} ms | ${g.protocol} | ${median(g.ms).toFixed(0)} | ${g.ms.map((m) => m.toFixed(0)).join(' / ')} | ${median(g.conns)} | ${k === 'h2' ? (h2 / h1).toFixed(2) + '×' : ''} |`,
      );
    }
  }
  console.log(
    `\n# load at end: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  for (const b of Object.values(browsers)) await b.close();
  tunnel.close();
  await server.close();
  forwarder.close();
  origin.close();
  rmSync(dir, { recursive: true, force: true });
}
