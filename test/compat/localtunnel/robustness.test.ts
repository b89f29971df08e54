/** What burrow does better than the original servers: stale responses, queueing, grace, clear errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import WebSocket from 'ws';
import { closeHttp, hostFor, request, startOrigin } from '../../helpers/harness.js';
import { startLt, startLtServer, startPipenet, startTestOrigin } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

/** A raw origin: answers each request, then after 100 ms idle sends an unsolicited 408 and closes. */
async function startStaleOrigin(): Promise<{ server: net.Server; port: number }> {
  let n = 0;
  const server = net.createServer((sock) => {
    let buf = '';
    let timer: NodeJS.Timeout | undefined;
    sock.on('error', () => {});
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\r\n\r\n')) !== -1) {
        const head = buf.slice(0, i);
        buf = buf.slice(i + 4);
        const path = /^\w+ (\S+)/.exec(head.replace(/^(\r\n)+/, ''))?.[1] ?? '?';
        const body = `fresh ${path} #${++n}`;
        sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body}`);
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          sock.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 5\r\n\r\nstale');
        }, 100);
      }
    });
    sock.on('close', () => timer && clearTimeout(timer));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as net.AddressInfo).port };
}

void test('regression: an unsolicited 408 from the origin on an idle pool socket never reaches a visitor', async (t) => {
  const srv = await startLtServer();
  t.after(() => srv.server.close());
  const origin = await startStaleOrigin();
  t.after(() => new Promise<void>((r) => origin.server.close(() => r())));
  const lt = await startLt(srv.url, origin.port, ['--local-host', '127.0.0.1']);
  t.after(() => lt.kill());
  await waitUntil(() => srv.adapter.tunnels()[0]?.connectedSockets === 10);
  const host = hostFor(lt.url);
  const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const tunnel = srv.adapter.tunnels()[0]!;
  for (let i = 0; i < 6; i++) {
    const stale = tunnel.staleDiscarded;
    const r = await request(srv.port, host, `/r${i}`, { agent });
    assert.equal(r.status, 200, `request ${i}: ${r.status} ${r.body.toString()}`);
    assert.match(r.body.toString(), new RegExp(`^fresh /r${i} #`));
    // idle until the origin's 408 (100 ms after each answer) has come and gone
    await waitUntil(() => tunnel.staleDiscarded > stale, { what: `the stale 408 after /r${i} to be discarded` });
  }
  assert.ok(srv.adapter.tunnels()[0]!.staleDiscarded > 0, 'stale 408s were seen and discarded');
});

void test('requests beyond the pool wait in the queue; past the queue timeout they get a clear 504', async (t) => {
  const srv = await startLtServer({ maxSockets: 2, queueTimeoutMs: 1500 });
  t.after(() => srv.server.close());
  const origin = await startOrigin((req, res) => {
    const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? '0');
    setTimeout(() => res.end(`done ${req.url}`), ms);
  });
  t.after(() => closeHttp(origin.server));
  const lt = await startLt(srv.url, origin.port);
  t.after(() => lt.kill());
  await waitUntil(() => srv.adapter.tunnels()[0]?.connectedSockets === 2);
  const host = hostFor(lt.url);
  // 6 requests of 200 ms through 2 pool sockets: all served, in about 3 rounds.
  const started = Date.now();
  const ok = await Promise.all(Array.from({ length: 6 }, (_, i) => request(srv.port, host, `/q${i}?ms=200`)));
  assert.deepEqual(
    ok.map((r) => r.status),
    [200, 200, 200, 200, 200, 200],
  );
  assert.ok(Date.now() - started >= 550, 'they waited for free sockets');
  // 2 requests of 4 s hold the pool; a third waits 1.5 s, then gets 504 (not a hang).
  const slow = [request(srv.port, host, '/s1?ms=4000'), request(srv.port, host, '/s2?ms=4000')];
  await waitUntil(() => srv.adapter.tunnels()[0]!.stats().openStreams === 2, { what: 'both pool sockets busy' });
  const t0 = Date.now();
  const late = await request(srv.port, host, '/late', { headers: { accept: 'application/json' } });
  assert.equal(late.status, 504);
  assert.ok(Date.now() - t0 < 3000);
  assert.match(late.body.toString(), /BURROW_ERR_TIMEOUT/);
  assert.deepEqual(
    (await Promise.all(slow)).map((r) => r.status),
    [200, 200],
  );
});

