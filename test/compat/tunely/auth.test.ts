import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { closeHttp, request, startOrigin } from '../../helpers/harness.js';
import { connectTunely, runTunely, startTunelyServer, TOKEN } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

/** Open a raw WebSocket, send `auth`, and return the first reply and the socket. */
async function rawAuth(
  url: string,
  token: string,
  force = false,
): Promise<{ ws: WebSocket; reply: Record<string, unknown> }> {
  const ws = new WebSocket(url);
  await once(ws, 'open');
  ws.send(JSON.stringify({ type: 'auth', token, client_version: '0.1.0', force }));
  const [data] = (await once(ws, 'message')) as [Buffer];
  return { ws, reply: JSON.parse(data.toString()) as Record<string, unknown> };
}

void test('tunely wire: auth_ok fields; auth_error auth_failed then close 1008', async (t) => {
  const s = await startTunelyServer();
  t.after(() => s.server.close());
  const ok = await rawAuth(s.wsUrl, TOKEN);
  assert.equal(ok.reply['type'], 'auth_ok');
  assert.equal(ok.reply['domain'], 'demo');
  assert.equal(typeof ok.reply['tunnel_id'], 'string');
  assert.equal(typeof ok.reply['server_version'], 'string');
  assert.equal(ok.reply['url'], `http://demo.localhost:${s.port}`);
  const closed = once(ok.ws, 'close');
  ok.ws.close();
  await closed;

  const bad = await rawAuth(s.wsUrl, 'tun_wrong');
  assert.equal(bad.reply['type'], 'auth_error');
  assert.equal(bad.reply['code'], 'auth_failed');
  assert.match(String(bad.reply['error']), /Invalid token/);
  const [code] = (await once(bad.ws, 'close')) as [number];
  assert.equal(code, 1008);

  // A first message that is not auth is refused the same way.
  const ws = new WebSocket(s.wsUrl);
  await once(ws, 'open');
  ws.send('{"type":"pong"}');
  const [data] = (await once(ws, 'message')) as [Buffer];
  assert.equal((JSON.parse(data.toString()) as { code: string }).code, 'auth_failed');
  assert.equal(((await once(ws, 'close')) as [number])[0], 1008);
});

void test('tunely wire: a reconnect within the offline grace gets the same tunnel_id back', async (t) => {
  const s = await startTunelyServer();
  t.after(() => s.server.close());
  const a = await rawAuth(s.wsUrl, TOKEN);
  const closed = once(a.ws, 'close');
  a.ws.close();
  await closed;
  await waitUntil(() => s.adapter.stats().tunelyAgents === 0, {
    timeoutMs: 5_000,
    what: 'the server to see the close',
  });
  const offline = await request(s.port, `demo.localhost:${s.port}`, '/');
  assert.equal(offline.status, 503);
  assert.equal(offline.headers['x-burrow-error'], 'BURROW_ERR_TUNELY_AGENT_OFFLINE');
  const b = await rawAuth(s.wsUrl, TOKEN);
  assert.equal(b.reply['tunnel_id'], a.reply['tunnel_id']);
  b.ws.terminate();
});

void test('tunely CLI: a bad token is reported by the client as an auth failure and no tunnel appears', async (t) => {
  const s = await startTunelyServer();
  t.after(() => s.server.close());
  const agent = runTunely({
    server: s.wsUrl,
    token: 'tun_notAValidToken',
    target: 'http://127.0.0.1:9',
    reconnectSeconds: 60,
  });
  t.after(() => agent.kill());
  await agent.waitFor(/认证失败: Invalid token/);
  assert.doesNotMatch(agent.output(), /已连接/);
  assert.deepEqual(s.adapter.stats(), { tunelyAgents: 0 });
  const r = await request(s.port, `demo.localhost:${s.port}`, '/');
  assert.equal(r.status, 404);
});

void test('tunely CLI: a second connection with the same token is refused (已有活跃连接); --force takes over', async (t) => {
  const s = await startTunelyServer();
  t.after(() => s.server.close());
  const originA = await startOrigin((_req, res) => res.end('A'));
  const originC = await startOrigin((_req, res) => res.end('C'));
  t.after(() => closeHttp(originA.server));
  t.after(() => closeHttp(originC.server));
  const host = `demo.localhost:${s.port}`;

  const a = await connectTunely({
    server: s.wsUrl,
    token: TOKEN,
    target: `http://127.0.0.1:${originA.port}`,
    reconnectSeconds: 60,
  });
  t.after(() => a.kill());
  assert.equal((await request(s.port, host, '/')).body.toString(), 'A');

  const b = runTunely({
    server: s.wsUrl,
    token: TOKEN,
    target: `http://127.0.0.1:${originC.port}`,
    reconnectSeconds: 60,
  });
  t.after(() => b.kill());
  await b.waitFor(/认证失败: .*已有活跃连接/);
  assert.doesNotMatch(b.output(), /已连接: domain/);
  assert.equal((await request(s.port, host, '/')).body.toString(), 'A', 'the first agent still serves');
  await b.kill();

  const c = await connectTunely({
    server: s.wsUrl,
    token: TOKEN,
    target: `http://127.0.0.1:${originC.port}`,
    force: true,
  });
  t.after(() => c.kill());
  // The replaced client reconnects at once without --force and is refused.
  await a.waitFor(/认证失败: .*已有活跃连接/);
  assert.equal((await request(s.port, host, '/')).body.toString(), 'C');
  // The replaced socket's late close (and its process dying) must not unregister the new one.
  await a.kill();
  assert.equal((await request(s.port, host, '/')).body.toString(), 'C');
  assert.deepEqual(s.adapter.stats(), { tunelyAgents: 1 });
});

void test('tunely wire: force closes the old socket with 1000 "New connection (force)"', async (t) => {
  const s = await startTunelyServer();
  t.after(() => s.server.close());
  const old = await rawAuth(s.wsUrl, TOKEN);
  const oldClosed = once(old.ws, 'close');
  const dup = await rawAuth(s.wsUrl, TOKEN);
  assert.equal(dup.reply['code'], 'connection_exists');
  assert.match(String(dup.reply['error']), /已有活跃连接/);
  const forced = await rawAuth(s.wsUrl, TOKEN, true);
  assert.equal(forced.reply['type'], 'auth_ok');
  assert.equal(forced.reply['tunnel_id'], old.reply['tunnel_id']);
  const [code, reason] = (await oldClosed) as [number, Buffer];
  assert.equal(code, 1000);
  assert.equal(reason.toString(), 'New connection (force)');
  assert.deepEqual(s.adapter.stats(), { tunelyAgents: 1 });
  forced.ws.terminate();
});
