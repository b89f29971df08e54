/**
 * The mux link's WebSocket reader (src/core/ws-link.ts): binary payload bytes leave as views of the
 * read buffers, unmasked in place, whatever the split; control and text frames go to ws whole; a
 * peer breaking RFC 6455 gets a close code. Frames are made by ws's own Sender, so the reader is held
 * to what the `ws` library (any burrow peer of any version) puts on the wire.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import WebSocket, { WebSocketServer } from 'ws';
import * as wsModule from 'ws';
import { takeOverBinary, WsFrameError, WsFrameReader } from '../../src/core/ws-link.js';
import { splitAt } from '../helpers/chunks.js';

// ws's frame encoder (internal, stable across ws 8)
const { Sender } = wsModule as unknown as {
  Sender: { frame(data: Buffer, o: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean; generateMask?: (m: Buffer) => void }): Buffer[] };
};

interface Spec {
  opcode: number;
  fin: boolean;
  payload: Buffer;
}

function encode(s: Spec, mask: boolean, key?: Buffer): Buffer {
  return Buffer.concat(
    Sender.frame(Buffer.from(s.payload), {
      fin: s.fin,
      opcode: s.opcode,
      mask,
      readOnly: true,
      rsv1: false,
      ...(key ? { generateMask: (m: Buffer) => key.copy(m) } : {}),
    }),
  );
}

/** A valid frame sequence: binary messages (some fragmented) with control and text frames between. */
const payload = (max: number): fc.Arbitrary<Buffer> =>
  fc.oneof(
    fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a)),
    fc.constantFrom(125, 126, 65535, 65536, 70000).map((n) => Buffer.alloc(n, 7)),
  );
const message = fc.oneof(
  fc.array(payload(3000), { minLength: 1, maxLength: 4 }).map((parts) =>
    parts.map((p, i) => ({ opcode: i === 0 ? 2 : 0, fin: i === parts.length - 1, payload: p })),
  ),
  fc.constantFrom(9, 10).chain((op) =>
    fc.uint8Array({ maxLength: 125 }).map((a) => [{ opcode: op, fin: true, payload: Buffer.from(a) }]),
  ),
  fc.string({ maxLength: 40 }).map((t) => [{ opcode: 1, fin: true, payload: Buffer.from(t) }]),
);

function read(chunks: Buffer[], masked: boolean, maxPayload = 1 << 20): { data: Buffer; other: Buffer[] } {
  const data: Buffer[] = [];
  const other: Buffer[] = [];
  const r = new WsFrameReader({ masked, maxPayload, onData: (b) => data.push(Buffer.from(b)), onOther: (f) => other.push(f) });
  for (const c of chunks) r.push(c);
  return { data: Buffer.concat(data), other };
}

