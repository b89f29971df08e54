/**
 * Conformance: the real, unmodified @limrun/api@0.39.8 startTcpTunnel against burrow's limrun
 * adapter mounted on a plain http server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { startTcpTunnel, type Tunnel, type TunnelConnectionState } from '@limrun/api/tunnel';
import { dial, echo, hashUntilEnd, mountAdapter, readBytes, startTarget, writePattern } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

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
    let downloadTarget: Socket | undefined;
    let n = 0;
    const s = await setup((sock) => {
      if (n++ === 0) uploaded = hashUntilEnd(sock);
      else {
        // the target ends only once the client has read everything: limrun's client destroys its
        // local socket 1 s after a close arrives, whatever that socket still buffers for a slow reader
        downloadTarget = sock;
        downloadSha = writePattern(sock, BIG, 2, false);
      }
    });
    t.after(() => s.close());
    const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { mode, logLevel: 'none' });
    t.after(() => tunnel.close());

    const up = await dial(tunnel.address.port);
    const sentSha = await writePattern(up, BIG, 1, false);
    await waitUntil(() => uploaded !== undefined);
    // limrun's client has no half-close: closing the local socket ends the session (1000 / 4-byte close),
    // and burrow ends the target gracefully after writing everything received.
    await waitUntil(() => s.m.adapter.stats().tcpBytesIn >= BIG);
    up.end();
    const got = await uploaded!;
    assert.equal(got.bytes, BIG);
    assert.equal(got.sha, sentSha);
    await waitUntil(() => up.destroyed || tunnel.getConnectionState() !== 'connected' || mode === 'multiplexed');
    up.destroy();
    if (mode === 'singleton') await waitUntil(() => s.m.adapter.stats().tcpSessions === 0);

    const down = await dial(tunnel.address.port);
    down.write('go'); // multiplexed mode dials the target on the first payload
    const received = readBytes(down, BIG);
    const bytes = await received;
    assert.equal(bytes.length, BIG);
    const { createHash } = await import('node:crypto');
    assert.equal(createHash('sha256').update(bytes).digest('hex'), await downloadSha!);
    downloadTarget?.end();
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
  await waitUntil(() => s.target.sockets.size === 1);
  const [targetSock] = [...s.target.sockets];
  const atTarget: Buffer[] = [];
  targetSock!.on('data', (c: Buffer) => atTarget.push(c));

  // Traffic both ways, then quiet (nothing in flight).
  sock.write('before-');
  targetSock!.write('hello-');
  assert.equal((await readBytes(sock, 6)).toString(), 'hello-');
  await waitUntil(() => Buffer.concat(atTarget).toString() === 'before-');

  // Kill the server side of the WebSocket.
  for (const raw of s.m.upgraded) raw.destroy();
  await waitUntil(() => s.m.adapter.stats().tcpDetachedSessions === 1);
  await waitUntil(() => seen.includes('reconnecting') || seen.includes('disconnected'));

  // While detached: the target speaks (buffered by burrow), the local app writes (paused by the client).
  const fromTarget = Buffer.alloc(300 * 1024, 7);
  targetSock!.write(fromTarget);
  sock.write('during-reconnect');

  const got = await readBytes(sock, fromTarget.length);
  assert.ok(got.equals(fromTarget), 'all bytes the target sent while detached arrive after the resume');
  await waitUntil(() => Buffer.concat(atTarget).toString() === 'before-during-reconnect');
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
  await waitUntil(() => tunnel.getConnectionState() === 'disconnected');
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

/** Binary payloads of the unmasked (server → client) WebSocket frames in `bytes` (after the 101 head). */
function serverBinaryPayloads(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let o = 0;
  while (o + 2 <= bytes.length) {
    const opcode = bytes[o]! & 0x0f;
    let len = bytes[o + 1]! & 0x7f;
    let p = o + 2;
    if (len === 126) {
      len = bytes.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      len = Number(bytes.readBigUInt64BE(p));
      p += 8;
    }
    if (opcode === 2) out.push(bytes.subarray(p, p + len));
    o = p + len;
  }
  assert.equal(o, bytes.length, 'whole frames');
  return out;
}

void test("limrun multiplexed against a server with flow control: nothing of burrow's on the wire, each way; concurrent transfers byte-exact", async (t) => {
  const s = await setup(echo);
  t.after(() => s.close());
  // Record what limrun's client asks and everything the server writes back, under the WebSocket.
  const requests: Record<string, string | string[] | undefined>[] = [];
  const written: Buffer[] = [];
  s.m.http.prependListener(
    'upgrade',
    (req: import('node:http').IncomingMessage, socket: import('node:stream').Duplex) => {
      requests.push(req.headers);
      const write = socket.write.bind(socket) as (chunk: Buffer | string, ...rest: unknown[]) => boolean;
      socket.write = ((chunk: Buffer | string, ...rest: unknown[]) => {
        written.push(Buffer.from(chunk));
        return write(chunk, ...rest);
      }) as typeof socket.write;
    },
  );
  const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { mode: 'multiplexed', logLevel: 'none' });
  t.after(() => tunnel.close());
  const socks = await Promise.all([0, 1, 2].map(() => dial(tunnel.address.port)));
  t.after(() => socks.forEach((x) => x.destroy()));
  const size = 2 * 1024 * 1024;
  const results = await Promise.all(
    socks.map(async (sock) => {
      const reply = readBytes(sock, size);
      const sent = await writePattern(sock, size, 4, false);
      const { createHash } = await import('node:crypto');
      return (
        createHash('sha256')
          .update(await reply)
          .digest('hex') === sent
      );
    }),
  );
  assert.deepEqual(results, [true, true, true]);
  assert.equal(s.m.adapter.stats().tcpMuxFlowControlled, 0, 'no flow control for limrun clients');

  assert.equal(requests.length, 1);
  assert.deepEqual(
    Object.keys(requests[0]!).filter((h) => h.startsWith('x-burrow')),
    [],
    'the real client offers nothing',
  );
  const all = Buffer.concat(written);
  const headEnd = all.indexOf('\r\n\r\n');
  const head = all.subarray(0, headEnd).toString('latin1');
  assert.match(head, /^HTTP\/1\.1 101 /);
  assert.doesNotMatch(head, /x-burrow/i, 'the 101 is what limrun expects, nothing added');
  const payloads = serverBinaryPayloads(all.subarray(headEnd + 4));
  assert.ok(payloads.length > 0);
  for (const p of payloads) {
    assert.ok(p.length >= 4, 'every message has the 4-byte id');
    assert.notEqual(p.readUInt32BE(0), 0, 'no control messages on id 0');
  }
  assert.deepEqual([...new Set(payloads.map((p) => p.readUInt32BE(0)))].sort(), [1, 2, 3], "only the client's ids");
});
