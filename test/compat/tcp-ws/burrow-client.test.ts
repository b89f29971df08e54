/** burrow's own startTcpTunnel against the limrun adapter, in both modes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import {
  startTcpTunnel,
  type BurrowTcpTunnel,
  type TunnelConnectionState,
} from '../../../src/client/tcp-ws/tcp-tunnel.js';
import { dial, echo, hashUntilEnd, mountAdapter, readBytes, startTarget, writePattern } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';
import { readAll } from '../../helpers/net.js';

const TOKEN = 'burrow-token';
const MODES = ['singleton', 'multiplexed'] as const;
const BIG = 64 * 1024 * 1024;

async function setup(onConnection: (s: Socket) => void, targetOptions: { allowHalfOpen?: boolean } = {}) {
  const target = await startTarget(onConnection, targetOptions);
  const m = await mountAdapter({ targets: [{ name: 'dev', host: '127.0.0.1', port: target.port, token: TOKEN }] });
  return {
    target,
    m,
    url: `ws://127.0.0.1:${m.port}/tcp/dev`,
    async close() {
      await m.close();
      await target.close();
    },
  };
}

function states(t: BurrowTcpTunnel): TunnelConnectionState[] {
  const seen: TunnelConnectionState[] = [];
  t.onConnectionStateChange((s) => seen.push(s));
  return seen;
}

for (const mode of MODES) {
  void test(`burrow ${mode}: echo, and the defaults/state API match limrun's`, async (t) => {
    const s = await setup(echo);
    t.after(() => s.close());
    const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { mode, logLevel: 'none' });
    t.after(() => tunnel.close());
    assert.equal(tunnel.address.address, '127.0.0.1');
    const seen = states(tunnel);
    const sock = await dial(tunnel.address.port);
    t.after(() => sock.destroy());
    sock.write('hello burrow');
    assert.equal((await readBytes(sock, 12)).toString(), 'hello burrow');
    assert.equal(tunnel.getConnectionState(), 'connected');
    const unregister = tunnel.onConnectionStateChange(() => assert.fail('unregistered callback called'));
    unregister();
    tunnel.close();
    assert.equal(tunnel.getConnectionState(), 'disconnected');
    assert.equal(seen.at(-1), 'disconnected');
    assert.deepEqual(await tunnel.closed, { reason: 'closed' });
  });

  void test(`burrow ${mode}: 64 MiB byte-exact each way, ended by half-close`, async (t) => {
    let n = 0;
    let uploaded: Promise<{ bytes: number; sha: string }> | undefined;
    let downloadSha: Promise<string> | undefined;
    const s = await setup(
      (sock) => {
        if (n++ === 0) {
          uploaded = hashUntilEnd(sock);
          sock.once('end', () => sock.end()); // answer our FIN with its own
        } else downloadSha = writePattern(sock, BIG, 2);
      },
      { allowHalfOpen: true },
    );
    t.after(() => s.close());
    const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { mode, logLevel: 'none' });
    t.after(() => tunnel.close());

    const up = await dial(tunnel.address.port);
    const sentSha = await writePattern(up, BIG, 1, true); // FIN carried end to end
    await waitUntil(() => uploaded !== undefined);
    assert.deepEqual(await uploaded, { bytes: BIG, sha: sentSha });
    await once(up, 'end');
    up.destroy();
    if (mode === 'singleton')
      await waitUntil(() => s.m.adapter.stats().tcpSessions === 0 && tunnel.getConnectionState() === 'disconnected');

    const down = await dial(tunnel.address.port);
    const got = await hashUntilEnd(down);
    assert.deepEqual(got, { bytes: BIG, sha: await downloadSha! });
    down.destroy();
  });

  void test(`burrow ${mode}: half-close — the target answers after our FIN`, async (t) => {
    const s = await setup(
      (sock) => {
        let total = 0;
        sock.on('data', (c: Buffer) => (total += c.length));
        sock.on('end', () => sock.end(`got ${total}`));
      },
      { allowHalfOpen: true },
    );
    t.after(() => s.close());
    const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { mode, logLevel: 'none' });
    t.after(() => tunnel.close());
    const sock = await dial(tunnel.address.port);
    const reply = readAll(sock);
    sock.end(Buffer.alloc(100_000, 1));
    assert.equal((await reply).toString(), 'got 100000');
  });

  void test(`burrow ${mode}: a server-speaks-first target greets before we write`, async (t) => {
    const s = await setup((sock) => {
      sock.write('220 hello\r\n');
      sock.pipe(sock);
    });
    t.after(() => s.close());
    const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { mode, logLevel: 'none' });
    t.after(() => tunnel.close());
    const sock = await dial(tunnel.address.port);
    t.after(() => sock.destroy());
    assert.equal((await readBytes(sock, 11)).toString(), '220 hello\r\n');
    sock.write('QUIT');
    assert.equal((await readBytes(sock, 4)).toString(), 'QUIT');
  });

  void test(`burrow ${mode}: bad token → refused at once, no retries`, async (t) => {
    const s = await setup(echo);
    t.after(() => s.close());
    if (mode === 'multiplexed') {
      await assert.rejects(startTcpTunnel(s.url, 'nope', '127.0.0.1', 0, { mode, logLevel: 'none' }), /403/);
    } else {
      const tunnel = await startTcpTunnel(s.url, 'nope', '127.0.0.1', 0, {
        mode,
        logLevel: 'none',
        reconnectDelay: 10,
      });
      const sock = await dial(tunnel.address.port);
      await once(sock, 'close');
      assert.deepEqual(await tunnel.closed, { reason: 'refused', status: 403 });
      assert.equal(tunnel.getConnectionState(), 'disconnected');
    }
    assert.equal(s.m.adapter.stats().tcpRejectedUpgrades, 1);
  });

  void test(`burrow ${mode}: target closes → our connection ends with its last bytes, the tunnel keeps listening`, async (t) => {
    const s = await setup((sock) => sock.end('last words'));
    t.after(() => s.close());
    const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { mode, logLevel: 'none', reconnectDelay: 10 });
    t.after(() => tunnel.close());
    for (let i = 0; i < 2; i++) {
      const sock = await dial(tunnel.address.port);
      const all = readAll(sock);
      assert.equal((await all).toString(), 'last words');
      sock.destroy();
      if (mode === 'singleton') await waitUntil(() => tunnel.getConnectionState() === 'disconnected');
    }
    assert.equal(s.target.accepted(), 2);
    assert.equal(s.m.adapter.stats().tcpRejectedUpgrades, 0, 'burrow does not need a 410 round trip');
  });
}

void test('burrow multiplexed: 50 concurrent connections', async (t) => {
  const s = await setup(echo);
  t.after(() => s.close());
  const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { mode: 'multiplexed', logLevel: 'none' });
  t.after(() => tunnel.close());
  const socks = await Promise.all(Array.from({ length: 50 }, () => dial(tunnel.address.port)));
  t.after(() => socks.forEach((x) => x.destroy()));
  const ok = await Promise.all(
    socks.map(async (sock, i) => {
      const payload = Buffer.alloc(64 * 1024 + i, i);
      const reply = readBytes(sock, payload.length);
      sock.write(payload);
      return (await reply).equals(payload);
    }),
  );
  assert.ok(ok.every(Boolean));
  assert.equal(s.m.adapter.stats().tcpMuxConnections, 50);
});

/** An unmasked server close frame (code 1001), written under the server's WebSocket. */
const CLOSE_1001 = Buffer.from([0x88, 0x02, 0x03, 0xe9]);

