/**
 * The tcp-ws data path reads binary WebSocket messages without ws's Receiver (src/core/ws-link.ts
 * takeOverBinaryMessages): payload bytes reach the target as views of the socket's reads, unmasked
 * in place, with each message's boundary kept (multiplexed mode's `[u32 id][payload]`, singleton
 * mode's empty-message FIN). These tests hold the wire to byte-exactness from real ws clients
 * (random masks) and hand-made frames split at every byte, and keep backpressure, 1009, 1002, text
 * and ping behaviour as they were.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import WebSocket, * as wsModule from 'ws';
import { encodeMuxClose, encodeMuxData } from '../../../src/wire/tcp-ws/wire.js';
import type { TcpTarget } from '../../../src/adapters/tcp-ws/index.js';
import { startTcpTunnel } from '../../../src/client/tcp-ws/tcp-tunnel.js';
import { dial, mountAdapter, readBytes, startTarget, type Mounted, type TargetServer } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

const TOKEN = 'zc-token';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Counts the binary 'message' events of every ws Receiver in the process while installed. */
function spyOnReceivers(): { binaryMessages: () => number; restore: () => void } {
  const proto = (wsModule as unknown as { Receiver: { prototype: { emit: (...a: unknown[]) => boolean } } }).Receiver
    .prototype;
  const original = proto.emit;
  let binary = 0;
  proto.emit = function (this: unknown, ...args: unknown[]): boolean {
    if (args[0] === 'message' && args[2] === true) binary++;
    return original.apply(this, args);
  };
  return { binaryMessages: () => binary, restore: () => void (proto.emit = original) };
}

/** A target that keeps every chunk written to it (the very Buffer objects), optionally not reading yet. */
function memoryTarget(): { target: TcpTarget; writes: Buffer[]; opened: Duplex[] } {
  const writes: Buffer[] = [];
  const opened: Duplex[] = [];
  const target: TcpTarget = {
    name: 'mem',
    authorize: (token) => token === TOKEN,
    open: () => {
      const d = new Duplex({
        write(chunk: Buffer, _enc, cb) {
          writes.push(chunk);
          cb();
        },
        read() {},
      });
      opened.push(d);
      return Promise.resolve(d);
    },
  };
  return { target, writes, opened };
}

async function withTarget(
  t: { after(fn: () => unknown): void },
  onConnection: (s: Socket) => void,
  adapterOptions: { maxMessageBytes?: number } = {},
): Promise<{ m: Mounted; target: TargetServer }> {
  const target = await startTarget(onConnection);
  const m = await mountAdapter({
    targets: [{ name: 'dev', host: '127.0.0.1', port: target.port, token: TOKEN }],
    ...adapterOptions,
  });
  t.after(async () => {
    await m.close();
    await target.close();
  });
  return { m, target };
}

function wsTo(m: Mounted, path: string, query = ''): WebSocket {
  return new WebSocket(`ws://127.0.0.1:${m.port}${path}${query}`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
    perMessageDeflate: false,
  });
}

/** The server side of the only WebSocket the adapter has accepted. */
function serverSocket(m: Mounted): Socket {
  assert.equal(m.upgraded.size, 1);
  return [...m.upgraded][0] as Socket;
}

/** A masked client frame (FIN, opcode), any payload length, with the given mask key. */
function clientFrame(opcode: number, payload: Buffer, mask: Buffer, fin = true): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.alloc(2) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = (fin ? 0x80 : 0) | opcode;
  if (n < 126) head[1] = 0x80 | n;
  else if (n < 65536) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(n, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeUInt32BE(0, 2);
    head.writeUInt32BE(n, 6);
  }
  const body = Buffer.from(payload);
  for (let i = 0; i < n; i++) body[i]! ^= mask[i & 3]!;
  return Buffer.concat([head, mask, body]);
}

