import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  TestClient,
  startHarness,
  openWorkstation,
  openDevice,
  registerMsg,
  connectMsg,
  type Harness,
} from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

void describe('tiflis relay over WebSocket', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  void test('workstation.register → workstation.registered with a tunnel id and public_url', async () => {
    const { ws, tunnelId, reply } = await openWorkstation(h);
    assert.match(tunnelId, /^[A-Za-z0-9_-]{12}$/);
    assert.equal(reply.payload.public_url, `ws://127.0.0.1:${h.port}/ws?tunnel_id=${tunnelId}`);
    assert.equal('restored' in reply.payload, false, 'restored is absent on a first registration');
    await ws.close();
  });

  void test('two devices relay both ways with device_id injection', async () => {
    const { ws, tunnelId } = await openWorkstation(h);
    const a = await openDevice(h, tunnelId, 'device-a');
    const b = await openDevice(h, tunnelId, 'device-b');

    a.send({ type: 'session.execute', id: 1, payload: { text: 'hi' }, device_id: 'spoofed' });
    const fromA = await ws.next('session.execute');
    assert.deepEqual(fromA, { type: 'session.execute', id: 1, payload: { text: 'hi' }, device_id: 'device-a' });
    b.send({ type: 'sync' });
    assert.deepEqual(await ws.next('sync'), { type: 'sync', device_id: 'device-b' });

    const text = '{"type":"session.output","payload":{"n":1},  "spacing":"kept"}';
    ws.send(text);
    await a.next('session.output');
    await b.next('session.output');
    // Workstation messages go unchanged (byte for byte).
    ws.send('{"type":"probe" }');
    await a.next('probe');
    assert.equal(h.adapter.stats().clients >= 2, true);
    await Promise.all([a.close(), b.close(), ws.close()]);
  });

  void test('forward.to_device reaches one device only', async () => {
    const { ws, tunnelId } = await openWorkstation(h);
    const a = await openDevice(h, tunnelId, 'fa');
    const b = await openDevice(h, tunnelId, 'fb');
    ws.send({ type: 'forward.to_device', device_id: 'fb', payload: JSON.stringify({ type: 'only-b', v: 2 }) });
    assert.deepEqual(await b.next(), { type: 'only-b', v: 2 });
    ws.send({ type: 'after' });
    assert.deepEqual(await a.next(), { type: 'after' }, 'a got nothing before the broadcast');
    assert.deepEqual(await b.next(), { type: 'after' });
    // A device may not use forward.to_device.
    const err = await a.request({ type: 'forward.to_device', device_id: 'fb', payload: '{}' }, 'error');
    assert.equal(err.payload.code, 'INVALID_PAYLOAD');
    await Promise.all([a.close(), b.close(), ws.close()]);
  });

  void test('client.disconnected tells the workstation when a device leaves', async () => {
    const { ws, tunnelId } = await openWorkstation(h);
    const a = await openDevice(h, tunnelId, 'leaver');
    await a.close();
    const msg = await ws.next('client.disconnected');
    assert.deepEqual(msg, { type: 'client.disconnected', payload: { device_id: 'leaver', tunnel_id: tunnelId } });
    await ws.close();
  });

  void test('devices hear workstation_offline and workstation_online; messages while offline get WORKSTATION_OFFLINE', async () => {
    const first = await openWorkstation(h);
    const tunnelId = first.tunnelId;
    const a = await openDevice(h, tunnelId, 'oo-a');
    await first.ws.close();
    assert.deepEqual(await a.next('connection.workstation_offline'), {
      type: 'connection.workstation_offline',
      payload: { tunnel_id: tunnelId },
    });
    const err = await a.request({ type: 'hello' }, 'error');
    assert.equal(err.payload.code, 'WORKSTATION_OFFLINE');
    // A new device cannot connect while the workstation is away.
    const late = await TestClient.open(h.wsUrl);
    assert.equal((await late.request(connectMsg(tunnelId, 'late'), 'error')).payload.code, 'WORKSTATION_OFFLINE');

    const second = await openWorkstation(h, { reconnect: true, previous_tunnel_id: tunnelId });
    assert.equal(second.tunnelId, tunnelId);
    assert.equal(second.reply.payload.restored, true);
    assert.deepEqual(await a.next('connection.workstation_online'), {
      type: 'connection.workstation_online',
      payload: { tunnel_id: tunnelId },
    });
    a.send({ type: 'again' });
    assert.deepEqual(await second.ws.next('again'), { type: 'again', device_id: 'oo-a' });
    await Promise.all([a.close(), late.close(), second.ws.close()]);
  });

  void test('bad API key: INVALID_API_KEY and the socket stays open', async () => {
    const ws = await TestClient.open(h.wsUrl);
    const err = await ws.request(registerMsg({ api_key: 'x'.repeat(40) }), 'error');
    assert.deepEqual(err, {
      type: 'error',
      payload: { code: 'INVALID_API_KEY', message: 'Invalid API key for workstation registration' },
    });
    const ok = await ws.request(registerMsg(), 'workstation.registered');
    assert.ok(ok.payload.tunnel_id);
    await ws.close();
  });

  void test('bad auth key, unknown tunnel: INVALID_AUTH_KEY, TUNNEL_NOT_FOUND, socket open', async () => {
    const { ws, tunnelId } = await openWorkstation(h);
    const d = await TestClient.open(h.wsUrl);
    const bad = await d.request(connectMsg(tunnelId, 'd1', { auth_key: 'wrong-auth-key-0000000' }), 'error');
    assert.deepEqual(bad, {
      type: 'error',
      payload: { code: 'INVALID_AUTH_KEY', message: 'Invalid authentication key' },
    });
    const unknown = await d.request(connectMsg('no-such-tunnel', 'd1'), 'error');
    assert.equal(unknown.payload.code, 'TUNNEL_NOT_FOUND');
    assert.equal(unknown.payload.message, 'Tunnel not found: no-such-tunnel');
    const ok = await d.request(connectMsg(tunnelId, 'd1', { reconnect: false }), 'connected');
    assert.deepEqual(ok, {
      type: 'connected',
      payload: { tunnel_id: tunnelId, tunnel_version: '0.1.0', protocol_version: '1.0.0' },
    });
    await Promise.all([d.close(), ws.close()]);
  });

  void test('invalid payloads get INVALID_PAYLOAD and leave the socket open', async () => {
    const ws = await TestClient.open(h.wsUrl);
    for (const [input, message] of [
      ['not json', 'Invalid JSON'],
      ['{"no":"type"}', 'Missing message type'],
      ['[1,2]', 'Missing message type'],
      [JSON.stringify(registerMsg({ auth_key: 'short' })), 'Invalid registration payload'],
      [JSON.stringify({ type: 'connect', payload: { tunnel_id: 'x' } }), 'Invalid connection payload'],
      [JSON.stringify({ type: 'session.list' }), 'Not authenticated: send workstation.register or connect first'],
    ] as const) {
      const err = await ws.request(input, 'error');
      assert.equal(err.payload.code, 'INVALID_PAYLOAD', input);
      assert.equal(err.payload.message, message, input);
    }
    const short = await ws.request(registerMsg({ api_key: 'short-key' }), 'error');
    assert.equal(short.payload.code, 'INVALID_PAYLOAD');
    assert.ok((short.payload.details as string[]).includes('api_key must be at least 32 characters'));
    assert.equal(ws.ws.readyState, ws.ws.OPEN);
    await ws.close();
  });

  void test('ping is answered with pong carrying the same timestamp and is never relayed', async () => {
    const { ws, tunnelId } = await openWorkstation(h);
    const d = await openDevice(h, tunnelId, 'pinger');
    assert.deepEqual(await d.request({ type: 'ping', timestamp: 1736942400123 }, 'pong'), {
      type: 'pong',
      timestamp: 1736942400123,
    });
    assert.deepEqual(await ws.request({ type: 'ping', timestamp: 42 }, 'pong'), { type: 'pong', timestamp: 42 });
    d.send({ type: 'marker' });
    assert.deepEqual(await ws.next(), { type: 'marker', device_id: 'pinger' }, 'the ping was not relayed before it');
    await Promise.all([d.close(), ws.close()]);
  });

  void test('a replaced workstation socket: its late close does not take the tunnel offline', async () => {
    const old = await openWorkstation(h);
    const d = await openDevice(h, old.tunnelId, 'watcher');
    const sockets = h.adapter.stats().tiflisSockets;
    const fresh = await openWorkstation(h, { reconnect: true, previous_tunnel_id: old.tunnelId });
    assert.equal(fresh.tunnelId, old.tunnelId);
    const closed = await old.ws.closed;
    assert.deepEqual(closed, { code: 1000, reason: 'Replaced by a new connection' });
    await waitUntil(() => h.adapter.stats().tiflisSockets === sockets, { what: 'the server saw the old socket close' });
    d.send({ type: 'still-here' });
    assert.deepEqual(await fresh.ws.next(), { type: 'still-here', device_id: 'watcher' });
    assert.equal(
      d.received.some((m) => m.type === 'connection.workstation_offline'),
      false,
    );
    const d2 = await openDevice(h, old.tunnelId, 'newcomer');
    await Promise.all([d.close(), d2.close(), fresh.ws.close()]);
  });

  void test('a replaced device socket: no client.disconnected for its late close', async () => {
    const { ws, tunnelId } = await openWorkstation(h);
    const first = await openDevice(h, tunnelId, 'phone');
    const sockets = h.adapter.stats().tiflisSockets;
    const second = await TestClient.open(h.wsUrl);
    const reply = await second.request(connectMsg(tunnelId, 'phone', { reconnect: true }), 'connected');
    assert.equal(reply.payload.restored, true);
    assert.deepEqual(await first.closed, { code: 1000, reason: 'Replaced by a new connection' });
    await waitUntil(() => h.adapter.stats().tiflisSockets === sockets, { what: 'the server saw the old device close' });
    second.send({ type: 'from-second' });
    assert.deepEqual(await ws.next(), { type: 'from-second', device_id: 'phone' });
    ws.send({ type: 'to-all' });
    await second.next('to-all');
    await Promise.all([second.close(), ws.close()]);
  });

  void test('stats() counts workstations and clients', async () => {
    const before = h.adapter.stats();
    const { ws, tunnelId } = await openWorkstation(h);
    const d = await openDevice(h, tunnelId, 'counted');
    const during = h.adapter.stats();
    assert.equal(during.workstations, before.workstations + 1);
    assert.equal(during.clients, before.clients + 1);
    await Promise.all([d.close(), ws.close()]);
    await waitUntil(() => h.adapter.stats().workstations === before.workstations, { what: 'the workstation is gone' });
    await waitUntil(() => h.adapter.stats().clients === before.clients, { what: 'the client is gone' });
  });

  void test('only the configured path is handled', async () => {
    const other = new (await import('ws')).WebSocket(`ws://127.0.0.1:${h.port}/other`);
    const err = await new Promise<Error>((resolve) => other.once('error', resolve));
    assert.match(err.message, /Unexpected server response|socket hang up/);
  });
});

