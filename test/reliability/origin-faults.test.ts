/**
 * Faulty origins and hostile visitors on the relay (fast path) and the proxy (a tunnel with visitor
 * rules): every fault gets the right status, no stream is left open, nothing is replayed that the
 * visitor abandoned, and a well-behaved client of another tunnel on the same server sees no error.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { openTunnel, type Tunnel } from '../../src/client/burrow/open-tunnel.js';
import { createServer } from '../../src/app/server.js';
import { closeHttp, request, startOrigin, startServer } from '../helpers/harness.js';
import { runCli } from '../helpers/cli.js';
import { waitUntil } from '../helpers/wait.js';

type Path = 'relay' | 'proxy';

/** burrow listening itself (the relay's fast path), or mounted into an http.Server (the proxy). */
/** 1,000 visitors from one address need more than the per-address connection cap. */
const SERVER_OPTIONS = { maxConnectionsPerIp: 0 };

async function listen(
  path: Path,
  options: { requestTimeoutMs?: number },
): Promise<{ port: number; url: string; close: () => Promise<void> }> {
  if (path === 'relay') {
    const s = await startServer({ ...SERVER_OPTIONS, ...options });
    return { port: s.port, url: s.url, close: () => s.server.close() };
  }
  const burrow = createServer({ logLevel: 'silent', processMetrics: false, ...SERVER_OPTIONS, ...options });
  const app = http.createServer((q, r) => burrow.handleRequest(q, r));
  app.on('upgrade', burrow.handleUpgrade);
  app.listen(0, '127.0.0.1');
  await once(app, 'listening');
  const port = (app.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await burrow.close();
      await closeHttp(app);
    },
  };
}

/** A server, a healthy tunnel "calm" beside the one under test, and a background client on it. */
async function stack(
  handler: http.RequestListener,
  path: Path,
  opts: { faultAgent?: 'sdk' | 'none'; requestTimeoutMs?: number } = {},
) {
  const srv = await listen(path, opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {});
  const origin = await startOrigin(handler);
  const calmOrigin = await startOrigin((_q, r) => r.end('calm'));
  const tunnels: Tunnel[] = [];
  const open = async (port: number, subdomain: string) => {
    const t = await openTunnel({ port, server: srv.url, localHost: '127.0.0.1', subdomain });
    tunnels.push(t);
    return t;
  };
  if (opts.faultAgent !== 'none') await open(origin.port, 'fault');
  await open(calmOrigin.port, 'calm');
  // a well-behaved visitor of another tunnel, all along
  let calmErrors = 0;
  let calmDone = 0;
  let stop = false;
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 2 });
  const calmLoop = (async () => {
    while (!stop) {
      try {
        const r = await request(srv.port, 'calm.localhost', '/', { agent: keepAlive });
        if (r.status !== 200 || r.body.toString() !== 'calm') calmErrors++;
      } catch {
        calmErrors++;
      }
      calmDone++;
    }
  })();
  return {
    srv,
    originPort: origin.port,
    port: srv.port,
    url: srv.url,
    /** Open streams of every tunnel on the server (GET /health). */
    async allStreams(): Promise<number> {
      const r = await request(srv.port, `127.0.0.1:${srv.port}`, '/health');
      return (JSON.parse(r.body.toString()) as { connections: { streams: number } }).connections.streams;
    },
    async openStreams(name = 'fault'): Promise<number> {
      const r = await request(srv.port, `127.0.0.1:${srv.port}`, `/api/tunnels/${name}/status`);
      return (JSON.parse(r.body.toString()) as { openStreams: number }).openStreams;
    },
    async close(): Promise<{ calmErrors: number; calmDone: number }> {
      stop = true;
      await calmLoop;
      keepAlive.destroy();
      for (const t of tunnels) t.close();
      await srv.close();
      origin.server.closeAllConnections();
      await closeHttp(origin.server);
      await closeHttp(calmOrigin.server);
      return { calmErrors, calmDone };
    },
  };
}

/** Write raw bytes, collect everything until the server closes. */
async function exchange(port: number, data: string): Promise<string> {
  const s = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.on('error', () => {});
  s.write(data);
  await once(s, 'close');
  return Buffer.concat(chunks).toString('latin1');
}

