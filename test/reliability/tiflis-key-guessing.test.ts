/**
 * Issue 13, defect 7: tiflis keys could be guessed without limit — one socket took 30 wrong API
 * keys and then registered with the right one. Now the registration key and device auth keys go
 * through the server's failed-auth limiter (surface `tiflis`): after FAILED_AUTH_MAX_ATTEMPTS wrong
 * keys from an address, even the right key is refused there (tiflis's error shape on the
 * WebSocket, 429 + Retry-After on the Watch API) until the window passes; other addresses and
 * burrow's other surfaces are not affected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { FailedAuthLimiter } from '../../src/auth/failed-auth-limiter.js';
import { FAILED_AUTH_MAX_ATTEMPTS, FAILED_AUTH_WINDOW_MS } from '../../src/auth/limits.js';
import { closeHttp, startOrigin } from '../helpers/harness.js';
import { BACKENDS, startComposed, tunnel, visit } from '../e2e/accounts/helpers.js';
import { FakeClock } from '../helpers/clock.js';
import { API_KEY, AUTH_KEY, TestClient, connectMsg, registerMsg, startHarness } from '../compat/tiflis/helpers.js';

const wrongKey = (i: number): string => `wrong-registration-key-${String(i).padStart(16, '0')}`;
const wrongAuth = (i: number): string => `wrong-device-key-${String(i).padStart(12, '0')}`;

async function postJson(
  url: string,
  body: unknown,
  localAddress: string,
): Promise<{ status: number; retryAfter: string | null; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', localAddress, headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: typeof res.headers['retry-after'] === 'string' ? res.headers['retry-after'] : null,
            json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

void test('tiflis: wrong registration keys and device auth keys lock the address out, even for the right key; others are unaffected', async (t) => {
  const db = await BACKENDS[0]!.create();
  t.after(() => db.cleanup());
  const srv = await startComposed(db.url, { registrationKey: API_KEY });
  t.after(() => srv.composed.close());
  const wsUrl = `ws://127.0.0.1:${srv.port}/ws`;
  const origin = await startOrigin((_q, r) => r.end('ok'));
  t.after(() => closeHttp(origin.server));

  // one socket guesses registration keys from 127.0.0.1…
  const guesser = await TestClient.open(wsUrl, { localAddress: '127.0.0.1' });
  t.after(() => guesser.close());
  for (let i = 0; i < FAILED_AUTH_MAX_ATTEMPTS; i++) {
    const e = await guesser.request(registerMsg({ api_key: wrongKey(i) }), 'error');
    assert.equal(e.payload.code, 'INVALID_API_KEY');
    assert.match(e.payload.message, /^Invalid API key/);
  }
  // …and then is refused with the right key (tiflis's error shape, the socket stays open)
  const locked = await guesser.request(registerMsg(), 'error');
  assert.equal(locked.payload.code, 'INVALID_API_KEY');
  assert.match(locked.payload.message, /Too many failed authentication attempts from this address; try again in \d+ s/);
  assert.equal(guesser.ws.readyState, guesser.ws.OPEN);

  // another address registers with the right key
  const ws = await TestClient.open(wsUrl, { localAddress: '127.0.0.2' });
  t.after(() => ws.close());
  const registered = await ws.request(registerMsg(), 'workstation.registered');
  const tunnelId = registered.payload.tunnel_id as string;
  assert.ok(tunnelId);

  // the locked address's other surfaces still work: an agent token opens a tunnel from 127.0.0.1
  const { secret } = await srv.composed.accounts.tokens.create({ label: 'agent' });
  const tun = await tunnel(srv.url, origin.port, { token: secret });
  t.after(() => tun.close());
  assert.equal((await visit(srv.port, tun)).status, 200);

  // device auth keys: a guessing device from 127.0.0.3 is locked out on the WebSocket…
  const device = await TestClient.open(wsUrl, { localAddress: '127.0.0.3' });
  t.after(() => device.close());
  for (let i = 0; i < FAILED_AUTH_MAX_ATTEMPTS; i++) {
    const e = await device.request(connectMsg(tunnelId, 'dev-1', { auth_key: wrongAuth(i) }), 'error');
    assert.equal(e.payload.code, 'INVALID_AUTH_KEY');
  }
  const deviceLocked = await device.request(connectMsg(tunnelId, 'dev-1'), 'error');
  assert.equal(deviceLocked.payload.code, 'INVALID_AUTH_KEY');
  assert.match(deviceLocked.payload.message, /Too many failed authentication attempts/);
  // …and on the Watch API (429 + Retry-After)
  const watch = await postJson(
    `${srv.url}/api/v1/watch/connect`,
    { tunnel_id: tunnelId, auth_key: AUTH_KEY, device_id: 'watch-1' },
    '127.0.0.3',
  );
  assert.equal(watch.status, 429);
  assert.ok(Number(watch.retryAfter) >= 1 && Number(watch.retryAfter) <= FAILED_AUTH_WINDOW_MS / 1000);
  assert.equal(watch.json['error'], 'rate_limited');

  // a device from another address connects with the right key
  const good = await TestClient.open(wsUrl, { localAddress: '127.0.0.4' });
  t.after(() => good.close());
  const connected = await good.request(connectMsg(tunnelId, 'dev-2'), 'connected');
  assert.equal(connected.payload.tunnel_id, tunnelId);
});

void test('tiflis lockout ends when the oldest failure leaves the window (injected clock)', async (t) => {
  const clock = new FakeClock();
  const h = await startHarness({ failedAuth: new FailedAuthLimiter({ now: clock.now }).forSurface('tiflis') });
  t.after(() => h.close());
  const c = await TestClient.open(h.wsUrl);
  t.after(() => c.close());
  for (let i = 0; i < FAILED_AUTH_MAX_ATTEMPTS; i++) {
    assert.equal((await c.request(registerMsg({ api_key: wrongKey(i) }), 'error')).payload.code, 'INVALID_API_KEY');
    clock.advance(1_000);
  }
  const locked = await c.request(registerMsg(), 'error');
  const wait = Number(/try again in (\d+) s/.exec(locked.payload.message as string)?.[1]);
  // failures at 0 … 9 s, now 10 s: the first leaves the 60 s window in 50 s
  assert.equal(wait, FAILED_AUTH_WINDOW_MS / 1000 - FAILED_AUTH_MAX_ATTEMPTS);
  clock.advance(wait * 1000 - 1);
  assert.equal((await c.request(registerMsg(), 'error')).payload.code, 'INVALID_API_KEY');
  clock.advance(1);
  const ok = await c.request(registerMsg(), 'workstation.registered');
  assert.ok(ok.payload.tunnel_id);
});