describe('WsFrameReader', () => {
  test('binary bytes come out whole and in order for any split, masked (random keys) or not; other frames whole', () => {
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 8 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.array(fc.uint8Array({ minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 4 }),
        (messages, masked, cuts, keys) => {
          const specs = messages.flat();
          let k = 0;
          const frames = specs.map((s) => encode(s, masked, masked ? Buffer.from(keys[k++ % keys.length]!) : undefined));
          const wire = Buffer.concat(frames);
          const { data, other } = read(splitAt(Buffer.from(wire), cuts), masked);
          const wantData = Buffer.concat(specs.filter((s) => s.opcode === 2 || s.opcode === 0).map((s) => s.payload));
          assert.ok(data.equals(wantData), 'binary bytes differ');
          const wantOther = frames.filter((_, i) => specs[i]!.opcode === 1 || specs[i]!.opcode >= 8);
          assert.deepEqual(other, wantOther);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('onEnd marks where each binary message ends (fragmented, empty, control frames between), for any split', () => {
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 8 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 40 }),
        (messages, masked, cuts) => {
          const specs = messages.flat();
          const wire = Buffer.concat(specs.map((s) => encode(s, masked, masked ? Buffer.from([9, 8, 7, 6]) : undefined)));
          const got: Buffer[] = [];
          let current: Buffer[] = [];
          const r = new WsFrameReader({
            masked,
            maxPayload: 1 << 20,
            onData: (b) => current.push(Buffer.from(b)),
            onEnd: () => {
              got.push(Buffer.concat(current));
              current = [];
            },
            onOther: () => {},
          });
          for (const c of splitAt(Buffer.from(wire), cuts)) r.push(c);
          const want = messages
            .filter((m) => m[0]!.opcode === 2)
            .map((m) => Buffer.concat(m.map((f) => f.payload)));
          assert.deepEqual(got, want);
          assert.equal(current.length, 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('payload bytes are views of the chunk they arrived in (no copy), unmasked in place', () => {
    const body = Buffer.alloc(64 * 1024, 0x5a);
    const wire = encode({ opcode: 2, fin: true, payload: body }, true, Buffer.from([1, 2, 3, 4]));
    const first = Buffer.from(wire.subarray(0, 30_000));
    const second = Buffer.from(wire.subarray(30_000));
    const views: Buffer[] = [];
    const r = new WsFrameReader({ masked: true, maxPayload: 1 << 20, onData: (b) => views.push(b), onOther: () => {} });
    r.push(first);
    r.push(second);
    assert.equal(views.length, 2);
    assert.equal(views[0]!.buffer, first.buffer);
    assert.equal(views[1]!.buffer, second.buffer);
    assert.ok(Buffer.concat(views).equals(body));
  });

  test('protocol violations throw WsFrameError with the close code', () => {
    const bad = (wire: Buffer, masked: boolean, code: number, maxPayload = 1 << 20): void => {
      assert.throws(
        () => read([wire], masked, maxPayload),
        (e: unknown) => e instanceof WsFrameError && e.closeCode === code,
      );
    };
    const bin = { opcode: 2, fin: true, payload: Buffer.from('abc') };
    bad(encode(bin, false), true, 1002); // a client must mask
    bad(encode(bin, true), false, 1002); // a server must not
    const rsv = encode(bin, false);
    rsv[0]! |= 0x40;
    bad(rsv, false, 1002); // no extension agreed
    bad(encode({ opcode: 0, fin: true, payload: Buffer.from('x') }, false), false, 1002); // continuation first
    bad(Buffer.concat([encode({ opcode: 2, fin: false, payload: Buffer.from('x') }, false), encode(bin, false)]), false, 1002);
    const ping = encode({ opcode: 9, fin: true, payload: Buffer.alloc(10) }, false);
    ping[0]! &= 0x7f;
    bad(ping, false, 1002); // fragmented control frame
    bad(encode({ opcode: 3, fin: true, payload: Buffer.alloc(1) }, false), false, 1002); // reserved opcode
    bad(encode({ opcode: 2, fin: true, payload: Buffer.alloc(2000) }, false), false, 1009, 1000); // over maxPayload
  });
});

describe('takeOverBinary on a live ws connection', () => {
  test('a plain ws client (random masks) sends binary, text and pings; the close handshake still runs', async () => {
    const server = http.createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    const received: Buffer[] = [];
    const texts: string[] = [];
    const serverSide = new Promise<WebSocket>((resolve) =>
      wss.on('connection', (ws) => {
        takeOverBinary(ws, 1 << 22, (b) => received.push(Buffer.from(b)));
        ws.on('message', (m, isBinary) => {
          assert.equal(isBinary, false, 'binary messages go to the callback');
          texts.push((m as Buffer).toString());
        });
        resolve(ws);
      }),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: false });
    await once(client, 'open');
    const ws = await serverSide;
    const sent: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const b = Buffer.alloc(1 + ((i * 7919) % 200_000), i);
      sent.push(b);
      client.send(b, { binary: true });
      if (i % 10 === 0) client.ping(Buffer.from(`p${i}`));
    }
    client.send('hello', { binary: false });
    const pong = once(client, 'pong');
    client.ping(Buffer.from('last'));
    assert.equal((await pong)[0].toString(), 'p0'); // ws answered the pings, in order
    // the server's replies still go out as ws sends them
    const echo = once(client, 'message');
    ws.send(Buffer.from('from server'));
    assert.equal((await echo)[0].toString(), 'from server');
    const closed = once(client, 'close');
    client.close(1000, 'bye');
    const [code] = await closed;
    assert.equal(code, 1000);
    assert.ok(Buffer.concat(received).equals(Buffer.concat(sent)));
    assert.deepEqual(texts, ['hello']);
    wss.close();
    server.close();
  });

  test('a protocol violation closes the connection with its code', async () => {
    const server = http.createServer();
    const wss = new WebSocketServer({ server, perMessageDeflate: false });
    const errors: Error[] = [];
    wss.on('connection', (ws) => {
      takeOverBinary(ws, 1000, () => {});
      ws.on('error', (e) => errors.push(e));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: false });
    await once(client, 'open');
    const closed = once(client, 'close');
    client.send(Buffer.alloc(2000), { binary: true }); // over the 1000-byte limit
    const [code] = await closed;
    assert.equal(code, 1009);
    assert.ok(errors[0] instanceof WsFrameError);
    wss.close();
    server.close();
  });
});
