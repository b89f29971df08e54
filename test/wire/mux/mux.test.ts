import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { MuxSession, webSocketTransport, type MuxStream } from '../../../src/wire/mux/mux.js';
import { encodeFrame, encodeJsonFrame, FrameType } from '../../../src/wire/mux/frames.js';
import {
  DEFERRED_FLUSH_MS,
  DIRECT_SEND_BYTES,
  FRAME_HEADER_SIZE,
  MAX_DATA_CHUNK,
} from '../../../src/wire/mux/limits.js';
import type { StreamOpen } from '../../../src/wire/mux/messages.js';
import { readAll } from '../../helpers/net.js';
import { muxPair } from '../../helpers/mux-pair.js';
import { countingWritable } from '../../helpers/chunks.js';
import { waitUntil } from '../../helpers/wait.js';
import { webSocketPair } from '../../helpers/ws.js';

const pair = muxPair;

/**
 * Like pair(), but the transports take parts; each part reaches the peer as its own chunk, at once
 * (so the parts are written when sendParts returns).
 */
function partsPair(window = 1024 * 1024) {
  const sent: Buffer[][] = [];
  const { server, agent } = muxPair(window, (push) => ({
    send: (d) => (push(d), true),
    sendParts: (parts, onSent) => (sent.push([...parts]), parts.forEach((p) => push(p)), onSent?.(), true),
  }));
  return { server, agent, sent };
}

