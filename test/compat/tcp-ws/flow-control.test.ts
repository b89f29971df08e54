/**
 * Multiplexed per-connection flow control (burrow extension, docs/tcp.md): burrow's client and server
 * agree on it with X-Burrow-Tcp-Window, and one stalled connection no longer stalls the WebSocket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { startTcpTunnel } from '../../../src/client/tcp-ws/tcp-tunnel.js';
import { TCP_MUX_WINDOW_BYTES } from '../../../src/wire/tcp-ws/limits.js';
import {
  decodeMuxMessage,
  encodeMuxCredit,
  encodeMuxData,
  encodeMuxOpen,
  toBuffer,
} from '../../../src/wire/tcp-ws/wire.js';
import { dial, echo, hashUntilEnd, mountAdapter, rawUpgradeHead, startTarget, writePattern } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

const TOKEN = 'flow-token';
const MiB = 1024 * 1024;

/** A writer that records how far it got: bytes accepted by write() and whether it waits for 'drain'. */
function countedWriter(sock: Socket, total: number, seed: number) {
  const block = Buffer.alloc(64 * 1024);
  const h = createHash('sha256');
  const st = { written: 0, blocked: false };
  const sha = (async () => {
    let i = 0;
    while (st.written < total) {
      const n = Math.min(block.length, total - st.written);
      const chunk = Buffer.alloc(n, (seed * 31 + i++) & 0xff);
      h.update(chunk);
      st.written += n;
      if (!sock.write(chunk)) {
        st.blocked = true;
        await once(sock, 'drain');
        st.blocked = false;
      }
    }
    sock.end();
    return h.digest('hex');
  })();
  return { st, sha };
}

/** Read exactly n bytes from a socket and hash them (the socket stays open). */
function hashBytes(sock: Socket, n: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let got = 0;
    const onData = (c: Buffer): void => {
      h.update(c);
      got += c.length;
      if (got >= n) {
        sock.off('data', onData);
        sock.off('close', onClose);
        if (got > n) reject(new Error(`read ${got} bytes, expected ${n}`));
        else resolve(h.digest('hex'));
      }
    };
    const onClose = (): void => reject(new Error(`closed after ${got} of ${n} bytes`));
    sock.on('data', onData);
    sock.on('close', onClose);
  });
}

async function setup(t: import('node:test').TestContext, onConnection: (s: Socket, n: number) => void, extra = {}) {
  let n = 0;
  const target = await startTarget((s) => onConnection(s, n++));
  const m = await mountAdapter({
    targets: [{ name: 'dev', host: '127.0.0.1', port: target.port, token: TOKEN }],
    ...extra,
  });
  t.after(async () => {
    await m.close();
    await target.close();
  });
  return { target, m, url: `ws://127.0.0.1:${m.port}/tcp/dev` };
}

void test('flow control: a local reader that stops reading does not stall another connection; it resumes byte-exact; memory stays bounded', async (t) => {
  const SLOW = 48 * MiB;
  const FAST = 8 * MiB;
  let slowWriter: ReturnType<typeof countedWriter> | undefined;
  const s = await setup(t, (sock, n) => {
    if (n === 0) slowWriter = countedWriter(sock, SLOW, 7);
    else echo(sock);
  });
  const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { mode: 'multiplexed', logLevel: 'none' });
  t.after(() => tunnel.close());
  assert.equal(tunnel.stats().flowControl, true, 'the client sees flow control on');
  assert.equal(s.m.adapter.stats().tcpMuxFlowControlled, 1, 'the server agreed');

  const slow = await dial(tunnel.address.port);
  t.after(() => slow.destroy());
  slow.pause(); // the local application stops reading

  // The server runs out of this connection's credit and pauses its target; the target then blocks.
  await waitUntil(() => s.m.adapter.stats().tcpMuxStalledConnections === 1 && slowWriter?.st.blocked === true);
  const writtenAtStall = slowWriter!.st.written;

  // Another connection on the same WebSocket moves several MiB both ways meanwhile.
  const fast = await dial(tunnel.address.port);
  t.after(() => fast.destroy());
  const echoed = hashBytes(fast, FAST);
  const sent = await writePattern(fast, FAST, 3, false);
  assert.equal(await echoed, sent, 'the other connection echoed byte-exact while one was stalled');
  assert.equal(s.m.adapter.stats().tcpMuxConnections, 2, 'both on one WebSocket');
  assert.equal(s.m.adapter.stats().tcpMuxSockets, 1);

  // Still stalled, with bounded memory: the client holds at most one window for the stalled reader,
  // the server at most one read (its target is paused), and the target could not push much more.
  assert.equal(s.m.adapter.stats().tcpMuxStalledConnections, 1);
  assert.equal(slowWriter!.st.blocked, true);
  const c = tunnel.stats();
  assert.ok(c.bufferedBytes <= TCP_MUX_WINDOW_BYTES, `client buffers ${c.bufferedBytes} bytes for the stalled reader`);
  // What the target could write is that window plus the kernel's socket buffers on both paths.
  assert.ok(
    slowWriter!.st.written < SLOW / 2,
    `the stalled connection is held back (${slowWriter!.st.written} of ${SLOW} bytes written by its target, ${writtenAtStall} at the stall)`,
  );

  // The reader comes back: everything arrives, in order, once.
  const got = hashUntilEnd(slow);
  slow.resume(); // (a 'data' listener does not resume an explicitly paused stream)
  assert.deepEqual(await got, { bytes: SLOW, sha: await slowWriter!.sha });
  await waitUntil(() => s.m.adapter.stats().tcpMuxStalledConnections === 0);
});

