/**
 * Conformance: the real, unmodified @limrun/api@0.39.8 startTcpTunnel against burrow's limrun
 * adapter mounted on a plain http server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { startTcpTunnel, type Tunnel, type TunnelConnectionState } from '@limrun/api/tunnel';
import { dial, echo, hashUntilEnd, mountAdapter, readBytes, startTarget, until, writePattern } from './helpers.js';

const TOKEN = 'secret-token';
const MODES = ['singleton', 'multiplexed'] as const;
const BIG = 64 * 1024 * 1024;

async function setup(onConnection: (s: Socket) => void, extra: Parameters<typeof mountAdapter>[0] = {}) {
  const target = await startTarget(onConnection);
  const m = await mountAdapter({
    targets: [{ name: 'dev', host: '127.0.0.1', port: target.port, token: TOKEN }],
    ...extra,
  });
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

function states(t: Tunnel): TunnelConnectionState[] {
  const seen: TunnelConnectionState[] = [];
  t.onConnectionStateChange((s) => seen.push(s));
  return seen;
}

for (const mode of MODES) {
  void test(`limrun ${mode}: echo`, async (t) => {
    const s = await setup(echo);
    t.after(() => s.close());
    const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { mode, logLevel: 'none' });
    t.after(() => tunnel.close());
    const sock = await dial(tunnel.address.port);
    t.after(() => sock.destroy());
    sock.write('ping over limrun');
    assert.equal((await readBytes(sock, 16)).toString(), 'ping over limrun');
    assert.equal(tunnel.getConnectionState(), 'connected');
  });

  void test(`limrun ${mode}: 64 MiB byte-exact each way`, async (t) => {
    // Upload: the target hashes what it receives; download: the target sends a pattern then ends.
    let uploaded: Promise<{ bytes: number; sha: string }> | undefined;
    let downloadSha: Promise<string> | undefined;
    let n = 0;
    const s = await setup((sock) => {
      if (n++ === 0) uploaded = hashUntilEnd(sock);
      else downloadSha = writePattern(sock, BIG, 2);
    });
    t.after(() => s.close());
    const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { mode, logLevel: 'none' });
    t.after(() => tunnel.close());

    const up = await dial(tunnel.address.port);
    const sentSha = await writePattern(up, BIG, 1, false);
    await until(() => uploaded !== undefined);
    // limrun's client has no half-close: closing the local socket ends the session (1000 / 4-byte close),
    // and burrow ends the target gracefully after writing everything received.
    await until(() => s.m.adapter.stats().tcpBytesIn >= BIG);
    up.end();
    const got = await uploaded!;
    assert.equal(got.bytes, BIG);
    assert.equal(got.sha, sentSha);
    await until(() => up.destroyed || tunnel.getConnectionState() !== 'connected' || mode === 'multiplexed');
    up.destroy();
    if (mode === 'singleton') await until(() => s.m.adapter.stats().tcpSessions === 0);

    const down = await dial(tunnel.address.port);
    down.write('go'); // multiplexed mode dials the target on the first payload
    const received = readBytes(down, BIG);
    const bytes = await received;
    assert.equal(bytes.length, BIG);
    const { createHash } = await import('node:crypto');
    assert.equal(createHash('sha256').update(bytes).digest('hex'), await downloadSha!);
    down.destroy();
  });
}

void test('limrun multiplexed: several concurrent connections stay separate', async (t) => {
  const s = await setup(echo);
  t.after(() => s.close());
  const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { mode: 'multiplexed', logLevel: 'none' });
  t.after(() => tunnel.close());
  const N = 20;
  const socks = await Promise.all(Array.from({ length: N }, () => dial(tunnel.address.port)));
  t.after(() => socks.forEach((x) => x.destroy()));
  const size = 256 * 1024;
  const results = await Promise.all(
    socks.map(async (sock, i) => {
      const payload = Buffer.alloc(size, i + 1);
      const reply = readBytes(sock, size);
      sock.write(payload);
      return (await reply).equals(payload);
    }),
  );
  assert.deepEqual(results, Array<boolean>(N).fill(true));
  assert.equal(s.target.accepted(), N);
  assert.equal(s.m.adapter.stats().tcpMuxSockets, 1, 'all on one WebSocket');
});

void test('limrun singleton: WebSocket killed mid-stream → same target connection resumed, nothing lost', async (t) => {
  const s = await setup(() => {});
  t.after(() => s.close());
  const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { logLevel: 'none', reconnectDelay: 20 });
  t.after(() => tunnel.close());
  const seen = states(tunnel);
  const sock = await dial(tunnel.address.port);
  t.after(() => sock.destroy());
  await until(() => s.target.sockets.size === 1);
  const [targetSock] = [...s.target.sockets];
  const atTarget: Buffer[] = [];
  targetSock!.on('data', (c: Buffer) => atTarget.push(c));

  // Traffic both ways, then quiet (nothing in flight).
  sock.write('before-');
  targetSock!.write('hello-');
  assert.equal((await readBytes(sock, 6)).toString(), 'hello-');
  await until(() => Buffer.concat(atTarget).toString() === 'before-');

  // Kill the server side of the WebSocket.
  for (const raw of s.m.upgraded) raw.destroy();
  await until(() => s.m.adapter.stats().tcpDetachedSessions === 1);
  await until(() => seen.includes('reconnecting') || seen.includes('disconnected'));

  // While detached: the target speaks (buffered by burrow), the local app writes (paused by the client).
  const fromTarget = Buffer.alloc(300 * 1024, 7);
  targetSock!.write(fromTarget);
  sock.write('during-reconnect');

  const got = await readBytes(sock, fromTarget.length);
  assert.ok(got.equals(fromTarget), 'all bytes the target sent while detached arrive after the resume');
  await until(() => Buffer.concat(atTarget).toString() === 'before-during-reconnect');
  assert.equal(s.target.accepted(), 1, 'the same target connection was resumed');
  assert.equal(tunnel.getConnectionState(), 'connected');
  assert.equal(s.m.adapter.stats().tcpSessionsTotal, 1);
});

for (const mode of MODES) {
  void test(`limrun ${mode}: bad token → 403, the client gives up at once`, async (t) => {
    const s = await setup(echo);
    t.after(() => s.close());
    if (mode === 'multiplexed') {
      await assert.rejects(startTcpTunnel(s.url, 'wrong', '127.0.0.1', 0, { mode, logLevel: 'none' }), /403/);
      assert.equal(s.m.adapter.stats().tcpRejectedUpgrades, 1, 'one attempt, no retries');
      return;
    }
    const tunnel = await startTcpTunnel(s.url, 'wrong', '127.0.0.1', 0, { mode, logLevel: 'none', reconnectDelay: 10 });
    t.after(() => tunnel.close());
    const sock = await dial(tunnel.address.port);
    await once(sock, 'close');
    assert.equal(tunnel.getConnectionState(), 'disconnected');
    assert.equal(s.m.adapter.stats().tcpRejectedUpgrades, 1, 'one attempt, no retries');
    assert.equal(s.target.accepted(), 0);
  });
}

void test('limrun singleton: target closes → the client is told (local socket closed, resume answered 410)', async (t) => {
  const s = await setup((sock) => sock.end('bye'));
  t.after(() => s.close());
  const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { logLevel: 'none', reconnectDelay: 10 });
  t.after(() => tunnel.close());
  const sock = await dial(tunnel.address.port);
  sock.on('data', () => {});
  await once(sock, 'close');
  await until(() => tunnel.getConnectionState() === 'disconnected');
  assert.equal(s.m.adapter.stats().tcpSessions, 0);
  assert.ok(s.m.adapter.stats().tcpRejectedUpgrades >= 1, 'the resume of the ended session was refused');
});

void test('limrun multiplexed: target closes → 4-byte close reaches the client', async (t) => {
  const s = await setup((sock) => sock.end('bye'));
  t.after(() => s.close());
  const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { mode: 'multiplexed', logLevel: 'none' });
  t.after(() => tunnel.close());
  const sock = await dial(tunnel.address.port);
  let got = '';
  sock.on('data', (c: Buffer) => (got += c.toString()));
  sock.write('x'); // lazy dial on first payload
  await once(sock, 'close');
  assert.equal(got, 'bye');
  assert.equal(tunnel.getConnectionState(), 'connected', 'the WebSocket stays up for other connections');
});
