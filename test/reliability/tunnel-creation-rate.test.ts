/**
 * Issue 13, defect 5: `/?new` localtunnel handshakes had no per-client limit under `--auth none`:
 * 200 handshakes in 134 ms, each holding a listening pool port for 30 s, so one anonymous client
 * could reach --max-tunnels in seconds. Now every edge that creates tunnels (burrow REGISTER,
 * localtunnel `/?new` and `/<name>`, tunely, tiflis) counts new tunnels per client address
 * (IPv6 per /64) in one shared limiter: DEFAULT_NEW_TUNNELS_PER_MINUTE per minute
 * (--new-tunnels-per-minute); an unclaimed localtunnel pool port keeps counting until a pool
 * socket claims it. Refusals: 429 + Retry-After (localtunnel), REGISTERED with
 * BURROW_ERR_RATE_LIMITED (burrow), auth_error (tunely), REGISTRATION_FAILED (tiflis).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { createLocaltunnelAdapter } from '../../src/adapters/localtunnel/index.js';
import { RateLimitedError } from '../../src/core/errors.js';
import { DEFAULT_NEW_TUNNELS_PER_MINUTE, NEW_TUNNELS_WINDOW_MS } from '../../src/core/limits.js';
import { NewTunnelLimiter } from '../../src/core/new-tunnel-limiter.js';
import { closeHttp, request, startOrigin, startServer } from '../helpers/harness.js';
import { BACKENDS, startComposed, tunnel, visit } from '../e2e/accounts/helpers.js';
import { FakeClock } from '../helpers/clock.js';
import { waitUntil } from '../helpers/wait.js';
import { startLt, startTestOrigin } from '../compat/localtunnel/helpers.js';
import { API_KEY, TestClient, registerMsg } from '../compat/tiflis/helpers.js';
import { connectTunely } from '../compat/tunely/helpers.js';
import { fromAddress } from './limit-helpers.js';

/** A localtunnel `/?new` handshake from `localAddress`. */
async function ltNew(
  port: number,
  from: string,
): Promise<{ status: number; retryAfter: string | undefined; json: Record<string, unknown> }> {
  const r = await fromAddress(port, '/?new', from);
  const retry = r.headers['retry-after'];
  return {
    status: r.status,
    retryAfter: typeof retry === 'string' ? retry : undefined,
    json: JSON.parse(r.body) as Record<string, unknown>,
  };
}