for (const path of ['relay', 'proxy'] as const) {
  void test(`regression: stream leak when the origin closes without answering (${path})`, async () => {
    const t = await stack((q, r) => (q.url === '/drop' ? q.socket?.destroy() : r.end('ok')), path);
    try {
      const agent = new http.Agent({ keepAlive: false });
      for (let i = 0; i < 60; i++) {
        const r = await request(t.port, 'fault.localhost', '/drop', { agent });
        assert.equal(r.status, 502);
      }
      await waitUntil(async () => {
        const n = await t.openStreams();
        if (n) console.log('open', n);
        return n === 0;
      });
      assert.equal((await request(t.port, 'fault.localhost', '/')).status, 200);
    } finally {
      const calm = await t.close();
      assert.equal(calm.calmErrors, 0);
    }
  });

  void test(`regression: an abandoned POST is never replayed to the origin (${path})`, async () => {
    const arrivals = new Map<string, number>();
    const t = await stack((q, r) => {
      arrivals.set(`${q.method} ${q.url}`, (arrivals.get(`${q.method} ${q.url}`) ?? 0) + 1);
      if (q.url?.startsWith('/slow')) setTimeout(() => r.end('late'), 3000).unref();
      else r.end('ok');
    }, path);
    try {
      const runs = ['POST /slow1', 'DELETE /slow2', 'GET /slow3'];
      await Promise.all(
        runs.map(async (line) => {
          const s = net.connect(t.port, '127.0.0.1');
          s.on('error', () => {});
          s.write(`${line} HTTP/1.1\r\nHost: fault.localhost\r\nContent-Length: 0\r\n\r\n`);
          await waitUntil(async () => (arrivals.get(line) ?? 0) > 0);
          s.destroy();
        }),
      );
      await waitUntil(async () => {
        const n = await t.openStreams();
        if (n) console.log('open', n);
        return n === 0;
      });
      for (const line of runs) assert.equal(arrivals.get(line), 1, `${line} reached the origin once`);
    } finally {
      await t.close();
    }
  });

  void test(`an origin that resets mid-response: the visitor's connection is cut, nothing stays open (${path})`, async () => {
    const t = await stack((_q, r) => {
      r.writeHead(200, { 'Content-Length': '100000' });
      r.write(Buffer.alloc(30_000, 1), () => r.socket?.resetAndDestroy());
    }, path);
    try {
      const wire = await exchange(t.port, 'GET /reset HTTP/1.1\r\nHost: fault.localhost\r\n\r\n');
      assert.match(wire, /^HTTP\/1\.1 200 /);
      assert.ok(wire.length < 100_000, 'the body is cut short, never padded');
      await waitUntil(async () => (await t.openStreams()) === 0);
    } finally {
      const calm = await t.close();
      assert.equal(calm.calmErrors, 0);
    }
  });

  void test(`an origin that never answers: 504 after the request timeout, nothing stays open (${path})`, async () => {
    const t = await stack(() => {}, path, { requestTimeoutMs: 1_000 });
    try {
      const started = Date.now();
      const r = await request(t.port, 'fault.localhost', '/never');
      assert.equal(r.status, 504);
      assert.ok(Date.now() - started < 5_000);
      await waitUntil(async () => (await t.openStreams()) === 0);
    } finally {
      const calm = await t.close();
      assert.equal(calm.calmErrors, 0);
    }
  });

  void test(`a visitor that disconnects mid-upload and mid-download: the origin sees it end, nothing stays open (${path})`, async () => {
    let originSawClose = 0;
    const t = await stack((q, r) => {
      q.on('close', () => originSawClose++);
      if (q.url === '/upload') {
        q.resume();
        return;
      }
      // a download larger than every buffer on the way, written as fast as it drains
      let left = 256;
      const more = (): void => {
        while (left > 0) {
          left--;
          if (!r.write(Buffer.alloc(256 * 1024, 2))) return void r.once('drain', more);
        }
        r.end();
      };
      r.writeHead(200, { 'Content-Length': String(256 * 256 * 1024) });
      more();
    }, path);
    try {
      const up = net.connect(t.port, '127.0.0.1');
      up.on('error', () => {});
      up.write('POST /upload HTTP/1.1\r\nHost: fault.localhost\r\nContent-Length: 50000000\r\n\r\n');
      up.write(Buffer.alloc(1024 * 1024, 3));
      await waitUntil(async () => (await t.openStreams()) > 0);
      up.destroy();
      const down = net.connect(t.port, '127.0.0.1');
      down.on('error', () => {});
      down.write('GET /download HTTP/1.1\r\nHost: fault.localhost\r\n\r\n');
      let got = 0;
      down.on('data', (c: Buffer) => {
        got += c.length;
        if (got > 2 * 1024 * 1024) down.destroy();
      });
      await once(down, 'close');
      await waitUntil(async () => originSawClose >= 2 && (await t.openStreams()) === 0);
    } finally {
      const calm = await t.close();
      assert.equal(calm.calmErrors, 0);
    }
  });

  void test(`an agent killed with 1,000 streams open: every visitor gets 502 at once, no stream stays open (${path})`, async () => {
    let arrived = 0;
    const t = await stack(() => void arrived++, path, { faultAgent: 'none' });
    const agent = runCli([
      'http',
      String(t.originPort),
      '--server',
      t.url,
      '--subdomain',
      'fault',
      '--local-host',
      '127.0.0.1',
      '--json',
    ]);
    try {
      await agent.nextLine((l) => l.includes('"ready"'));
      const answers = Array.from({ length: 1_000 }, () => {
        const v = net.connect(t.port, '127.0.0.1');
        v.on('error', () => {});
        v.write('GET /hang HTTP/1.1\r\nHost: fault.localhost\r\n\r\n');
        // the answer's status line (a kept-alive connection need not close after it)
        return new Promise<string>((resolve) => {
          v.once('data', (c: Buffer) => {
            resolve(c.toString('latin1', 0, 12));
            v.destroy();
          });
          v.once('close', () => resolve('(closed without an answer)'));
        });
      });
      await waitUntil(async () => arrived === 1_000, { timeoutMs: 30_000 });
      assert.equal(await t.openStreams(), 1_000);
      const killedAt = Date.now();
      agent.child.kill('SIGKILL');
      const got = await Promise.all(answers);
      const tookMs = Date.now() - killedAt;
      assert.ok(tookMs < 3_000, `every visitor answered ${tookMs} ms after the kill`);
      const statuses = new Set(got);
      assert.deepEqual([...statuses], ['HTTP/1.1 502']);
      await waitUntil(async () => (await t.allStreams()) <= 1); // the calm visitor's own, at most
    } finally {
      agent.child.kill('SIGKILL');
      const calm = await t.close();
      assert.equal(calm.calmErrors, 0);
    }
  });
}