void describe('tiflis limits and liveness', () => {
  void test('peers silent past the timeout are dropped; healthy idle peers are kept', async () => {
    const h = await startHarness({ silenceTimeoutMs: 300, heartbeatIntervalMs: 50 });
    try {
      const silent = await openWorkstation(h, {}, { autoPong: false });
      const healthy = await openWorkstation(h);
      const d = await openDevice(h, silent.tunnelId, 'd', {});
      const closed = await silent.ws.closed;
      assert.equal(closed.code, 1006, 'the silent workstation was cut');
      assert.equal((await d.next('connection.workstation_offline')).payload.tunnel_id, silent.tunnelId);
      assert.equal(healthy.ws.ws.readyState, healthy.ws.ws.OPEN, 'the pong-answering workstation stays');
      assert.deepEqual(await healthy.ws.request({ type: 'ping', timestamp: 1 }, 'pong'), {
        type: 'pong',
        timestamp: 1,
      });
      await Promise.all([d.close(), healthy.ws.close()]);
    } finally {
      await h.close();
    }
  });

  void test('messages above the size limit close the socket with 1009', async () => {
    const h = await startHarness({ maxMessageBytes: 1024 });
    try {
      const ws = await TestClient.open(h.wsUrl);
      ws.send({ type: 'big', data: 'x'.repeat(2048) });
      assert.equal((await ws.closed).code, 1009);
    } finally {
      await h.close();
    }
  });

  void test('a socket that never registers is closed after the auth timeout', async () => {
    const h = await startHarness({ authTimeoutMs: 100 });
    try {
      const ws = await TestClient.open(h.wsUrl);
      const closed = await ws.closed;
      assert.equal(closed.code, 4401);
    } finally {
      await h.close();
    }
  });

  void test('close() ends every socket with 1001', async () => {
    const h = await startHarness();
    const { ws } = await openWorkstation(h);
    const closing = h.close();
    assert.equal((await ws.closed).code, 1001);
    await closing;
  });
});