/** One raw tunely `auth` exchange: the server's first answer. */
async function tunelyAuth(port: number, token: string, force = false): Promise<Record<string, unknown>> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/tunnel`);
  await once(ws, 'open');
  ws.send(JSON.stringify({ type: 'auth', token, client_version: 'test', force }));
  const [data] = (await once(ws, 'message')) as [Buffer];
  ws.terminate();
  return JSON.parse(data.toString('utf8')) as Record<string, unknown>;
}

void test('NewTunnelLimiter: per address per minute, refunds, held tickets, IPv6 per /64, told once', () => {
  const clock = new FakeClock();
  const limited: string[] = [];
  const l = new NewTunnelLimiter({ now: clock.now, onLimited: (i) => limited.push(`${i.client} ${i.edge}`) });
  assert.equal(l.perMinute, DEFAULT_NEW_TUNNELS_PER_MINUTE);
  for (let i = 0; i < DEFAULT_NEW_TUNNELS_PER_MINUTE; i++) l.take('203.0.113.9', { edge: 'localtunnel' });
  assert.throws(
    () => l.take('203.0.113.9', { edge: 'localtunnel' }),
    (e) => e instanceof RateLimitedError && e.retryAfter === NEW_TUNNELS_WINDOW_MS / 1000 && e.status === 429,
  );
  assert.throws(() => l.take('203.0.113.9', { edge: 'burrow' }), RateLimitedError);
  assert.deepEqual(limited, ['203.0.113.9 localtunnel'], 'the refusal is logged once, not per attempt');
  l.take('203.0.113.10'); // another address
  clock.advance(NEW_TUNNELS_WINDOW_MS);
  l.take('203.0.113.9');

  const small = new NewTunnelLimiter({ perMinute: 2, now: clock.now });
  const a = small.take('2001:db8:1:2::1', { held: true });
  const b = small.take('2001:db8:1:2:ffff::9'); // the same /64
  assert.throws(() => small.take('2001:db8:1:2::77'), RateLimitedError);
  small.take('2001:db8:1:3::1'); // another /64
  b.cancel(); // not created after all: refunded
  const c = small.take('2001:db8:1:2::1');
  clock.advance(10 * NEW_TUNNELS_WINDOW_MS);
  assert.equal(small.count('2001:db8:1:2::1'), 1, 'the held ticket still counts after its minute');
  c.release();
  small.take('2001:db8:1:2::1');
  assert.throws(() => small.take('2001:db8:1:2::1'), RateLimitedError);
  a.release(); // its minute is long over: freed at once
  small.take('2001:db8:1:2::1');
});

void test(`localtunnel: ${DEFAULT_NEW_TUNNELS_PER_MINUTE} /?new from one address, then 429 + Retry-After; lt from another address is unaffected`, async (t) => {
  const adapter = createLocaltunnelAdapter({ address: '127.0.0.1' });
  const srv = await startServer({ adapters: [adapter] });
  t.after(() => srv.server.close());
  const flooder = '127.0.0.2';
  const opened = await Promise.all(
    Array.from({ length: DEFAULT_NEW_TUNNELS_PER_MINUTE }, () => ltNew(srv.port, flooder)),
  );
  for (const r of opened) assert.equal(r.status, 200);
  const refused = await ltNew(srv.port, flooder);
  assert.equal(refused.status, 429);
  assert.equal(refused.json['code'], 'BURROW_ERR_RATE_LIMITED');
  assert.match(String(refused.json['message']), /new tunnels within a minute; try again in \d+ s/);
  assert.ok(Number(refused.retryAfter) >= 1 && Number(refused.retryAfter) <= NEW_TUNNELS_WINDOW_MS / 1000);
  assert.equal((await fromAddress(srv.port, '/some-name', flooder)).status, 429, '/<name> handshakes count too');
  assert.equal(adapter.tunnels().length, DEFAULT_NEW_TUNNELS_PER_MINUTE, 'no pool port was opened for a refusal');
  const metrics = (await request(srv.port, '127.0.0.1', '/metrics')).body.toString();
  assert.match(metrics, /burrow_new_tunnels_refused_total\{protocol="localtunnel"\} 2/);

  // the real lt client, from 127.0.0.1, opens its tunnel and serves
  const origin = await startTestOrigin();
  t.after(() => closeHttp(origin.server));
  const lt = await startLt(srv.url, origin.port);
  t.after(() => lt.kill());
  const r = await request(srv.port, new URL(lt.url).host, '/x');
  assert.equal(r.status, 200);
});

void test('one limiter for every edge: burrow, localtunnel, tunely and tiflis share the count; a tunnel taken back is not new', async (t) => {
  const clock = new FakeClock();
  const db = await BACKENDS[0]!.create();
  t.after(() => db.cleanup());
  const srv = await startComposed(db.url, {
    auth: 'none',
    registrationKey: API_KEY,
    newTunnelLimiter: new NewTunnelLimiter({ perMinute: 4, now: clock.now }),
  });
  t.after(() => srv.composed.close());
  const origin = await startOrigin((_q, r) => r.end('ok'));
  t.after(() => closeHttp(origin.server));
  const tokens = srv.composed.accounts.tokens;
  const tunelyA = await tokens.create({ format: 'tunely', names: ['tun-a'] });
  const tunelyB = await tokens.create({ format: 'tunely', names: ['tun-b'] });
  const wsUrl = `ws://127.0.0.1:${srv.port}`;

  // 1 burrow REGISTER, 1 localtunnel handshake, 1 tunely agent, 1 tiflis workstation: 4 of 4
  const burrow = await tunnel(srv.url, origin.port);
  t.after(() => burrow.close());
  assert.equal((await visit(srv.port, burrow)).status, 200);
  assert.equal((await ltNew(srv.port, '127.0.0.1')).status, 200);
  const agent = await connectTunely({
    server: `${wsUrl}/ws/tunnel`,
    token: tunelyA.secret,
    target: `http://127.0.0.1:${origin.port}`,
  });
  t.after(() => agent.kill());
  const ws = await TestClient.open(`${wsUrl}/ws`);
  t.after(() => ws.close());
  assert.ok((await ws.request(registerMsg(), 'workstation.registered')).payload.tunnel_id);

  // a fifth is refused on every edge, each in its own wire's way
  await assert.rejects(tunnel(srv.url, origin.port), (e: { code?: string; message?: string }) => {
    assert.equal(e.code, 'BURROW_ERR_RATE_LIMITED');
    assert.match(e.message ?? '', /try again in \d+ s/);
    return true;
  });
  const lt = await ltNew(srv.port, '127.0.0.1');
  assert.equal(lt.status, 429);
  assert.ok(lt.retryAfter);
  const tun = await tunelyAuth(srv.port, tunelyB.secret);
  assert.equal(tun['type'], 'auth_error');
  assert.match(String(tun['error']), /new tunnels within a minute/);
  const tiflis = await TestClient.open(`${wsUrl}/ws`);
  t.after(() => tiflis.close());
  const refused = await tiflis.request(registerMsg(), 'error');
  assert.equal(refused.payload.code, 'REGISTRATION_FAILED');
  assert.match(refused.payload.message, /new tunnels within a minute; try again in \d+ s/);

  // taking an existing tunnel back is not a new tunnel: tunely's own token, with force
  assert.equal((await tunelyAuth(srv.port, tunelyA.secret, true))['type'], 'auth_ok');
  // another address is not affected
  assert.equal((await ltNew(srv.port, '127.0.0.2')).status, 200);

  // a minute later, the three claimed tunnels no longer count; the unclaimed pool port still does
  clock.advance(NEW_TUNNELS_WINDOW_MS);
  for (let i = 0; i < 3; i++) assert.equal((await ltNew(srv.port, '127.0.0.1')).status, 200);
  assert.equal((await ltNew(srv.port, '127.0.0.1')).status, 429);
});