void test('flow control: a target that stops reading does not stall uploads on another connection; server memory bounded', async (t) => {
  const STUCK = 24 * MiB;
  const FAST = 8 * MiB;
  let stuckTarget: Socket | undefined;
  let fastHash: Promise<{ bytes: number; sha: string }> | undefined;
  const s = await setup(t, (sock, n) => {
    if (n === 0) {
      stuckTarget = sock;
      sock.pause(); // this target does not read
    } else fastHash = hashUntilEnd(sock);
  });
  const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { mode: 'multiplexed', logLevel: 'none' });
  t.after(() => tunnel.close());

  const stuck = await dial(tunnel.address.port);
  t.after(() => stuck.destroy());
  await waitUntil(() => stuckTarget !== undefined);
  const stuckSha = writePattern(stuck, STUCK, 5, true);
  // The client runs out of credit for it and pauses the local socket.
  await waitUntil(() => tunnel.stats().stalledConnections === 1);
  const server = s.m.adapter.stats();
  assert.ok(
    server.tcpMuxBufferedBytes <= TCP_MUX_WINDOW_BYTES,
    `the server holds ${server.tcpMuxBufferedBytes} bytes for the stuck target (window ${TCP_MUX_WINDOW_BYTES})`,
  );

  const fast = await dial(tunnel.address.port);
  t.after(() => fast.destroy());
  const fastSha = await writePattern(fast, FAST, 6, true);
  await waitUntil(() => fastHash !== undefined);
  assert.deepEqual(await fastHash, { bytes: FAST, sha: fastSha }, 'the other upload completed');
  assert.equal(tunnel.stats().stalledConnections, 1, 'the stuck one is still waiting');
  assert.ok(s.m.adapter.stats().tcpMuxBufferedBytes <= TCP_MUX_WINDOW_BYTES);

  const got = hashUntilEnd(stuckTarget!);
  stuckTarget!.resume();
  assert.deepEqual(await got, { bytes: STUCK, sha: await stuckSha });
});

void test('flow control off (flowControl: false): the previous per-WebSocket behaviour, still byte-exact', async (t) => {
  const s = await setup(t, (sock) => echo(sock));
  const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, {
    mode: 'multiplexed',
    logLevel: 'none',
    flowControl: false,
  });
  t.after(() => tunnel.close());
  assert.equal(tunnel.stats().flowControl, false);
  assert.equal(s.m.adapter.stats().tcpMuxFlowControlled, 0);
  const socks = await Promise.all([0, 1, 2].map(() => dial(tunnel.address.port)));
  t.after(() => socks.forEach((x) => x.destroy()));
  await Promise.all(
    socks.map(async (sock, i) => {
      const echoed = hashBytes(sock, 2 * MiB);
      const sent = await writePattern(sock, 2 * MiB, 10 + i, false);
      assert.equal(await echoed, sent);
    }),
  );
});

void test('flow control with a burrow server that does not offer it (muxWindowBytes: 0): per-WebSocket, still works', async (t) => {
  const s = await setup(t, (sock) => echo(sock), { muxWindowBytes: 0 });
  const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { mode: 'multiplexed', logLevel: 'none' });
  t.after(() => tunnel.close());
  assert.equal(tunnel.stats().flowControl, false);
  const sock = await dial(tunnel.address.port);
  t.after(() => sock.destroy());
  const echoed = hashBytes(sock, 4 * MiB);
  assert.equal(await writePattern(sock, 4 * MiB, 4, false), await echoed);
});