/** A raw client: upgrade by hand, then write frames exactly as given. */
async function rawClient(m: Mounted, path: string): Promise<{ sock: Socket; received: () => Buffer }> {
  const sock = connect({ port: m.port, host: '127.0.0.1' });
  sock.setNoDelay(true);
  await once(sock, 'connect');
  sock.write(
    [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${m.port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version: 13',
      `Authorization: Bearer ${TOKEN}`,
      '',
      '',
    ].join('\r\n'),
  );
  let got = Buffer.alloc(0);
  sock.on('data', (c: Buffer) => (got = Buffer.concat([got, c])));
  await waitUntil(() => got.includes('\r\n\r\n'));
  assert.ok(got.toString('latin1').startsWith('HTTP/1.1 101'), got.toString('latin1'));
  const headEnd = got.indexOf('\r\n\r\n') + 4;
  return { sock, received: () => got.subarray(headEnd) };
}

/** Write `parts` so that the server reads each in a read of its own (waits for its socket to take each). */
async function writeInSeparateReads(sock: Socket, server: Socket, parts: Buffer[]): Promise<void> {
  for (const p of parts) {
    if (p.length === 0) continue;
    const want = server.bytesRead + p.length;
    sock.write(p);
    await waitUntil(() => server.bytesRead >= want, { intervalMs: 0 });
  }
}

void test('regression (tcp-ws copy): ws Receiver never sees a binary data frame; target writes are views of the socket reads', async (t) => {
  const spy = spyOnReceivers();
  t.after(() => spy.restore());
  const mem = memoryTarget();
  const m = await mountAdapter({ resolvers: [{ resolve: (name) => (name === 'mem' ? mem.target : undefined) }] });
  t.after(() => m.close());
  for (const mode of ['singleton', 'multiplexed'] as const) {
    mem.writes.length = 0;
    const ws = wsTo(m, '/tcp/mem', mode === 'multiplexed' ? '?mode=multiplexed' : '');
    await once(ws, 'open');
    await waitUntil(() => m.upgraded.size === 1);
    const server = serverSocket(m);
    const reads = new Set<ArrayBufferLike>();
    server.prependListener('data', (c: Buffer) => reads.add(c.buffer));
    const body = randomBytes(1024 * 1024); // far more than one socket read
    const small = randomBytes(100);
    ws.send(mode === 'multiplexed' ? encodeMuxData(1, body) : body);
    ws.send(mode === 'multiplexed' ? encodeMuxData(1, small) : small);
    const want = Buffer.concat([body, small]);
    await waitUntil(() => mem.writes.reduce((n, w) => n + w.length, 0) >= want.length);
    assert.equal(sha(Buffer.concat(mem.writes)), sha(want), `${mode}: bytes at the target`);
    assert.ok(mem.writes.length > 2, `${mode}: the 1 MiB message reached the target in pieces, not joined`);
    for (const w of mem.writes)
      assert.ok(reads.has(w.buffer), `${mode}: every target write is a view of a socket read`);
    const closed = once(ws, 'close');
    ws.close(1000);
    await closed;
    await waitUntil(() => m.upgraded.size === 0);
  }
  assert.equal(spy.binaryMessages(), 0, "no binary message went through ws's Receiver");
});

void test("regression (tcp-ws copy): burrow's client reads the server's data without ws's Receiver too", async (t) => {
  const download = randomBytes(2 * 1024 * 1024);
  const { m } = await withTarget(t, (s) => {
    s.on('data', () => {}); // the trigger
    s.once('data', () => s.end(download));
  });
  const spy = spyOnReceivers();
  t.after(() => spy.restore());
  for (const mode of ['singleton', 'multiplexed'] as const) {
    const tunnel = await startTcpTunnel(`ws://127.0.0.1:${m.port}/tcp/dev`, TOKEN, '127.0.0.1', 0, {
      mode,
      logLevel: 'none',
    });
    t.after(() => tunnel.close());
    const sock = await dial(tunnel.address.port);
    sock.write('go');
    const got = await readBytes(sock, download.length);
    assert.equal(sha(got), sha(download), `${mode}: byte-exact through burrow's client`);
    sock.destroy();
    tunnel.close();
  }
  assert.equal(spy.binaryMessages(), 0, "no binary message went through ws's Receiver, on either side");
});

void test('singleton: frames split at every byte boundary, several messages per read', async (t) => {
  const received: Buffer[] = [];
  const { m } = await withTarget(t, (s) => s.on('data', (c: Buffer) => received.push(c)));
  const { sock } = await rawClient(m, '/tcp/dev?sessionId=split');
  t.after(() => sock.destroy());
  await waitUntil(() => m.upgraded.size === 1);
  const server = serverSocket(m);
  const a = Buffer.from('hello, ');
  const b = Buffer.alloc(200, 0x61); // 16-bit length
  const want: Buffer[] = [];
  const round = (i: number): Buffer => {
    const mask = Buffer.from([i, 255 - i, (i * 7) & 0xff, 0x5a]);
    return Buffer.concat([
      clientFrame(2, a, mask),
      clientFrame(9, Buffer.from('p'), mask), // a ping between messages
      clientFrame(2, b.subarray(0, 50), mask, false), // a fragmented message
      clientFrame(0, b.subarray(50), mask),
      clientFrame(2, Buffer.from([i & 0xff]), mask),
    ]);
  };
  const len = round(0).length;
  for (let i = 0; i <= len; i++) {
    const wire = round(i);
    await writeInSeparateReads(sock, server, [wire.subarray(0, i), wire.subarray(i)]);
    want.push(a, b, Buffer.from([i & 0xff]));
  }
  // and all of them in one write (several messages per read)
  const many = Buffer.concat(Array.from({ length: 20 }, (_, i) => round(i)));
  sock.write(many);
  for (let i = 0; i < 20; i++) want.push(a, b, Buffer.from([i & 0xff]));
  const total = Buffer.concat(want);
  await waitUntil(() => Buffer.concat(received).length >= total.length);
  assert.ok(Buffer.concat(received).equals(total));
});

void test('multiplexed: frames split at every byte boundary and several messages per read keep every id and close', async (t) => {
  const byTarget: Buffer[][] = [];
  const { m, target } = await withTarget(t, (s) => {
    const chunks: Buffer[] = [];
    byTarget.push(chunks);
    s.on('data', (c: Buffer) => chunks.push(c));
  });
  const { sock } = await rawClient(m, '/tcp/dev?mode=multiplexed');
  t.after(() => sock.destroy());
  await waitUntil(() => m.upgraded.size === 1);
  const server = serverSocket(m);
  const p1 = Buffer.from('payload for one; ');
  const p2 = Buffer.alloc(300, 0x32);
  const round = (i: number): Buffer => {
    const mask = Buffer.from([0x11, i & 0xff, 0x7e, (i * 13) & 0xff]);
    const m1 = encodeMuxData(1, p1);
    return Buffer.concat([
      clientFrame(2, m1.subarray(0, 2), mask, false), // the id itself split across fragments
      clientFrame(0, m1.subarray(2), mask),
      clientFrame(2, encodeMuxData(2, p2), mask),
      clientFrame(2, encodeMuxClose(99), mask), // unknown id: ignored
      clientFrame(2, Buffer.from([0, 0]), mask), // short: ignored
    ]);
  };
  const len = round(0).length;
  for (let i = 0; i <= len; i++) {
    const wire = round(i);
    await writeInSeparateReads(sock, server, [wire.subarray(0, i), wire.subarray(i)]);
  }
  sock.write(Buffer.concat(Array.from({ length: 10 }, (_, i) => round(i))));
  const n = len + 1 + 10;
  const sum = (k: number): number => Buffer.concat(byTarget[k] ?? []).length;
  await waitUntil(() => byTarget.length === 2 && sum(0) + sum(1) >= n * (p1.length + p2.length));
  const got = byTarget.map((c) => Buffer.concat(c));
  const one = got.find((g) => g[0] === p1[0])!;
  const two = got.find((g) => g[0] === p2[0])!;
  assert.ok(one.equals(Buffer.concat(Array.from({ length: n }, () => p1))));
  assert.ok(two.equals(Buffer.concat(Array.from({ length: n }, () => p2))));
  // a 4-byte close (masked, split in two reads) still closes its id
  const close = clientFrame(2, encodeMuxClose(1), Buffer.from([1, 2, 3, 4]));
  await writeInSeparateReads(sock, server, [close.subarray(0, 3), close.subarray(3)]);
  await waitUntil(() => target.sockets.size === 1);
});

void test('a real ws client with random masks: random sizes, byte-exact at the target, both modes', async (t) => {
  const hashes = new Map<number, { h: ReturnType<typeof createHash>; n: number }>();
  let next = 0;
  const { m } = await withTarget(t, (s) => {
    const entry = { h: createHash('sha256'), n: 0 };
    hashes.set(next++, entry);
    s.on('data', (c: Buffer) => {
      entry.h.update(c);
      entry.n += c.length;
    });
  });
  const sizes = [1, 125, 126, 65535, 65536, 65537, 300_000, 1_500_000, 3, 70_000];
  // singleton
  const ws = wsTo(m, '/tcp/dev');
  await once(ws, 'open');
  const all = sizes.map((n) => randomBytes(n));
  for (const b of all) ws.send(b);
  const total = all.reduce((n, b) => n + b.length, 0);
  await waitUntil(() => hashes.get(0)?.n === total);
  assert.equal(hashes.get(0)!.h.digest('hex'), sha(Buffer.concat(all)));
  ws.close(1000);
  // multiplexed, ids interleaved
  const mux = wsTo(m, '/tcp/dev', '?mode=multiplexed');
  await once(mux, 'open');
  const perId = new Map<number, Buffer[]>([
    [1, []],
    [2, []],
  ]);
  sizes.forEach((n, i) => {
    const id = (i % 2) + 1;
    const b = randomBytes(n);
    perId.get(id)!.push(b);
    mux.send(encodeMuxData(id, b));
  });
  const want = [...perId.values()].map((bs) => Buffer.concat(bs));
  await waitUntil(() => hashes.size === 3 && hashes.get(1)!.n + hashes.get(2)!.n === total);
  const got = [hashes.get(1)!, hashes.get(2)!].map((e) => e.h.digest('hex')).sort();
  assert.deepEqual(got, want.map(sha).sort());
  mux.close(1000);
});

void test('backpressure: a target that does not read pauses the taken-over socket; resuming delivers everything', async (t) => {
  for (const mode of ['singleton', 'multiplexed'] as const) {
    const targets: Socket[] = [];
    const chunks: Buffer[] = [];
    const { m } = await withTarget(t, (s) => {
      targets.push(s);
      s.pause(); // does not read
      s.on('data', (c: Buffer) => chunks.push(c));
    });
    const ws = wsTo(m, '/tcp/dev', mode === 'multiplexed' ? '?mode=multiplexed' : '');
    await once(ws, 'open');
    await waitUntil(() => m.upgraded.size === 1);
    const server = serverSocket(m);
    const block = randomBytes(64 * 1024);
    const count = 512; // 32 MiB: far past every buffer on the way
    for (let i = 0; i < count; i++) ws.send(mode === 'multiplexed' ? encodeMuxData(1, block) : block);
    await waitUntil(() => targets.length === 1 && server.isPaused(), {
      what: `${mode}: the WebSocket's socket paused`,
    });
    const read = server.bytesRead;
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(server.bytesRead - read < 512 * 1024, `${mode}: it stays paused (read ${server.bytesRead - read})`);
    targets[0]!.resume();
    await waitUntil(() => chunks.reduce((n, c) => n + c.length, 0) >= count * block.length, { timeoutMs: 20_000 });
    const got = Buffer.concat(chunks);
    assert.equal(got.length, count * block.length);
    for (let i = 0; i < count; i++) assert.ok(got.subarray(i * block.length, (i + 1) * block.length).equals(block));
    ws.terminate();
  }
});

void test('an oversized message closes with 1009; an unmasked frame with 1002; text and pings keep their behaviour', async (t) => {
  const received: Buffer[] = [];
  const { m } = await withTarget(t, (s) => s.on('data', (c: Buffer) => received.push(c)), { maxMessageBytes: 1024 });
  for (const query of ['', '?mode=multiplexed']) {
    const ws = wsTo(m, '/tcp/dev', query);
    await once(ws, 'open');
    const closed = once(ws, 'close');
    ws.send(Buffer.alloc(600, 1)); // fragments summed: 600 + 600 > 1024
    ws.send(Buffer.alloc(2000, 1));
    assert.equal((await closed)[0], 1009, `1009 (${query || 'singleton'})`);
  }
  // a client frame that is not masked: 1002
  const { sock, received: fromServer } = await rawClient(m, '/tcp/dev');
  t.after(() => sock.destroy());
  sock.write(Buffer.from([0x82, 0x03, 1, 2, 3]));
  await waitUntil(() => fromServer().length >= 4);
  const frame = fromServer();
  assert.equal(frame[0], 0x88, 'a close frame');
  assert.equal(frame.readUInt16BE(2), 1002);
  // singleton: text is taken as bytes (as before); a ping is answered
  received.length = 0;
  const ws = wsTo(m, '/tcp/dev');
  await once(ws, 'open');
  ws.send('as text');
  const pong = once(ws, 'pong');
  ws.ping('p');
  await pong;
  await waitUntil(() => Buffer.concat(received).toString() === 'as text');
  ws.close(1000);
});