void test('localtunnel: an unclaimed pool port counts until a pool socket claims it', async (t) => {
  const clock = new FakeClock();
  const adapter = createLocaltunnelAdapter({ address: '127.0.0.1' });
  const srv = await startServer({
    adapters: [adapter],
    newTunnelLimiter: new NewTunnelLimiter({ perMinute: 2, now: clock.now }),
  });
  t.after(() => srv.server.close());
  const first = await ltNew(srv.port, '127.0.0.1');
  assert.equal((await ltNew(srv.port, '127.0.0.1')).status, 200);
  assert.equal((await ltNew(srv.port, '127.0.0.1')).status, 429);
  clock.advance(10 * NEW_TUNNELS_WINDOW_MS);
  const held = await ltNew(srv.port, '127.0.0.1');
  assert.equal(held.status, 429, 'two unclaimed pool ports still count, however long ago they were opened');
  assert.equal(Number(held.retryAfter), NEW_TUNNELS_WINDOW_MS / 1000);

  // the client claims the first pool port: it stops counting (its minute is over)
  const pool = net.connect(Number(first.json['port']), '127.0.0.1');
  t.after(() => pool.destroy());
  await once(pool, 'connect');
  const name = String(first.json['id']);
  await waitUntil(() => adapter.tunnels().some((x) => x.name === name && x.connectedSockets === 1), {
    timeoutMs: 5_000,
    what: 'the pool socket to be taken',
  });
  assert.equal((await ltNew(srv.port, '127.0.0.1')).status, 200);
  assert.equal((await ltNew(srv.port, '127.0.0.1')).status, 429);
});
