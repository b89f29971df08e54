import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, openWorkstation, openDevice, AUTH_KEY, type Harness, type Msg } from './helpers.js';

async function call(
  h: Harness,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Msg }> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(`${h.httpUrl}${path}`, init);
  return { status: res.status, body: (await res.json()) as Msg };
}

void describe('tiflis Watch HTTP polling API', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  void test('connect, receive broadcasts and forward.to_device, send commands, state, disconnect', async () => {
    const { ws, tunnelId } = await openWorkstation(h);
    const phone = await openDevice(h, tunnelId, 'phone');

    const c = await call(h, 'POST', '/api/v1/watch/connect', {
      tunnel_id: tunnelId,
      auth_key: AUTH_KEY,
      device_id: 'watch-1',
    });
    assert.equal(c.status, 200);
    assert.deepEqual(c.body, {
      success: true,
      tunnel_id: tunnelId,
      workstation_online: true,
      workstation_name: 'My MacBook Pro',
    });
    assert.equal(h.adapter.stats().watchClients, 1);

    ws.send({ type: 'session.output', n: 1 });
    await phone.next('session.output'); // delivered (and queued for the watch in the same turn)
    ws.send({ type: 'forward.to_device', device_id: 'watch-1', payload: JSON.stringify({ type: 'only-watch' }) });
    ws.send({ type: 'probe' });
    await phone.next('probe');
    assert.equal(
      phone.received.some((m) => m.type === 'only-watch'),
      false,
    );

    const polled = await call(h, 'GET', '/api/v1/watch/messages?device_id=watch-1&since=0');
    assert.equal(polled.status, 200);
    assert.deepEqual(
      polled.body.messages.map((m: Msg) => [m.sequence, m.data]),
      [
        [1, { type: 'session.output', n: 1 }],
        [2, { type: 'only-watch' }],
        [3, { type: 'probe' }],
      ],
    );
    assert.match(polled.body.messages[0].timestamp, /^\d{4}-\d\d-\d\dT/);
    assert.equal(polled.body.current_sequence, 3);
    assert.equal(polled.body.workstation_online, true);

    const acked = await call(h, 'GET', '/api/v1/watch/messages?device_id=watch-1&since=3&ack=3');
    assert.deepEqual(acked.body.messages, []);
    const state = await call(h, 'GET', '/api/v1/watch/state?device_id=watch-1');
    assert.deepEqual(state.body, {
      connected: true,
      workstation_online: true,
      queue_size: 0,
      current_sequence: 3,
      workstation_name: 'My MacBook Pro',
    });

    const cmd = await call(h, 'POST', '/api/v1/watch/command', {
      device_id: 'watch-1',
      message: { type: 'voice.command', text: 'go' },
    });
    assert.deepEqual(cmd, { status: 200, body: { success: true } });
    assert.deepEqual(await ws.next('voice.command'), { type: 'voice.command', text: 'go', device_id: 'watch-1' });

    const bye = await call(h, 'POST', '/api/v1/watch/disconnect', { device_id: 'watch-1' });
    assert.deepEqual(bye.body, { success: true });
    assert.deepEqual(await ws.next('client.disconnected'), {
      type: 'client.disconnected',
      payload: { device_id: 'watch-1', tunnel_id: tunnelId },
    });
    assert.deepEqual((await call(h, 'GET', '/api/v1/watch/state?device_id=watch-1')).body, {
      connected: false,
      workstation_online: false,
      queue_size: 0,
      current_sequence: 0,
    });
    await Promise.all([phone.close(), ws.close()]);
  });

  void test('watch sees the workstation go offline and commands get 503 workstation_offline', async () => {
    const { ws, tunnelId } = await openWorkstation(h);
    await call(h, 'POST', '/api/v1/watch/connect', { tunnel_id: tunnelId, auth_key: AUTH_KEY, device_id: 'watch-2' });
    await ws.close();
    // The offline event is queued when the server handles the close; poll until it shows.
    let polled;
    do polled = await call(h, 'GET', '/api/v1/watch/messages?device_id=watch-2');
    while (polled.body.workstation_online);
    assert.deepEqual(polled.body.messages.at(-1).data, {
      type: 'connection.workstation_offline',
      payload: { tunnel_id: tunnelId },
    });
    const cmd = await call(h, 'POST', '/api/v1/watch/command', { device_id: 'watch-2', message: { type: 'x' } });
    assert.deepEqual(cmd, { status: 503, body: { error: 'workstation_offline', message: 'Workstation is offline' } });
    await call(h, 'POST', '/api/v1/watch/disconnect', { device_id: 'watch-2' });
  });

  void test('errors: 400 missing_parameters, 401 invalid_auth_key, 404 tunnel_not_found, 503 send_failed, 405, 404', async () => {
    const { ws, tunnelId } = await openWorkstation(h);
    assert.equal(
      (await call(h, 'POST', '/api/v1/watch/connect', { tunnel_id: tunnelId })).body.error,
      'missing_parameters',
    );
    const bad = await call(h, 'POST', '/api/v1/watch/connect', {
      tunnel_id: tunnelId,
      auth_key: 'wrong-key-wrong-key',
      device_id: 'w',
    });
    assert.deepEqual(bad, { status: 401, body: { error: 'invalid_auth_key', message: 'Invalid authentication key' } });
    const unknown = await call(h, 'POST', '/api/v1/watch/connect', {
      tunnel_id: 'nope',
      auth_key: AUTH_KEY,
      device_id: 'w',
    });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error, 'tunnel_not_found');
    const notConnected = await call(h, 'POST', '/api/v1/watch/command', { device_id: 'ghost', message: { type: 'x' } });
    assert.equal(notConnected.status, 503);
    assert.equal(notConnected.body.error, 'send_failed');
    assert.equal((await call(h, 'GET', '/api/v1/watch/messages')).status, 400);
    assert.equal((await call(h, 'GET', '/api/v1/watch/connect')).status, 405);
    assert.equal((await call(h, 'GET', '/api/v1/watch/nothing')).status, 404);
    const res = await fetch(`${h.httpUrl}/api/v1/watch/connect`, { method: 'POST', body: '{oops' });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as Msg).error, 'invalid_json');
    await ws.close();
  });

  void test('request bodies above the limit get 413', async () => {
    const small = await startHarness({ watchMaxBodyBytes: 100 });
    try {
      const r = await call(small, 'POST', '/api/v1/watch/command', {
        device_id: 'x',
        message: { pad: 'x'.repeat(200) },
      });
      assert.equal(r.status, 413);
      assert.equal(r.body.error, 'payload_too_large');
    } finally {
      await small.close();
    }
  });

  void test('watches that stop polling are dropped after the client timeout', async () => {
    let now = 1_000_000;
    const hh = await startHarness({ now: () => now, watchClientTimeoutMs: 1000, heartbeatIntervalMs: 20 });
    try {
      const { ws, tunnelId } = await openWorkstation(hh);
      await call(hh, 'POST', '/api/v1/watch/connect', { tunnel_id: tunnelId, auth_key: AUTH_KEY, device_id: 'sleepy' });
      assert.equal(hh.adapter.stats().watchClients, 1);
      now += 1001;
      // The sweep runs on the next heartbeat tick; the workstation hears client.disconnected.
      assert.equal((await ws.next('client.disconnected')).payload.device_id, 'sleepy');
      assert.equal(hh.adapter.stats().watchClients, 0);
      now += 1; // keep the workstation itself alive under the fake clock
      await ws.close();
    } finally {
      await hh.close();
    }
  });
});
