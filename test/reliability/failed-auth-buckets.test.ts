/**
 * Issue 13, defect 6: the failed-auth lockout was one bucket per address for everything — three bad
 * agent HELLOs counted toward the admin API's 429, so a bad actor behind a shared NAT locked
 * legitimate agents (and the operator) out for 60 s. Now one limiter keeps a bucket per surface
 * (admin, agent, visitor, tiflis, tcp-ws, pipe): failures on one surface lock only that surface.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { AUTH_SURFACES, FailedAuthLimiter, RateLimitedError } from '../../src/auth/failed-auth-limiter.js';
import { FAILED_AUTH_MAX_ATTEMPTS, FAILED_AUTH_WINDOW_MS } from '../../src/auth/limits.js';
import { closeHttp, startOrigin } from '../helpers/harness.js';
import { ADMIN_TOKEN, BACKENDS, startComposed, tunnel } from '../e2e/accounts/helpers.js';
import { FakeClock } from '../helpers/clock.js';
import { fromAddress, rawHello } from './limit-helpers.js';

const WRONG = (i: number): string => `brw_${String(i).padStart(40, 'Q')}`;
const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

void test('FailedAuthLimiter: one bucket per surface; each locks alone, is told once, and frees with the window', () => {
  const clock = new FakeClock();
  const lockouts: string[] = [];
  const limiter = new FailedAuthLimiter({
    now: clock.now,
    onLockout: (i) => lockouts.push(`${i.surface} ${i.client}`),
  });
  const nat = '198.51.100.7';
  for (let i = 0; i < FAILED_AUTH_MAX_ATTEMPTS; i++) limiter.fail(nat, 'agent');
  assert.throws(() => limiter.check(nat, 'agent'), RateLimitedError);
  for (const s of AUTH_SURFACES) if (s !== 'agent') assert.equal(limiter.retryAfter(nat, s), 0, `${s} is not locked`);
  // the per-surface views share the buckets
  const tiflis = limiter.forSurface('tiflis');
  assert.ok(limiter.forSurface('agent').retryAfter(nat) > 0);
  for (let i = 0; i < FAILED_AUTH_MAX_ATTEMPTS + 3; i++) tiflis.fail(nat);
  assert.ok(limiter.retryAfter(nat, 'tiflis') > 0);
  assert.equal(limiter.retryAfter(nat, 'admin'), 0);
  assert.deepEqual(lockouts, [`agent ${nat}`, `tiflis ${nat}`], 'each lockout is logged once');
  clock.advance(FAILED_AUTH_WINDOW_MS);
  for (const s of AUTH_SURFACES) assert.equal(limiter.retryAfter(nat, s), 0);
});

void test('bad agent HELLOs do not lock the admin API, visitor rules or TCP access of the same address; each surface locks alone', async (t) => {
  const db = await BACKENDS[0]!.create();
  t.after(() => db.cleanup());
  const origin = await startOrigin((_q, r) => r.end('origin'));
  t.after(() => closeHttp(origin.server));
  const echo = net.createServer((s) => s.pipe(s));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  t.after(() => echo.close());
  const TCP_TOKEN = 'tcp-access-token-for-buckets';
  const srv = await startComposed(db.url, {
    tcpTargets: [`echo=127.0.0.1:${(echo.address() as net.AddressInfo).port},token=${TCP_TOKEN}`],
  });
  t.after(() => srv.composed.close());
  const { secret } = await srv.composed.accounts.tokens.create({ label: 'agent' });
  const site = await tunnel(srv.url, origin.port, { token: secret, access: { basicAuth: 'dave:pw' } });
  t.after(() => site.close());
  const siteHost = new URL(site.url).host;

  const admin = (from: string, token = ADMIN_TOKEN): ReturnType<typeof fromAddress> =>
    fromAddress(srv.port, '/api/admin/tokens', from, { headers: { authorization: `Bearer ${token}` } });
  const visitor = (from: string, pass: string): ReturnType<typeof fromAddress> =>
    fromAddress(srv.port, '/', from, { headers: { host: siteHost, authorization: basic('dave', pass) } });
  const tcp = (from: string, token: string): Promise<number> =>
    new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/tcp/echo`, {
        localAddress: from,
        headers: { authorization: `Bearer ${token}` },
      });
      ws.on('open', () => {
        ws.terminate();
        resolve(101);
      });
      ws.on('unexpected-response', (_req, res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      ws.on('error', () => undefined);
    });

  // 1. an address behind a "NAT" (127.0.0.2) guesses agent tokens until locked out, even for the right one
  const nat = '127.0.0.2';
  for (let i = 0; i < FAILED_AUTH_MAX_ATTEMPTS; i++) {
    const a = await rawHello(srv.port, WRONG(i), nat);
    assert.equal(a.error?.code, 'BURROW_ERR_UNAUTHORIZED');
    assert.equal(a.closeCode, 4401);
  }
  const locked = await rawHello(srv.port, secret, nat);
  assert.equal(locked.error?.code, 'BURROW_ERR_RATE_LIMITED');
  assert.equal(locked.closeCode, 4429);
  // …but its admin API, visitor credentials and TCP access are other surfaces
  assert.equal((await admin(nat)).status, 200, 'the admin API is not locked by agent guesses');
  assert.equal((await visitor(nat, 'pw')).status, 200);
  assert.equal(await tcp(nat, TCP_TOKEN), 101);
  // and an agent on another address connects
  assert.equal((await rawHello(srv.port, secret, '127.0.0.1')).welcome, true);

  // 2. wrong admin tokens lock the admin API only
  for (let i = 0; i < FAILED_AUTH_MAX_ATTEMPTS; i++)
    assert.equal((await admin(nat, `wrong-admin-${i}-xxxxxxxxxx`)).status, 401);
  const adminLocked = await admin(nat);
  assert.equal(adminLocked.status, 429, 'even the right admin token waits');
  assert.ok(Number(adminLocked.headers['retry-after']) >= 1);
  assert.equal((await visitor(nat, 'pw')).status, 200);

  // 3. wrong visitor credentials (another address) lock that visitor only
  const guest = '127.0.0.3';
  for (let i = 0; i < FAILED_AUTH_MAX_ATTEMPTS; i++) assert.equal((await visitor(guest, `guess${i}`)).status, 401);
  const visitorLocked = await visitor(guest, 'pw');
  assert.equal(visitorLocked.status, 429);
  assert.ok(Number(visitorLocked.headers['retry-after']) >= 1);
  assert.equal((await admin(guest)).status, 200);
  assert.equal((await rawHello(srv.port, secret, guest)).welcome, true);
  assert.equal((await visitor('127.0.0.4', 'pw')).status, 200, 'other visitors are not affected');

  // 4. wrong TCP access tokens lock TCP access only (429 + Retry-After on the upgrade)
  const tcpUser = '127.0.0.5';
  for (let i = 0; i < FAILED_AUTH_MAX_ATTEMPTS; i++) assert.equal(await tcp(tcpUser, `wrong-${i}`), 403);
  assert.equal(await tcp(tcpUser, TCP_TOKEN), 429);
  assert.equal(await tcp('127.0.0.6', TCP_TOKEN), 101);
  assert.equal((await rawHello(srv.port, secret, tcpUser)).welcome, true);
  assert.equal((await admin(tcpUser)).status, 200);
});
