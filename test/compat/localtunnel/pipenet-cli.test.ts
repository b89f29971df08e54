/** The real `pipenet client` CLI (pipenet@1.4.3) against burrow's server with the localtunnel adapter. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeHttp, hostFor, request } from '../../helpers/harness.js';
import {
  binaryPayload,
  PIPENET_BIN,
  readSse,
  runCli,
  fastSocketTimeouts,
  startLtServer,
  startPipenet,
  startTestOrigin,
  wsEcho,
} from './helpers.js';
import { setTimeout } from 'node:timers/promises';
import { waitUntil } from '../../helpers/wait.js';

void test('pipenet: random and requested names, binary POST byte-exact, chunked, SSE, WebSocket', async (t) => {
  const srv = await startLtServer();
  t.after(() => srv.server.close());
  const origin = await startTestOrigin();
  t.after(() => closeHttp(origin.server));
  const a = await startPipenet(srv.url, origin.port, ['--local-host', '127.0.0.1']);
  t.after(() => a.kill());
  assert.match(a.url, /^http:\/\/[a-z]+-[a-z]+-\d{4}\.localhost:\d+$/);
  const b = await startPipenet(srv.url, origin.port, ['--local-host', '127.0.0.1', '--subdomain', 'pipenet-app']);
  t.after(() => b.kill());
  assert.match(b.url, /^http:\/\/pipenet-app\.localhost:\d+$/);
  await waitUntil(() => srv.adapter.tunnels().every((x) => x.connectedSockets === 10), {
    timeoutMs: 10_000,
    what: 'pools',
  });

  const host = hostFor(b.url);
  const r = await request(srv.port, hostFor(a.url), '/hi');
  assert.match(r.body.toString(), /^hello GET \/hi host=127\.0\.0\.1$/);
  // pipenet runs its string-based Host rewriter on each pool socket's first request and mangles
  // non-UTF-8 bytes that share that chunk. The server holds the first body back a moment
  // (FIRST_REQUEST_BODY_DELAY_MS), which is timing and cannot hold on a loaded machine; so every
  // pool socket serves one plain request first, and the binary bodies test burrow's byte path.
  await Promise.all(Array.from({ length: 10 }, () => request(srv.port, host, '/hi')));
  const bodies = Array.from({ length: 8 }, (_, i) => binaryPayload(40_000 + i * 777, 100 + i));
  const replies = await Promise.all(bodies.map((body) => request(srv.port, host, '/echo', { method: 'POST', body })));
  replies.forEach((rep, i) => assert.ok(rep.body.equals(bodies[i]!), `POST ${i} byte-exact`));
  const c = await request(srv.port, host, '/chunked');
  assert.equal(c.body.toString(), 'part 0\npart 1\npart 2\npart 3\npart 4\n');
  const sse = await readSse(srv.port, host);
  assert.equal(sse.events.length, 4);
  assert.ok(sse.times[3]! - sse.times[0]! > 600, `events spread out: ${sse.times.join(',')}`);
  const ws = await wsEcho(srv.port, host);
  assert.equal(ws.text, 'hello ws');
  assert.ok(ws.binary.equals(binaryPayload(1000, 3)));
});

void test('pipenet: an invalid name and a taken name make pipenet exit with the server message', async (t) => {
  const srv = await startLtServer();
  t.after(() => srv.server.close());
  const origin = await startTestOrigin();
  t.after(() => closeHttp(origin.server));
  const bad = runCli(PIPENET_BIN, [
    'client',
    '--port',
    String(origin.port),
    '--host',
    srv.url,
    '--subdomain',
    'no_such!name',
  ]);
  t.after(() => bad.kill());
  assert.equal(await bad.exited, 1);
  assert.match(bad.output(), /Invalid tunnel name/);

  const first = await startPipenet(srv.url, origin.port, ['--subdomain', 'only-one']);
  t.after(() => first.kill());
  await waitUntil(() => srv.adapter.tunnels()[0]?.connectedSockets === 10);
  const second = runCli(PIPENET_BIN, [
    'client',
    '--port',
    String(origin.port),
    '--host',
    srv.url,
    '--subdomain',
    'only-one',
  ]);
  t.after(() => second.kill());
  assert.equal(await second.exited, 1);
  assert.match(second.output(), /in use by another client/);
  // The first tunnel is untouched.
  const r = await request(srv.port, hostFor(first.url), '/still');
  assert.equal(r.status, 200);
});

void test('pipenet: the shared tunnel port (each pool socket sends <id>\\n first)', async (t) => {
  const srv = await startLtServer({ tunnelPort: 0 });
  t.after(() => srv.server.close());
  const origin = await startTestOrigin();
  t.after(() => closeHttp(origin.server));
  const p1 = await startPipenet(srv.url, origin.port, ['--local-host', '127.0.0.1']);
  t.after(() => p1.kill());
  const p2 = await startPipenet(srv.url, origin.port, ['--local-host', '127.0.0.1', '--subdomain', 'second-one']);
  t.after(() => p2.kill());
  await waitUntil(
    () => srv.adapter.tunnels().length === 2 && srv.adapter.tunnels().every((x) => x.connectedSockets === 10),
    { timeoutMs: 10_000, what: 'pools' },
  );
  assert.ok(srv.adapter.tunnels().every((x) => x.port === srv.adapter.sharedPort));
  const r1 = await request(srv.port, hostFor(p1.url), '/one');
  const r2 = await request(srv.port, hostFor(p2.url), '/two');
  assert.match(r1.body.toString(), /^hello GET \/one/);
  assert.match(r2.body.toString(), /^hello GET \/two/);
  const body = binaryPayload(100_000);
  const e = await request(srv.port, hostFor(p2.url), '/echo', { method: 'POST', body });
  assert.ok(e.body.equals(body));
});

/** pipenet destroys pool sockets idle for 30 s; in this test that limit runs 100 times sooner (300 ms). */
const PIPENET_IDLE_DIVISOR = 100;
const PIPENET_IDLE_MS = 30_000 / PIPENET_IDLE_DIVISOR;

void test('pipenet: a client idle for 1.5 times its idle limit still serves (keep-alive on idle pool sockets)', async (t) => {
  // burrow's keep-alive every third of the client's limit (the default is 10 s against 30 s)
  const srv = await startLtServer({ keepAliveIntervalMs: PIPENET_IDLE_MS / 3 });
  t.after(() => srv.server.close());
  const origin = await startTestOrigin();
  t.after(() => closeHttp(origin.server));
  const p = await startPipenet(
    srv.url,
    origin.port,
    ['--local-host', '127.0.0.1'],
    fastSocketTimeouts(PIPENET_IDLE_DIVISOR),
  );
  t.after(() => p.kill());
  const tunnel = () => srv.adapter.tunnels()[0]!;
  await waitUntil(() => tunnel().connectedSockets === 10);
  const host = hostFor(p.url);
  assert.equal((await request(srv.port, host, '/before')).status, 200);
  // Idleness is the thing under test: outlast the client's (shortened) idle limit by half.
  await setTimeout(1.5 * PIPENET_IDLE_MS);
  // pipenet 1.4.3 destroys pool sockets idle for 30 s; burrow's `\r\n` keep-alives prevent that.
  assert.equal(tunnel().connectedSockets, 10, 'the whole pool survived');
  const r = await request(srv.port, host, '/after-idle');
  assert.equal(r.status, 200);
  assert.match(r.body.toString(), /^hello GET \/after-idle/);
});