describe('mux', () => {
  test('a stream carries bytes both ways with half-close', async () => {
    const { server, agent } = pair();
    agent.on('stream', (s) => {
      // echo, upper-cased, then end after the peer ended
      s.on('data', (c: Buffer) => s.write(Buffer.from(c.toString().toUpperCase())));
      s.on('end', () => s.end());
    });
    const s = server.openStream({ tunnelId: 't', kind: 'tcp' });
    s.end('hello');
    assert.equal((await readAll(s)).toString(), 'HELLO');
  });

  test('flow control: a reader that does not read holds the writer at one window', async () => {
    const window = 64 * 1024;
    const { server, agent } = pair(window);
    let agentStream: MuxStream | undefined;
    agent.on('stream', (s: MuxStream, open: StreamOpen) => {
      assert.equal(open.kind, 'http');
      agentStream = s;
      s.pause();
    });
    const s = server.openStream({ tunnelId: 't', kind: 'http' });
    const big = Buffer.alloc(10 * window, 7);
    let writeDone = false;
    s.write(big, () => {
      writeDone = true;
    });
    // let frames flow
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.ok(agentStream);
    assert.equal(writeDone, false, 'writer must wait for credit');
    assert.ok(agentStream.readableLength <= window, `receiver buffered ${agentStream.readableLength} > window`);
    assert.ok(s.bytesWritten <= window);
    // now read everything
    const got = readAll(agentStream);
    s.end();
    agentStream.resume();
    assert.equal((await got).length, big.length);
    assert.equal(writeDone, true);
  });

  test('large DATA goes out as header + payload parts, the payload not copied', async () => {
    const { server, agent, sent } = partsPair();
    const got = new Promise<Buffer>((resolve) => agent.on('stream', (x) => resolve(readAll(x))));
    const s = server.openStream({ tunnelId: 't', kind: 'tcp' });
    const big = Buffer.alloc(3 * MAX_DATA_CHUNK + 5);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    s.end(big);
    assert.deepEqual(await got, big);
    assert.ok(sent.length >= 3, `${sent.length} messages sent as parts`);
    for (const [header, payload] of sent) {
      assert.equal(header!.length, FRAME_HEADER_SIZE);
      assert.equal(header![0], FrameType.DATA);
      assert.equal(header!.readUInt32BE(6), payload!.length);
      assert.ok(payload!.length + FRAME_HEADER_SIZE >= DIRECT_SEND_BYTES);
      assert.equal(payload!.buffer, big.buffer, 'the payload is a view of the written buffer');
    }
  });

  test('webSocketTransport: parts are the fragments of one message, written in one go', () => {
    const log: string[] = [];
    const ws = {
      bufferedAmount: 0,
      send: (d: Buffer, o: { binary: boolean; fin?: boolean }) => log.push(`send ${d.length} fin=${o.fin ?? true}`),
    };
    const t = webSocketTransport(ws, { cork: () => log.push('cork'), uncork: () => log.push('uncork') }, 100);
    assert.equal(t.sendParts!([Buffer.alloc(10), Buffer.alloc(70000)]), true);
    assert.equal(t.send(Buffer.alloc(3)), true);
    ws.bufferedAmount = 100;
    assert.equal(t.send(Buffer.alloc(3)), false, 'congested at the high-water mark');
    assert.deepEqual(log, [
      'cork',
      'send 10 fin=false',
      'send 70000 fin=true',
      'uncork',
      'send 3 fin=true',
      'send 3 fin=true',
    ]);
  });

  test('over a real WebSocket, a peer that reads whole messages (ws default) gets the same bytes', async () => {
    const ws = await webSocketPair();
    const { server: serverWs, client, serverSocket: raw } = ws;
    // server side: the new transport (parts as fragments), reading fragments
    serverWs.binaryType = 'fragments';
    const server = new MuxSession(webSocketTransport(serverWs, raw, 8 * 1024 * 1024), { role: 'server' });
    serverWs.on('message', (d: Buffer[]) => d.forEach((b) => server.receive(b)));
    // agent side: an older peer, one whole message at a time, sending with plain send()
    const agent = new MuxSession({ send: (d) => (client.send(d), true) }, { role: 'agent' });
    client.on('message', (d: Buffer) => agent.receive(d));
    agent.on('stream', (x) => x.pipe(x)); // echo
    try {
      const big = Buffer.alloc(1024 * 1024 + 3);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 253;
      const s = server.openStream({ tunnelId: 't', kind: 'tcp' });
      const got = readAll(s);
      s.end(big);
      assert.deepEqual(await got, big);
    } finally {
      server.close();
      agent.close();
      ws.close();
    }
  });

  test('reset reaches the peer with its code', async () => {
    const { server, agent } = pair();
    agent.on('stream', (s) => {
      s.reset(new Error('nope'));
    });
    const s = server.openStream({ tunnelId: 't', kind: 'http' });
    const [err] = (await once(s, 'error')) as [Error & { code: string }];
    assert.equal(err.code, 'BURROW_ERR_PROTOCOL');
    assert.match(err.message, /nope/);
  });

  test('a peer that overruns its window is cut off', async () => {
    const { server, agent } = pair(64 * 1024);
    const s = server.openStream({ tunnelId: 't', kind: 'http' });
    let got: MuxStream | undefined;
    agent.on('stream', (x) => {
      got = x;
      x.pause();
    });
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    // bypass flow control: raw DATA frames beyond the window
    for (let i = 0; i < 3; i++) agent.receive(encodeFrame(FrameType.DATA, s.id, Buffer.alloc(40 * 1024)));
    assert.ok(got);
    const [err] = (await once(got, 'error')) as [Error & { code: string }];
    assert.equal(err.code, 'BURROW_ERR_PROTOCOL');
  });

  test('closing the session destroys every stream with the given error', async () => {
    const { server } = pair();
    const a = server.openStream({ tunnelId: 't', kind: 'http' });
    const b = server.openStream({ tunnelId: 't', kind: 'http' });
    const errs = Promise.all([once(a, 'error'), once(b, 'error')]);
    server.close();
    const [[ea], [eb]] = (await errs) as [[Error & { code: string }], [Error & { code: string }]];
    assert.equal(ea.code, 'BURROW_ERR_AGENT_GONE');
    assert.equal(eb.code, 'BURROW_ERR_AGENT_GONE');
    assert.equal(server.streamCount, 0);
  });

  test('garbage input closes the session instead of throwing', () => {
    const { server } = pair();
    let closedWith: string | undefined;
    server.on('close', (e) => (closedWith = e?.code));
    server.receive(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    assert.equal(closedWith, 'BURROW_ERR_PROTOCOL');
    assert.equal(server.closed, true);
  });

  test('an OPEN with the wrong parity is a protocol error', () => {
    const { server } = pair();
    let closedWith: string | undefined;
    server.on('close', (e) => (closedWith = e?.code));
    server.on('stream', () => assert.fail('must not open'));
    server.receive(encodeFrame(FrameType.OPEN, 2, Buffer.from(JSON.stringify({ tunnelId: 'x', kind: 'http' }))));
    assert.equal(closedWith, 'BURROW_ERR_PROTOCOL');
  });

  test("regression (two writes per read): the DATA pieces of one read reach the stream's sink as one write", async () => {
    // A socket read often holds one DATA frame's tail and the next one's head: the decoder passes
    // them on as two pieces, and the sink (the local socket, the visitor's socket) got two write
    // syscalls per read. Corked for the read, they leave in one writev.
    const agent = new MuxSession({ send: () => true }, { role: 'agent', window: 1 << 20, peerWindow: 1 << 20 });
    const got = new Promise<MuxStream>((resolve) => agent.on('stream', (s) => resolve(s)));
    agent.receive(encodeFrame(FrameType.OPEN, 2, Buffer.from(JSON.stringify({ tunnelId: 't', kind: 'tcp' }))));
    const stream = await got;
    const { sink, writes } = countingWritable();
    stream.pipe(sink);
    assert.equal(stream.sink, sink);
    const a = encodeFrame(FrameType.DATA, 2, Buffer.alloc(3000, 1));
    const b = encodeFrame(FrameType.DATA, 2, Buffer.alloc(3000, 2));
    // one read split as the transport delivers it: [a's head+part] then [a's tail + b] in two pieces
    agent.receive(a.subarray(0, 1000));
    await new Promise((r) => setImmediate(r));
    writes.length = 0;
    agent.beginBatch();
    agent.receive(a.subarray(1000));
    agent.receive(b);
    agent.endBatch();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(writes, [2], 'one writev with both pieces');
    // one chunk holding two whole DATA frames: the same, without the transport's batch
    writes.length = 0;
    agent.receive(Buffer.concat([a, b]));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(writes, [2]);
    agent.close();
  });

  test('writes that waited (corked) leave as one DATA frame, their buffers as parts, not joined', async () => {
    const { server, agent, sent } = partsPair();
    const got = new Promise<Buffer>((resolve) => agent.on('stream', (x) => resolve(readAll(x))));
    const s = server.openStream({ tunnelId: 't', kind: 'tcp' });
    const a = Buffer.alloc(20_000, 1);
    const b = Buffer.alloc(30_000, 2);
    s.cork();
    s.write(a);
    s.write(b);
    s.uncork();
    s.end();
    assert.deepEqual(await got, Buffer.concat([a, b]));
    const data = sent.filter((parts) => parts[0]!.readUInt8(0) === FrameType.DATA);
    assert.equal(data.length, 1, 'one DATA frame');
    assert.equal(data[0]!.length, 3, 'header, then both buffers');
    assert.equal(data[0]![0]!.length, FRAME_HEADER_SIZE);
    assert.equal(data[0]![1], a, 'the first buffer itself, not a copy');
    assert.equal(data[0]![2], b);
  });

  test('writes that waited but exceed the credit or a frame go one after another, in order', async () => {
    const window = 64 * 1024;
    const { server, agent } = pair(window);
    const got = new Promise<Buffer>((resolve) => agent.on('stream', (x) => resolve(readAll(x))));
    const s = server.openStream({ tunnelId: 't', kind: 'tcp' });
    const parts = [40_000, 40_000, 70_000, 1, 0, 9].map((n, i) => Buffer.alloc(n, i + 1));
    s.cork();
    for (const p of parts) s.write(p);
    s.uncork();
    s.end();
    assert.deepEqual(await got, Buffer.concat(parts));
  });

  describe('writeReleasing (a reader that reuses its buffers)', () => {
    /** A pair whose server transport takes parts and holds each message's onSent until written(). */
    function heldPair(window = 1024 * 1024) {
      const log: string[] = [];
      const held: (() => void)[] = [];
      const { server, agent } = muxPair(window, (push) => ({
        send: (d) => (push(d), true),
        sendParts: (parts, onSent) => {
          log.push(`parts ${parts.length}`);
          parts.forEach((p) => push(Buffer.from(p))); // the peer gets a copy: what we hold is ours
          if (onSent) held.push(onSent);
          return true;
        },
        cork: () => log.push('cork'),
        uncork: () => log.push('uncork'),
      }));
      const written = () => held.splice(0).forEach((f) => f());
      return { server, agent, log, held, written };
    }

    test('a chunk of several frames is sent in one corked write and released only once every frame kept by reference was written (its small tail is copied)', async () => {
      const { server, agent, log, held, written } = heldPair();
      const got = new Promise<Buffer>((resolve) => agent.on('stream', (x) => resolve(readAll(x))));
      const s = server.openStream({ tunnelId: 't', kind: 'tcp' });
      const big = Buffer.alloc(3 * MAX_DATA_CHUNK + 100, 9);
      let released = 0;
      s.writeReleasing(big, () => released++);
      await new Promise((r) => setImmediate(r));
      // three 64 KiB frames by reference; the 100-byte tail is copied into a batched frame
      assert.deepEqual(log, ['cork', 'parts 2', 'parts 2', 'parts 2', 'uncork']);
      assert.equal(held.length, 3, 'each frame kept by reference holds a share');
      assert.equal(released, 0, 'not released when the copied tail was');
      const last = held.pop()!;
      written();
      assert.equal(released, 0, 'not before the last of them was written');
      last();
      assert.equal(released, 1);
      s.end();
      assert.deepEqual(await got, big);
    });

    /** A server session over a real WebSocket (64 MiB windows: only the socket holds bytes back) and the peer's end. */
    async function stalledPeer() {
      const ws = await webSocketPair();
      const { server: serverWs, client, serverSocket: raw, clientSocket: peerSocket } = ws;
      const window = 64 * 1024 * 1024;
      const server = new MuxSession(webSocketTransport(serverWs, raw, window), {
        role: 'server',
        window,
        peerWindow: window,
      });
      return { ws, client, peerSocket, server, window };
    }

    test('over a real WebSocket whose peer does not read, a chunk is released only once the socket wrote it', async () => {
      const { ws, client, peerSocket, server } = await stalledPeer();
      peerSocket.pause(); // the peer reads nothing: the kernel's buffers fill, the rest waits in the socket
      try {
        const s = server.openStream({ tunnelId: 't', kind: 'tcp' });
        let released = false;
        s.writeReleasing(Buffer.alloc(32 * 1024 * 1024, 1), () => (released = true));
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(released, false, 'released while the socket still held its bytes');
        let received = 0;
        client.on('message', (d: Buffer) => (received += d.length));
        peerSocket.resume();
        await waitUntil(() => released, { timeoutMs: 10_000 });
        assert.ok(received > 0);
      } finally {
        server.close();
        ws.close();
      }
    });

    test('a writer that reuses its buffers is paced by the session, not the socket: its write is taken at once, the release waits', async () => {
      const { ws, peerSocket, server } = await stalledPeer();
      peerSocket.pause();
      try {
        const s = server.openStream({ tunnelId: 't', kind: 'tcp' });
        let released = 0;
        const chunk = Buffer.alloc(1024 * 1024, 1);
        for (let i = 0; i < 4; i++)
          assert.equal(
            s.writeReleasing(chunk.subarray(0), () => released++),
            true,
            `write ${i}`,
          );
        assert.equal(s.writableLength, 0, 'nothing waits in the Writable');
        await new Promise((r) => setTimeout(r, 50));
        assert.ok(released < 4, 'the socket still holds the bytes of some');
      } finally {
        server.close();
        ws.close();
      }
    });

    test('regression (a write callback before the socket wrote the bytes; the pipe across nodes got refilled buffers): write(chunk, cb) calls back only once the chunk is written, so a writer may then refill it', async () => {
      const { ws, client, peerSocket, server, window } = await stalledPeer();
      const agent = new MuxSession(
        { send: (d) => (client.send(d), true) },
        { role: 'agent', window, peerWindow: window },
      );
      client.on('message', (d: Buffer) => agent.receive(d));
      const got = new Promise<Buffer>((resolve) => agent.on('stream', (x) => resolve(readAll(x))));
      peerSocket.pause(); // the peer reads nothing: the kernel's buffers fill, the rest waits in the socket
      try {
        const s = server.openStream({ tunnelId: 't', kind: 'tcp' });
        const buf = Buffer.alloc(32 * 1024 * 1024, 1);
        let called = false;
        s.write(buf, () => {
          called = true;
          buf.fill(2); // as a reader that reuses its buffer does
        });
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(called, false, 'called back while the socket still held the bytes');
        peerSocket.resume();
        await waitUntil(() => called, { timeoutMs: 10_000 });
        s.end();
        const bytes = await got;
        assert.equal(bytes.length, buf.length);
        assert.equal(bytes.indexOf(2), -1, 'the peer got bytes written into the buffer after the callback');
      } finally {
        server.close();
        agent.close();
        ws.close();
      }
    });

    test('a small chunk is copied into its frame and released at once', () => {
      const { server, held } = heldPair();
      const s = server.openStream({ tunnelId: 't', kind: 'tcp' });
      let released = 0;
      s.writeReleasing(Buffer.alloc(100, 1), () => released++);
      assert.equal(released, 1);
      assert.equal(held.length, 0);
    });

    test('a chunk that waits for credit is released after it was sent, and writes that waited keep their releases', async () => {
      const window = 64 * 1024;
      const { server, agent, written } = heldPair(window);
      let agentStream: MuxStream | undefined;
      agent.on('stream', (x: MuxStream) => {
        agentStream = x;
        x.pause();
      });
      const s = server.openStream({ tunnelId: 't', kind: 'tcp' });
      const released: number[] = [];
      // the first fills the window; the next two wait in the Writable, then go one after another
      for (const [i, n] of [window, 40_000, 30_000].entries())
        s.writeReleasing(Buffer.alloc(n, i), () => released.push(i));
      await new Promise((r) => setTimeout(r, 20));
      written();
      assert.deepEqual(released, [0], 'only the chunk that went out');
      const all = readAll(agentStream!);
      agentStream!.resume();
      for (let i = 0; i < 50 && released.length < 3; i++) {
        await new Promise((r) => setTimeout(r, 5));
        written();
      }
      assert.deepEqual(released, [0, 1, 2]);
      s.end();
      assert.equal((await all).length, window + 70_000);
    });
  });

  describe('deferred frames (request EVENTs)', () => {
    /** A session whose transport records each message it is handed, with the time. */
    function recorded() {
      const sent: { at: number; data: Buffer }[] = [];
      const session = new MuxSession(
        { send: (data) => (sent.push({ at: performance.now(), data }), true) },
        { role: 'server' },
      );
      return { session, sent };
    }
    const event = (n: number) => encodeJsonFrame(FrameType.EVENT, 0, { type: 'request', n });

    test('a deferred frame rides with the next batch: one transport message, in order', async () => {
      const { session, sent } = recorded();
      const ev = event(1);
      const ping = encodeFrame(FrameType.PING, 0, Buffer.alloc(8));
      session.sendDeferred(ev);
      await new Promise((r) => setImmediate(r));
      assert.equal(sent.length, 0, 'not sent on its own at the end of the turn');
      session.sendFrame(ping);
      await new Promise((r) => setImmediate(r));
      assert.equal(sent.length, 1);
      assert.deepEqual(sent[0]!.data, Buffer.concat([ev, ping]));
      // the timer that found its frame gone sends nothing more
      await new Promise((r) => setTimeout(r, DEFERRED_FLUSH_MS + 20));
      assert.equal(sent.length, 1);
      session.close();
    });

    test('a deferred frame with no batch to ride with leaves alone after DEFERRED_FLUSH_MS', async () => {
      const { session, sent } = recorded();
      const t0 = performance.now();
      session.sendDeferred(event(1));
      session.sendDeferred(event(2));
      while (sent.length === 0) await new Promise((r) => setTimeout(r, 5));
      assert.ok(sent[0]!.at - t0 >= DEFERRED_FLUSH_MS - 1, `waited ${sent[0]!.at - t0} ms`);
      assert.deepEqual(sent[0]!.data, Buffer.concat([event(1), event(2)]));
      session.close();
    });

    test('closing the session sends what is deferred and stops the timer', async () => {
      const { session, sent } = recorded();
      session.sendDeferred(event(1));
      session.close();
      assert.equal(sent.length, 1);
      session.sendDeferred(event(2));
      await new Promise((r) => setTimeout(r, DEFERRED_FLUSH_MS + 20));
      assert.equal(sent.length, 1, 'nothing is sent after close');
    });
  });
});
