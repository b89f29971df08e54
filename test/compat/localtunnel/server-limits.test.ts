/** Server-side limits driven with raw sockets (no client process): port range, queue bound, pool size. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { request } from '../../helpers/harness.js';
import { startLtServer } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

async function freeRange(n: number): Promise<number> {
  // Find n consecutive free ports (best effort) by probing.
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const servers: net.Server[] = [];
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      const s = net.createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.listen(base + i, '127.0.0.1', () => resolve());
        });
        servers.push(s);
      } catch {
        ok = false;
      }
    }
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    if (ok) return base;
  }
  throw new Error('no free port range');
}

const json = (b: Buffer): Record<string, unknown> => JSON.parse(b.toString()) as Record<string, unknown>;

void test('per-tunnel ports come from the configured range; an exhausted range is a clear 503', async (t) => {
  const base = await freeRange(2);
  const srv = await startLtServer({ portRange: `${base}-${base + 1}` });
  t.after(() => srv.server.close());
  const a = json((await request(srv.port, '127.0.0.1', '/?new')).body);
  const b = json((await request(srv.port, '127.0.0.1', '/?new')).body);
  const ports = [a['port'], b['port']].sort();
  assert.deepEqual(ports, [base, base + 1]);
  const c = await request(srv.port, '127.0.0.1', '/?new');
  assert.equal(c.status, 503);
  assert.match(String(json(c.body)['message']), /no free port in/);
  assert.equal(json(c.body)['code'], 'BURROW_ERR_LOCALTUNNEL_NO_PORT');
  assert.equal(srv.adapter.tunnels().length, 2, 'the failed handshake left no tunnel behind');
});

void test('the queue is bounded (503 STREAM_LIMIT) and the pool refuses sockets beyond maxSockets', async (t) => {
  const srv = await startLtServer({ maxSockets: 1, maxQueued: 1, queueTimeoutMs: 5_000 });
  t.after(() => srv.server.close());
  const hs = json((await request(srv.port, '127.0.0.1', '/raw-pool')).body);
  assert.equal(hs['max_conn_count'], 1);
  // A "client" that accepts requests and never answers.
  const pool = net.connect(Number(hs['port']), '127.0.0.1');
  t.after(() => pool.destroy());
  await once(pool, 'connect');
  const extra = net.connect(Number(hs['port']), '127.0.0.1');
  extra.on('error', () => {});
  await once(extra, 'close'); // refused: the pool is full
  await waitUntil(() => srv.adapter.tunnels()[0]?.connectedSockets === 1);
  const got = new Promise<string>((resolve) => {
    let s = '';
    pool.on('data', (d: Buffer) => {
      s += d.toString('latin1');
      if (s.includes('\r\n\r\n')) resolve(s);
    });
  });
  const host = `raw-pool.localhost:${srv.port}`;
  const first = request(srv.port, host, '/busy');
  assert.match(await got, /^GET \/busy HTTP\/1\.1\r\n/);
  const queued = request(srv.port, host, '/queued');
  await waitUntil(() => srv.adapter.tunnels()[0]?.queuedRequests === 1, {
    what: '/queued to wait for the pool socket',
  });
  const rejected = await request(srv.port, host, '/too-many', { headers: { accept: 'application/json' } });
  assert.equal(rejected.status, 503);
  assert.match(rejected.body.toString(), /BURROW_ERR_STREAM_LIMIT/);
  // Answer the first request; the queued one then gets the socket.
  pool.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  assert.equal((await first).status, 200);
  const next = await new Promise<string>((resolve) => {
    let s = '';
    pool.on('data', (d: Buffer) => {
      s += d.toString('latin1');
      if (s.includes('/queued')) resolve(s);
    });
  });
  assert.match(next, /GET \/queued HTTP\/1\.1/);
  pool.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nqueued');
  const q = await queued;
  assert.equal(q.body.toString(), 'queued');
});

void test('an idle pool socket gets \\r\\n keep-alives, and one that sends data while idle is discarded', async (t) => {
  const srv = await startLtServer({ keepAliveIntervalMs: 100 });
  t.after(() => srv.server.close());
  const hs = json((await request(srv.port, '127.0.0.1', '/raw-idle')).body);
  const a = net.connect(Number(hs['port']), '127.0.0.1');
  t.after(() => a.destroy());
  const [first] = (await once(a, 'data')) as [Buffer];
  assert.equal(first.toString(), '\r\n');
  const b = net.connect(Number(hs['port']), '127.0.0.1');
  b.on('error', () => {});
  await once(b, 'connect');
  await waitUntil(() => srv.adapter.tunnels()[0]?.connectedSockets === 2);
  b.write('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
  await once(b, 'close');
  await waitUntil(() => srv.adapter.tunnels()[0]?.connectedSockets === 1);
  assert.equal(srv.adapter.tunnels()[0]!.staleDiscarded, 1);
});