void test('burrow singleton: reconnect keeps the bytes read meanwhile (regression: limrun drops bytes read while its WebSocket is closing)', async (t) => {
  let atTarget: Promise<{ bytes: number; sha: string }> | undefined;
  const s = await setup((sock) => (atTarget = hashUntilEnd(sock)), { allowHalfOpen: true });
  t.after(() => s.close());
  const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { logLevel: 'none', reconnectDelay: 20 });
  t.after(() => tunnel.close());
  const seen = states(tunnel);
  const sock = await dial(tunnel.address.port);
  t.after(() => sock.destroy());

  // A steady writer; halfway through, the server's WebSocket goes away with a close handshake
  // (no bytes in flight are lost to a reset), so every byte must arrive, in order, once.
  const h = createHash('sha256');
  const total = 8 * 1024 * 1024;
  const chunk = Buffer.alloc(16 * 1024);
  let sent = 0;
  let closed = false;
  while (sent < total) {
    chunk.fill(sent / chunk.length);
    h.update(chunk);
    sent += chunk.length;
    if (!sock.write(chunk)) await once(sock, 'drain');
    if (!closed && sent >= total / 2 && s.m.upgraded.size === 1) {
      closed = true;
      const [raw] = [...s.m.upgraded];
      raw!.write(CLOSE_1001);
    }
    await new Promise((r) => setImmediate(r));
  }
  sock.end();
  await waitUntil(() => atTarget !== undefined);
  assert.deepEqual(await atTarget, { bytes: total, sha: h.digest('hex') });
  assert.ok(closed, 'the WebSocket was closed mid-stream');
  assert.ok(seen.includes('reconnecting'), `reconnected (states: ${seen.join(',')})`);
  assert.equal(s.target.accepted(), 1, 'the same target connection was resumed');
});

