/** The limrun adapter at the wire: upgrade answers, session lifecycle, multiplexed edge cases, liveness. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { MemoryTunnelRegistry, type RegisteredTunnel } from '../../../src/server/registry.js';
import { createRegistryTcpResolver, dialTcp } from '../../../src/adapters/tcp-ws/index.js';
import { encodeMuxClose, encodeMuxData } from '../../../src/wire/tcp-ws/wire.js';
import { echo, mountAdapter, rawUpgrade, startTarget, type Mounted } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

const TOKEN = 't0ken';

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

async function withTarget(t: import('node:test').TestContext, onConnection: (s: Socket) => void = echo, extra = {}) {
  const target = await startTarget(onConnection);
  const m = await mountAdapter({
    targets: [{ name: 'dev', host: '127.0.0.1', port: target.port, token: TOKEN, path: '/device' }],
    ...extra,
  });
  t.after(async () => {
    await m.close();
    await target.close();
  });
  return { target, m };
}

function wsTo(
  m: Mounted,
  query: string,
  token = TOKEN,
  options: ConstructorParameters<typeof WebSocket>[2] = {},
): WebSocket {
  return new WebSocket(`ws://127.0.0.1:${m.port}/tcp/dev${query}`, {
    headers: { Authorization: `Bearer ${token}` },
    perMessageDeflate: false,
    ...options,
  });
}

void test('upgrade answers: 401 without a token, 403 wrong, 404 unknown, 400 bad mode/sessionId — full HTTP responses with JSON', async (t) => {
  const { m } = await withTarget(t);
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const r401 = await rawUpgrade(m.port, '/tcp/dev');
  assert.equal(statusOf(r401), 401);
  assert.match(r401, /Content-Type: application\/json/);
  assert.match(r401, /"code":"BURROW_ERR_UNAUTHORIZED"/);
  assert.equal(statusOf(await rawUpgrade(m.port, '/tcp/dev', { Authorization: 'Bearer nope' })), 403);
  assert.equal(statusOf(await rawUpgrade(m.port, '/tcp/other', auth)), 404);
  assert.equal(statusOf(await rawUpgrade(m.port, '/tcp/Bad%20Name', auth)), 404);
  assert.equal(statusOf(await rawUpgrade(m.port, '/tcp/dev?mode=weird', auth)), 400);
  assert.equal(statusOf(await rawUpgrade(m.port, '/tcp/dev?sessionId=a%20b', auth)), 400);
  assert.equal(statusOf(await rawUpgrade(m.port, '/device', auth)), 101, 'operator-mapped path');
  assert.equal(statusOf(await rawUpgrade(m.port, '/elsewhere', auth)), 0, 'other paths are not the adapter’s');
  assert.equal(m.adapter.stats().tcpRejectedUpgrades, 6);
});

void test('a plain GET on a TCP endpoint is 426; a target that is down is 502 (retryable)', async (t) => {
  const { m } = await withTarget(t);
  const res = await fetch(`http://127.0.0.1:${m.port}/tcp/dev`);
  assert.equal(res.status, 426);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'BURROW_ERR_UPGRADE_REQUIRED');

  const dead = await startTarget(echo);
  const port = dead.port;
  await dead.close();
  const m2 = await mountAdapter({ targets: [{ name: 'dev', host: '127.0.0.1', port }] });
  t.after(() => m2.close());
  assert.equal(statusOf(await rawUpgrade(m2.port, '/tcp/dev')), 502);
});

void test('singleton: a 1000 close ends the session (target gets FIN); its resume is 410', async (t) => {
  let ended = false;
  const { m } = await withTarget(t, (s) => {
    s.on('end', () => (ended = true));
    s.resume();
  });
  const ws = wsTo(m, '?sessionId=abc');
  await once(ws, 'open');
  ws.send('data');
  ws.close(1000);
  await waitUntil(() => ended);
  assert.equal(m.adapter.stats().tcpSessions, 0);
  assert.equal(statusOf(await rawUpgrade(m.port, '/tcp/dev?sessionId=abc', { Authorization: `Bearer ${TOKEN}` })), 410);
});

void test('singleton: the detached buffer cap pauses the target instead of dropping; the resume gets everything', async (t) => {
  const { m, target } = await withTarget(t, () => {}, { detachedBufferBytes: 64 * 1024 });
  const ws1 = wsTo(m, '?sessionId=s1');
  await once(ws1, 'open');
  await waitUntil(() => target.sockets.size === 1);
  const [tsock] = [...target.sockets];
  ws1.terminate();
  await waitUntil(() => m.adapter.stats().tcpDetachedSessions === 1);

  const payload = Buffer.alloc(32 * 1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
  tsock!.write(payload);
  // Past the cap the target is paused (not read, not dropped): the rest waits in the kernel and the target.
  await waitUntil(() => m.adapter.stats().tcpPausedSessions === 1);
  const readWhileDetached = m.adapter.stats().tcpBytesOut;
  assert.ok(
    readWhileDetached >= 64 * 1024 && readWhileDetached < 64 * 1024 + 1024 * 1024,
    `${readWhileDetached} bytes buffered`,
  );

  const ws2 = wsTo(m, '?sessionId=s1');
  const got: Buffer[] = [];
  let n = 0;
  ws2.on('message', (d: Buffer) => {
    got.push(d);
    n += d.length;
  });
  await waitUntil(() => n >= payload.length);
  assert.ok(Buffer.concat(got).equals(payload));
  assert.equal(target.accepted(), 1);
  ws2.close(1000);
});

void test('singleton: the detached grace expires → target closed, resume 410; target close while attached → close + 410', async (t) => {
  let closedTargets = 0;
  const { m } = await withTarget(
    t,
    (s) => {
      s.on('close', () => closedTargets++);
      s.resume();
    },
    { detachedGraceMs: 50 },
  );
  const ws = wsTo(m, '?sessionId=g1');
  await once(ws, 'open');
  ws.terminate();
  await waitUntil(() => closedTargets === 1);
  assert.equal(statusOf(await rawUpgrade(m.port, '/tcp/dev?sessionId=g1', { Authorization: `Bearer ${TOKEN}` })), 410);

  const { m: m2 } = await withTarget(t, (s) => s.end('bye'));
  const ws2 = wsTo(m2, '?sessionId=g2');
  const msgs: string[] = [];
  ws2.on('message', (d: Buffer) => msgs.push(d.toString()));
  const [code] = (await once(ws2, 'close')) as [number];
  assert.equal(code, 1000);
  assert.deepEqual(msgs, ['bye']);
  assert.equal(statusOf(await rawUpgrade(m2.port, '/tcp/dev?sessionId=g2', { Authorization: `Bearer ${TOKEN}` })), 410);
});

void test('multiplexed: lazy dial with queueing, short frames and unknown closes ignored, all closed with the WebSocket', async (t) => {
  const { m, target } = await withTarget(t);
  const ws = wsTo(m, '?mode=multiplexed');
  await once(ws, 'open');
  const byId = new Map<number, Buffer[]>();
  const closed: number[] = [];
  ws.on('message', (d: Buffer) => {
    const id = d.readUInt32BE(0);
    if (d.length === 4) closed.push(id);
    else byId.set(id, [...(byId.get(id) ?? []), d.subarray(4)]);
  });
  ws.send(Buffer.from([1, 2])); // short: ignored
  ws.send(encodeMuxClose(99)); // unknown id: ignored
  for (let i = 0; i < 5; i++) ws.send(encodeMuxData(7, Buffer.from(`part${i}-`))); // queued while dialling
  ws.send(encodeMuxData(8, Buffer.from('other')));
  const text = (id: number): string => Buffer.concat(byId.get(id) ?? []).toString();
  await waitUntil(() => text(7) === 'part0-part1-part2-part3-part4-' && text(8) === 'other');
  assert.equal(target.accepted(), 2);
  ws.send(encodeMuxClose(8));
  await waitUntil(() => target.sockets.size === 1);
  ws.send(encodeMuxData(8, Buffer.from('late'))); // a closed id is not re-opened
  ws.send(encodeMuxData(7, Buffer.from('still')));
  await waitUntil(() => text(7).endsWith('still'));
  assert.equal(target.accepted(), 2);
  ws.terminate();
  await waitUntil(() => target.sockets.size === 0);
  assert.deepEqual(closed, []);
});

void test('liveness: a WebSocket that stops answering pings is terminated; a singleton session then waits detached', async (t) => {
  const { m } = await withTarget(t, echo, { pingIntervalMs: 30, pongTimeoutMs: 100 });
  const ws = wsTo(m, '?sessionId=p1', TOKEN, { autoPong: false });
  await once(ws, 'open');
  const [code] = (await once(ws, 'close')) as [number];
  assert.equal(code, 1006);
  await waitUntil(() => m.adapter.stats().tcpDetachedSessions === 1);
  assert.equal(m.adapter.stats().tcpSessions, 1);
});

void test('registry resolver: a tcp tunnel is reachable with its token; http tunnels and missing tokens are not', async (t) => {
  const target = await startTarget(echo);
  t.after(() => target.close());
  const registry = new MemoryTunnelRegistry({ maxTunnels: 10 });
  const fake = (name: string, kind: 'tcp' | 'http'): RegisteredTunnel => ({
    id: name,
    name,
    protocol: 'burrow',
    kind,
    url: `tcp://x/${name}`,
    createdAt: Date.now(),
    openStream: (info) => {
      assert.equal(info.kind, 'tcp');
      return dialTcp('127.0.0.1', target.port);
    },
    stats: () => ({ openStreams: 0, totalStreams: 0, bytesIn: 0, bytesOut: 0, requests: 0, connectedSockets: 0 }),
    close: () => {},
  });
  registry.add(() => fake('tcpone', 'tcp'), { name: 'tcpone' });
  registry.add(() => fake('webone', 'http'), { name: 'webone' });
  registry.add(() => fake('locked', 'tcp'), { name: 'locked' });
  const m = await mountAdapter({
    resolvers: [
      createRegistryTcpResolver({ registry, tokenFor: (tun) => (tun.name === 'tcpone' ? TOKEN : undefined) }),
    ],
  });
  t.after(() => m.close());
  const auth = { Authorization: `Bearer ${TOKEN}` };
  assert.equal(statusOf(await rawUpgrade(m.port, '/tcp/webone', auth)), 404);
  assert.equal(statusOf(await rawUpgrade(m.port, '/tcp/locked', auth)), 403);
  assert.equal(statusOf(await rawUpgrade(m.port, '/tcp/tcpone', { Authorization: 'Bearer x' })), 403);
  const ws = new WebSocket(`ws://127.0.0.1:${m.port}/tcp/tcpone?sessionId=r1`, { headers: auth });
  await once(ws, 'open');
  ws.send('via registry');
  const [msg] = (await once(ws, 'message')) as [Buffer];
  assert.equal(msg.toString(), 'via registry');
  ws.close(1000);
});

void test('multiplexed: data then close before the dial completes → the target still gets the data, then FIN', async (t) => {
  let received = '';
  let ended = false;
  const { m } = await withTarget(t, (s) => {
    s.on('data', (c: Buffer) => (received += c.toString()));
    s.on('end', () => (ended = true));
  });
  const ws = wsTo(m, '?mode=multiplexed');
  await once(ws, 'open');
  ws.send(encodeMuxData(5, Buffer.from('GET / HTTP/1.0\r\n\r\n')));
  ws.send(encodeMuxClose(5));
  await waitUntil(() => ended);
  assert.equal(received, 'GET / HTTP/1.0\r\n\r\n');
  ws.close();
});

void test('limits: maxSessions answers 503 (retryable); muxMaxConnections closes the extra id at once', async (t) => {
  const { m, target } = await withTarget(t, echo, { maxSessions: 1, muxMaxConnections: 2 });
  const ws1 = wsTo(m, '?sessionId=one');
  await once(ws1, 'open');
  assert.equal(statusOf(await rawUpgrade(m.port, '/tcp/dev?sessionId=two', { Authorization: `Bearer ${TOKEN}` })), 503);
  ws1.close(1000);

  const ws = wsTo(m, '?mode=multiplexed');
  await once(ws, 'open');
  const closed: number[] = [];
  ws.on('message', (d: Buffer) => {
    if (d.length === 4) closed.push(d.readUInt32BE(0));
  });
  for (const id of [1, 2, 3]) ws.send(encodeMuxData(id, Buffer.from('x')));
  await waitUntil(() => closed.includes(3));
  await waitUntil(() => target.accepted() === 3); // 1 singleton + 2 multiplexed
  assert.deepEqual(closed, [3]);
  ws.close();
});