void test('a WebSocket owns its pool socket until it closes; then the pool refills', async (t) => {
  const srv = await startLtServer({ maxSockets: 1, queueTimeoutMs: 10_000 });
  t.after(() => srv.server.close());
  const origin = await startTestOrigin();
  t.after(() => closeHttp(origin.server));
  const lt = await startLt(srv.url, origin.port);
  t.after(() => lt.kill());
  const tunnel = () => srv.adapter.tunnels()[0]!;
  await waitUntil(() => tunnel().connectedSockets === 1);
  const host = hostFor(lt.url);
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/`, { headers: { host } });
  await once(ws, 'open');
  let answered = false;
  const pending = request(srv.port, host, '/waiting').then((r) => {
    answered = true;
    return r;
  });
  await waitUntil(() => tunnel().queuedRequests === 1, { what: '/waiting to queue for the pool socket' });
  assert.equal(answered, false, 'the only socket belongs to the WebSocket');
  ws.send('ping');
  const [echo] = (await once(ws, 'message')) as [Buffer];
  assert.equal(echo.toString(), 'ping');
  ws.close();
  const r = await pending;
  assert.equal(r.status, 200);
  assert.match(r.body.toString(), /^hello GET \/waiting/);
});

void test('a tunnel whose client died is kept for the grace period (502 meanwhile), then removed (404)', async (t) => {
  const srv = await startLtServer({ graceMs: 1500, queueTimeoutMs: 300 });
  t.after(() => srv.server.close());
  const origin = await startTestOrigin();
  t.after(() => closeHttp(origin.server));
  const p = await startPipenet(srv.url, origin.port, ['--subdomain', 'gone-soon']);
  await waitUntil(() => srv.adapter.tunnels()[0]?.connectedSockets === 10);
  await p.kill();
  await waitUntil(() => srv.adapter.tunnels()[0]?.connectedSockets === 0, { timeoutMs: 5000, what: 'pool drained' });
  const during = await request(srv.port, hostFor(p.url), '/x', { headers: { accept: 'application/json' } });
  assert.equal(during.status, 502);
  assert.match(during.body.toString(), /BURROW_ERR_AGENT_GONE/);
  const st = await request(srv.port, '127.0.0.1', '/api/tunnels/gone-soon/status');
  assert.equal((JSON.parse(st.body.toString()) as { connectedSockets: number }).connectedSockets, 0);
  await waitUntil(() => srv.adapter.tunnels().length === 0, { timeoutMs: 5000, what: 'tunnel removed after grace' });
  const after = await request(srv.port, hostFor(p.url), '/x');
  assert.equal(after.status, 404);
});

void test('a restarted client gets its drained name back during the grace period', async (t) => {
  const srv = await startLtServer({ graceMs: 10_000 });
  t.after(() => srv.server.close());
  const origin = await startTestOrigin();
  t.after(() => closeHttp(origin.server));
  const first = await startLt(srv.url, origin.port, ['--subdomain', 'come-back']);
  await waitUntil(() => srv.adapter.tunnels()[0]?.connectedSockets === 10);
  await first.kill();
  await waitUntil(() => srv.adapter.tunnels()[0]?.connectedSockets === 0, { timeoutMs: 5000, what: 'pool drained' });
  const second = await startLt(srv.url, origin.port, ['--subdomain', 'come-back']);
  t.after(() => second.kill());
  assert.equal(second.url, first.url);
  await waitUntil(() => srv.adapter.tunnels()[0]?.connectedSockets === 10);
  const r = await request(srv.port, hostFor(second.url), '/back');
  assert.equal(r.status, 200);
});

void test('shared tunnel port: unknown ids and overlong id lines are dropped', async (t) => {
  const srv = await startLtServer({ tunnelPort: 0 });
  t.after(() => srv.server.close());
  const port = srv.adapter.sharedPort!;
  const closedAfter = async (data: string): Promise<void> => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    await once(s, 'connect');
    s.write(data);
    await once(s, 'close');
  };
  await closedAfter('no-such-tunnel\n');
  await closedAfter('x'.repeat(200));
  await closedAfter('bad id with spaces\n');
  const hs = await request(srv.port, '127.0.0.1', '/?new');
  const body = JSON.parse(hs.body.toString()) as Record<string, unknown>;
  assert.equal(body['sharedTunnel'], true);
  assert.equal(body['port'], port);
  assert.equal(body['max_conn_count'], 10);
  assert.equal(body['maxConnCount'], 10);
  assert.equal(body['ip'], '127.0.0.1');
});