void test('burrow singleton: WebSocket killed → resumed on the same target connection', async (t) => {
  const s = await setup(() => {});
  t.after(() => s.close());
  const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { logLevel: 'none', reconnectDelay: 20 });
  t.after(() => tunnel.close());
  const seen = states(tunnel);
  const sock = await dial(tunnel.address.port);
  t.after(() => sock.destroy());
  await waitUntil(() => s.target.sockets.size === 1);
  const [targetSock] = [...s.target.sockets];
  for (const raw of s.m.upgraded) raw.destroy();
  await waitUntil(() => s.m.adapter.stats().tcpDetachedSessions === 1 && seen.includes('reconnecting'));
  targetSock!.write('while away');
  sock.write('queued');
  assert.equal((await readBytes(sock, 10)).toString(), 'while away');
  assert.equal((await readBytes(targetSock!, 6)).toString(), 'queued');
  assert.equal(s.target.accepted(), 1);
});

void test('burrow singleton against a limrun-style server (no extensions): target close → last bytes, then 410, tunnel keeps listening', async (t) => {
  const target = await startTarget((sock) => sock.end('last words'));
  const m = await mountAdapter({
    burrowExtensions: false,
    targets: [{ name: 'dev', host: '127.0.0.1', port: target.port, token: TOKEN }],
  });
  t.after(async () => {
    await m.close();
    await target.close();
  });
  const tunnel = await startTcpTunnel(`ws://127.0.0.1:${m.port}/tcp/dev`, TOKEN, '127.0.0.1', 0, {
    logLevel: 'none',
    reconnectDelay: 10,
  });
  t.after(() => tunnel.close());
  for (let i = 0; i < 2; i++) {
    const sock = await dial(tunnel.address.port);
    assert.equal((await readAll(sock)).toString(), 'last words');
    sock.destroy();
    await waitUntil(() => tunnel.getConnectionState() === 'disconnected');
  }
  assert.equal(m.adapter.stats().tcpRejectedUpgrades, 2, 'each resume after the target closed was answered 410');
});

void test('burrow multiplexed: a connection accepted while reconnecting waits for the new WebSocket', async (t) => {
  const s = await setup(echo);
  t.after(() => s.close());
  const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, {
    mode: 'multiplexed',
    logLevel: 'none',
    reconnectDelay: 50,
  });
  t.after(() => tunnel.close());
  const seen = states(tunnel);
  for (const raw of s.m.upgraded) raw.destroy();
  await waitUntil(() => tunnel.getConnectionState() === 'reconnecting');
  const sock = await dial(tunnel.address.port); // limrun's client would destroy it here
  t.after(() => sock.destroy());
  sock.write('held');
  assert.equal((await readBytes(sock, 4)).toString(), 'held');
  assert.deepEqual(seen.slice(-3), ['reconnecting', 'connecting', 'connected']);
  assert.equal(s.m.adapter.stats().tcpMuxSocketsTotal, 2);
});

for (const mode of MODES) {
  void test(`burrow ${mode}: the server goes away → maxReconnectAttempts with backoff, then the tunnel closes`, async (t) => {
    const s = await setup(echo);
    let stopped = false;
    t.after(async () => {
      if (!stopped) await s.close();
    });
    const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, {
      mode,
      logLevel: 'none',
      reconnectDelay: 5,
      maxReconnectAttempts: 3,
    });
    t.after(() => tunnel.close());
    const seen = states(tunnel);
    const sock = await dial(tunnel.address.port);
    sock.on('error', () => {});
    sock.write('x');
    assert.equal((await readBytes(sock, 1)).toString(), 'x');
    stopped = true;
    await s.close();
    assert.deepEqual(await tunnel.closed, { reason: 'exhausted' });
    assert.equal(seen.filter((x) => x === 'reconnecting').length, 3, seen.join(','));
    assert.equal(tunnel.getConnectionState(), 'disconnected');
  });
}
