import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { REFUSED_PORT } from '../../helpers/net.js';
import WebSocket from 'ws';
import { closeHttp, request, startOrigin } from '../../helpers/harness.js';
import { connectTunely, startTunelyServer, TOKEN } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

void test('tunely CLI: agent killed mid-request → the visitor gets 502 at once, later visitors 503', async (t) => {
  const s = await startTunelyServer();
  t.after(() => s.server.close());
  let arrived: (() => void) | undefined;
  const atOrigin = new Promise<void>((r) => (arrived = r));
  const origin = await startOrigin(() => arrived?.()); // never answers
  t.after(() => closeHttp(origin.server));
  const agent = await connectTunely({ server: s.wsUrl, token: TOKEN, target: `http://127.0.0.1:${origin.port}` });
  t.after(() => agent.kill());

  const host = `demo.localhost:${s.port}`;
  const pending = request(s.port, host, '/hang');
  await atOrigin;
  const killedAt = Date.now();
  await agent.kill('SIGKILL');
  const r = await pending;
  assert.equal(r.status, 502);
  assert.equal(r.headers['x-burrow-error'], 'BURROW_ERR_AGENT_GONE');
  assert.ok(Date.now() - killedAt < 5_000, 'answered at once, not after the request timeout');
  await waitUntil(() => s.adapter.stats().tunelyAgents === 0);
  const after = await request(s.port, host, '/', { headers: { accept: 'text/html' } });
  assert.equal(after.status, 503);
  assert.match(after.body.toString(), /tunely agent for this tunnel is not connected/);
});

void test('tunely CLI: a slow origin → 504 after the configured timeout', async (t) => {
  const s = await startTunelyServer({ requestTimeoutMs: 400 });
  t.after(() => s.server.close());
  const origin = await startOrigin((_req, res) => {
    const timer = setTimeout(() => res.end('too late'), 10_000);
    res.on('close', () => clearTimeout(timer));
  });
  t.after(() => closeHttp(origin.server));
  const agent = await connectTunely({ server: s.wsUrl, token: TOKEN, target: `http://127.0.0.1:${origin.port}` });
  t.after(() => agent.kill());
  const started = Date.now();
  const r = await request(s.port, `demo.localhost:${s.port}`, '/slow');
  assert.equal(r.status, 504);
  assert.equal(r.headers['x-burrow-error'], 'BURROW_ERR_TIMEOUT');
  assert.ok(Date.now() - started < 5_000);
  // The agent is still usable afterwards.
  assert.equal(s.adapter.stats().tunelyAgents, 1);
});

void test('tunely CLI: the agent cannot reach its target → its status with a clear message', async (t) => {
  const s = await startTunelyServer();
  t.after(() => s.server.close());
  const agent = await connectTunely({ server: s.wsUrl, token: TOKEN, target: `http://127.0.0.1:${REFUSED_PORT}` });
  t.after(() => agent.kill());
  const r = await request(s.port, `demo.localhost:${s.port}`, '/');
  assert.ok(r.status >= 500, `status ${r.status}`);
  assert.equal(r.headers['x-burrow-error'], 'BURROW_ERR_ORIGIN_ERROR');
  assert.match(r.body.toString(), /the tunely agent reported/);
});

void test('tunely: a binary body → a clear 502 naming the limitation, and nothing reaches the origin', async (t) => {
  const s = await startTunelyServer({ maxBodyBytes: 64 * 1024 });
  t.after(() => s.server.close());
  let hits = 0;
  const origin = await startOrigin((req, res) => {
    hits++;
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  t.after(() => closeHttp(origin.server));
  const agent = await connectTunely({ server: s.wsUrl, token: TOKEN, target: `http://127.0.0.1:${origin.port}` });
  t.after(() => agent.kill());
  const host = `demo.localhost:${s.port}`;

  const binary = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0xfe, 0x00, 0x80]);
  const r = await request(s.port, host, '/upload', {
    method: 'POST',
    headers: { 'content-type': 'image/png' },
    body: binary,
  });
  assert.equal(r.status, 502);
  assert.equal(r.headers['x-burrow-error'], 'BURROW_ERR_TUNELY_BINARY_BODY');
  const err = (JSON.parse(r.body.toString()) as { error: { message: string; fix: string } }).error;
  assert.match(err.message, /not valid UTF-8/);
  assert.match(err.message, /image\/png/);
  assert.match(err.fix, /burrow http/);
  assert.equal(hits, 0);

  // Too large → 413 (named limit), still nothing at the origin.
  const big = await request(s.port, host, '/upload', { method: 'POST', body: 'x'.repeat(64 * 1024 + 1) });
  assert.equal(big.status, 413);
  assert.equal(big.headers['x-burrow-error'], 'BURROW_ERR_TUNELY_BODY_TOO_LARGE');
  assert.equal(hits, 0);

  // Text (with a BOM, kept byte for byte) passes.
  const seen: Buffer[] = [];
  origin.server.removeAllListeners('request');
  origin.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.on('data', (c: Buffer) => seen.push(c));
    req.on('end', () => res.end('ok'));
  });
  const text = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a,b\n1,ü\n')]);
  const ok = await request(s.port, host, '/upload', {
    method: 'POST',
    headers: { 'content-type': 'text/csv' },
    body: text,
  });
  assert.equal(ok.status, 200);
  assert.deepEqual(Buffer.concat(seen), text);
});