void test('negotiation at the wire: the 101 carries X-Burrow-Tcp-Window only for a valid multiplexed offer with X-Burrow-Tcp', async (t) => {
  const s = await setup(t, echo);
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const both = { ...auth, 'X-Burrow-Tcp': '1', 'X-Burrow-Tcp-Window': '65536' };
  const mux = '/tcp/dev?mode=multiplexed';
  const accepted = await rawUpgradeHead(s.m.port, mux, both);
  assert.match(accepted, /^HTTP\/1\.1 101/);
  assert.match(accepted, new RegExp(`\\r\\nX-Burrow-Tcp-Window: ${TCP_MUX_WINDOW_BYTES}\\r\\n`, 'i'));
  assert.match(accepted, /\r\nX-Burrow-Tcp: 1\r\n/i);

  const noWindow = (r: string): void => {
    assert.match(r, /^HTTP\/1\.1 101/);
    assert.doesNotMatch(r, /X-Burrow-Tcp-Window/i);
  };
  noWindow(await rawUpgradeHead(s.m.port, mux, { ...auth, 'X-Burrow-Tcp-Window': '65536' })); // no X-Burrow-Tcp
  noWindow(await rawUpgradeHead(s.m.port, '/tcp/dev', both)); // singleton mode
  for (const bad of ['100', 'abc', '-65536', '65536.5', '99999999999'])
    noWindow(await rawUpgradeHead(s.m.port, mux, { ...both, 'X-Burrow-Tcp-Window': bad }));
  // limrun's client sends neither header: the answer has no X-Burrow header at all.
  const limrun = await rawUpgradeHead(s.m.port, mux, auth);
  assert.match(limrun, /^HTTP\/1\.1 101/);
  assert.doesNotMatch(limrun, /X-Burrow/i);

  const off = await setup(t, echo, { burrowExtensions: false });
  const r = await rawUpgradeHead(off.m.port, mux, both);
  assert.doesNotMatch(r, /X-Burrow/i, 'burrowExtensions: false answers exactly like limrun');
  const noFlow = await setup(t, echo, { muxWindowBytes: 0 });
  const r2 = await rawUpgradeHead(noFlow.m.port, mux, both);
  assert.match(r2, /X-Burrow-Tcp: 1/i);
  assert.doesNotMatch(r2, /X-Burrow-Tcp-Window/i);
});

/** A hand-written flow-control client on a raw WebSocket (to check the server against the spec). */
async function rawFlowClient(port: number, window: number) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/tcp/dev?mode=multiplexed`, {
    headers: { Authorization: `Bearer ${TOKEN}`, 'X-Burrow-Tcp': '1', 'X-Burrow-Tcp-Window': String(window) },
    perMessageDeflate: false,
  });
  let serverWindow: string | undefined;
  ws.on('upgrade', (res) => (serverWindow = res.headers['x-burrow-tcp-window'] as string | undefined));
  const received = new Map<number, number>();
  const closed = new Set<number>();
  const violations: string[] = [];
  const granted = new Map<number, number>();
  ws.on('message', (data: Buffer) => {
    const msg = decodeMuxMessage(toBuffer(data), true, true);
    if (msg.type === 'data') {
      const got = (received.get(msg.id) ?? 0) + msg.payload.length;
      received.set(msg.id, got);
      if (got > window + (granted.get(msg.id) ?? 0)) violations.push(`id ${msg.id}: ${got} bytes beyond credit`);
    } else if (msg.type === 'close') closed.add(msg.id);
  });
  await once(ws, 'open');
  return {
    ws,
    serverWindow: () => serverWindow,
    received,
    closed,
    violations,
    grant(id: number, n: number) {
      granted.set(id, (granted.get(id) ?? 0) + n);
      ws.send(encodeMuxCredit(id, n));
    },
  };
}

void test('the server sends no more than the client credited, per connection', async (t) => {
  const WINDOW = 16 * 1024;
  const s = await setup(t, (sock) => void writePattern(sock, 4 * MiB, 8, true).catch(() => {}));
  const c = await rawFlowClient(s.m.port, WINDOW);
  t.after(() => c.ws.terminate());
  assert.equal(c.serverWindow(), String(TCP_MUX_WINDOW_BYTES));
  c.ws.send(encodeMuxOpen(1));
  await waitUntil(() => c.received.get(1) === WINDOW && s.m.adapter.stats().tcpMuxStalledConnections === 1);
  c.grant(1, WINDOW);
  await waitUntil(() => c.received.get(1) === 2 * WINDOW && s.m.adapter.stats().tcpMuxStalledConnections === 1);
  c.grant(1, 3 * WINDOW);
  await waitUntil(() => c.received.get(1) === 5 * WINDOW && s.m.adapter.stats().tcpMuxStalledConnections === 1);
  assert.deepEqual(c.violations, []);
});

void test('the server closes only the id of a client that sends past its window', async (t) => {
  const s = await setup(t, echo, { muxWindowBytes: 16 * 1024 });
  const c = await rawFlowClient(s.m.port, 64 * 1024);
  t.after(() => c.ws.terminate());
  assert.equal(c.serverWindow(), String(16 * 1024));
  c.ws.send(encodeMuxData(1, Buffer.alloc(16 * 1024 + 1, 1)));
  c.ws.send(encodeMuxData(2, Buffer.from('still fine')));
  await waitUntil(() => c.closed.has(1) && c.received.get(2) === 10);
  assert.equal(c.closed.has(2), false);
  assert.equal(c.ws.readyState, c.ws.OPEN, 'the WebSocket stays up');
});

void test('startTcpTunnel rejects a window outside 16 KiB … 16 MiB', async () => {
  await assert.rejects(
    startTcpTunnel('ws://127.0.0.1:1/tcp/x', TOKEN, '127.0.0.1', 0, { mode: 'multiplexed', muxWindowBytes: 1000 }),
    RangeError,
  );
});