void test('tunely: WebSocket upgrades to a tunely tunnel get a clear 501', async (t) => {
  const s = await startTunelyServer();
  t.after(() => s.server.close());
  const agent = await connectTunely({ server: s.wsUrl, token: TOKEN, target: 'http://127.0.0.1:9' });
  t.after(() => agent.kill());
  for (const [host, path] of [
    [`demo.localhost:${s.port}`, '/socket'],
    [`127.0.0.1:${s.port}`, '/t/demo/socket'],
  ] as const) {
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}${path}`, { headers: { host } });
    ws.on('error', () => {});
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, http.IncomingMessage];
    assert.equal(res.statusCode, 501);
    assert.equal(res.headers['x-burrow-error'], 'BURROW_ERR_TUNELY_NO_WEBSOCKET');
    res.resume();
    ws.terminate();
  }
});

void test('tunely: own-host routes: unknown /t/ name 404, known offline name 503, GET on the agent path 426', async (t) => {
  const s = await startTunelyServer();
  t.after(() => s.server.close());
  const host = `127.0.0.1:${s.port}`;
  assert.equal((await request(s.port, host, '/t/nobody/x')).status, 404);
  const offline = await request(s.port, host, '/t/other/x');
  assert.equal(offline.status, 503);
  assert.equal(offline.headers['x-burrow-error'], 'BURROW_ERR_TUNELY_AGENT_OFFLINE');
  assert.equal((await request(s.port, host, '/ws/tunnel')).status, 426);
});

void test('tunely: silent agents are dropped (JSON ping/pong), live CLI agents are kept', async (t) => {
  const s = await startTunelyServer({ pingIntervalMs: 50, deadAgentTimeoutMs: 300, requestTimeoutMs: 10_000 });
  t.after(() => s.server.close());
  const live = await connectTunely({ server: s.wsUrl, token: TOKEN, target: 'http://127.0.0.1:9' });
  t.after(() => live.kill());

  const silent = new WebSocket(s.wsUrl);
  await once(silent, 'open');
  const pings: string[] = [];
  silent.send(
    JSON.stringify({
      type: 'auth',
      token: 'tun_otherTokenForTests000000000000000000',
      client_version: 'x',
      force: false,
    }),
  );
  const closed = once(silent, 'close');
  let pending: Promise<unknown> | undefined;
  silent.on('message', (d: Buffer) => {
    const m = JSON.parse(d.toString()) as { type: string };
    if (m.type === 'auth_ok') pending = request(s.port, `other.localhost:${s.port}`, '/never-answered');
    else pings.push(m.type);
  });
  await closed;
  assert.ok(pings.includes('ping'), 'the server pinged');
  assert.ok(pings.includes('request'), 'the visitor request was sent to the (silent) agent');
  const r = (await pending) as { status: number; headers: http.IncomingHttpHeaders };
  assert.equal(r.status, 502, 'the request in flight failed when the agent was dropped');
  assert.equal(s.adapter.stats().tunelyAgents, 1, 'the live agent answered pings and stays');
});

void test('tunely: after the offline grace the name is released (404)', async (t) => {
  const s = await startTunelyServer({ offlineGraceMs: 150 });
  t.after(() => s.server.close());
  const ws = new WebSocket(s.wsUrl);
  await once(ws, 'open');
  ws.send(JSON.stringify({ type: 'auth', token: TOKEN, client_version: 'x', force: false }));
  await once(ws, 'message');
  assert.ok(s.server.registry.get('demo'));
  ws.close();
  await waitUntil(() => s.adapter.stats().tunelyAgents === 0);
  assert.equal((await request(s.port, `demo.localhost:${s.port}`, '/')).status, 503);
  await waitUntil(() => s.server.registry.get('demo') === undefined, {
    timeoutMs: 5_000,
    what: 'the name to be released',
  });
  assert.equal((await request(s.port, `demo.localhost:${s.port}`, '/')).status, 404);
});
