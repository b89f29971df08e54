import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MuxMessageReader,
  SingletonMessageReader,
  decodeMuxMessage,
  encodeMuxClose,
  encodeMuxCredit,
  encodeMuxData,
  encodeMuxFin,
  encodeMuxOpen,
  parseMuxWindow,
} from '../../../src/wire/tcp-ws/wire.js';
import { CreditReceiver, CreditSender } from '../../../src/wire/tcp-ws/credit.js';
import { FlowGate, ReadBatch, WsSendBacklog, sendWithBackpressure } from '../../../src/wire/tcp-ws/flow.js';
import { waitUntil } from '../../helpers/wait.js';
import { webSocketPair } from '../../helpers/ws.js';
import { parseTcpTargetSpec, tokensEqual } from '../../../src/adapters/tcp-ws/index.js';
import { BurrowError } from '../../../src/core/errors.js';
import { isFinalStatus, limrunReconnectDelay } from '../../../src/client/tcp-ws/websocket.js';
import { countingWritable, splitAt } from '../../helpers/chunks.js';

void test('mux data round-trips for any id and non-empty payload', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 0xffffffff }),
      fc.uint8Array({ minLength: 1, maxLength: 512 }),
      (id, bytes) => {
        const msg = decodeMuxMessage(encodeMuxData(id, Buffer.from(bytes)), true);
        assert.equal(msg.type, 'data');
        if (msg.type === 'data') {
          assert.equal(msg.id, id);
          assert.deepEqual([...msg.payload], [...bytes]);
        }
      },
    ),
  );
});

void test('mux: 4-byte close (big-endian), short frames ignored, control only with extensions', () => {
  assert.deepEqual([...encodeMuxClose(0x01020304)], [1, 2, 3, 4]);
  assert.deepEqual(decodeMuxMessage(encodeMuxClose(7), false), { type: 'close', id: 7 });
  for (const n of [0, 1, 2, 3]) assert.equal(decodeMuxMessage(Buffer.alloc(n), true).type, 'ignored');
  assert.deepEqual(decodeMuxMessage(encodeMuxFin(9), true), { type: 'fin', id: 9 });
  assert.deepEqual(decodeMuxMessage(encodeMuxOpen(9), true), { type: 'open', id: 9 });
  // Without extensions id 0 is plain data, as limrun's peers see it.
  assert.equal(decodeMuxMessage(encodeMuxFin(9), false).type, 'data');
  assert.equal(decodeMuxMessage(Buffer.from([0, 0, 0, 0, 99, 0, 0, 0, 1]), true).type, 'ignored');
  assert.equal(decodeMuxMessage(Buffer.from([0, 0, 0, 0, 1, 0, 0]), true).type, 'ignored');
});

void test('mux CREDIT: 13 bytes on id 0, decoded only when flow control is on; never a close or data for limrun ids', () => {
  assert.deepEqual([...encodeMuxCredit(0x01020304, 0x0a0b0c0d)], [0, 0, 0, 0, 3, 1, 2, 3, 4, 10, 11, 12, 13]);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 0xffffffff }), fc.integer({ min: 1, max: 0xffffffff }), (id, inc) => {
      assert.deepEqual(decodeMuxMessage(encodeMuxCredit(id, inc), true, true), { type: 'credit', id, increment: inc });
      // Older burrow peers (extensions, no flow control) ignore it like any unknown control message.
      assert.equal(decodeMuxMessage(encodeMuxCredit(id, inc), true).type, 'ignored');
      assert.equal(decodeMuxMessage(encodeMuxCredit(id, inc), true, false).type, 'ignored');
    }),
  );
  assert.equal(decodeMuxMessage(encodeMuxCredit(5, 0), true, true).type, 'ignored', 'a credit of 0');
  assert.equal(decodeMuxMessage(encodeMuxCredit(0, 5), true, true).type, 'ignored', 'a credit for id 0');
  const wrongOp = encodeMuxCredit(5, 5);
  wrongOp[4] = 1;
  assert.equal(decodeMuxMessage(wrongOp, true, true).type, 'ignored', 'FIN is 9 bytes, not 13');
  // FIN and OPEN still decode with flow control on.
  assert.deepEqual(decodeMuxMessage(encodeMuxFin(9), true, true), { type: 'fin', id: 9 });
  assert.deepEqual(decodeMuxMessage(encodeMuxOpen(9), true, true), { type: 'open', id: 9 });
});

void test('X-Burrow-Tcp-Window values: decimal, 16 KiB … 2³²−1, used up to 16 MiB', () => {
  assert.equal(parseMuxWindow('1048576'), 1048576);
  assert.equal(parseMuxWindow(' 16384 '), 16384);
  assert.equal(parseMuxWindow('4294967295'), 16 * 1024 * 1024);
  for (const bad of [undefined, '', '16383', '0', '-1', '1e6', '0x10000', '65536.0', '4294967296', 'abc'])
    assert.equal(parseMuxWindow(bad), undefined, String(bad));
  assert.equal(parseMuxWindow(['65536', '65536']), undefined, 'repeated header');
});

void test('CreditSender: splits at the credit, keeps order with FIN/close steps, pauses and resumes its source', () => {
  const sent: string[] = [];
  const stalls: boolean[] = [];
  const s = new CreditSender(
    4,
    (p) => sent.push(p.toString()),
    (x) => stalls.push(x),
  );
  s.push(Buffer.from('abcdef'));
  s.push(Buffer.from('gh'));
  s.after(() => sent.push('FIN'));
  assert.deepEqual(sent, ['abcd']);
  assert.equal(s.pendingBytes, 4);
  assert.deepEqual(stalls, [true]);
  s.grant(3);
  assert.deepEqual(sent, ['abcd', 'ef', 'g']);
  s.grant(10);
  assert.deepEqual(sent, ['abcd', 'ef', 'g', 'h', 'FIN']);
  assert.deepEqual(stalls, [true, false]);
  assert.equal(s.stalled, false);
  assert.equal(s.credit, 9);

  const unlimited = new CreditSender(
    Number.POSITIVE_INFINITY,
    (p) => sent.push(p.toString()),
    () => assert.fail(),
  );
  unlimited.push(Buffer.alloc(1 << 20));
  unlimited.after(() => sent.push('now'));
  assert.equal(sent.at(-1), 'now', 'without flow control everything goes at once');

  const dropped = new CreditSender(
    0,
    () => assert.fail('nothing is sent'),
    () => {},
  );
  dropped.push(Buffer.from('x'));
  dropped.after(() => assert.fail('steps are dropped too'));
  dropped.clear();
  dropped.grant(10);
});

void test('CreditSender: a chunk pushed with a release gets it once every part emitted of it is done, across grants; clear() releases what waits', () => {
  const done: (() => void)[] = [];
  const released: string[] = [];
  const s = new CreditSender(
    4,
    (_p, d) => {
      assert.ok(d, 'each part of a releasable chunk carries its done');
      done.push(d);
    },
    () => {},
  );
  s.push(Buffer.from('abcdef'), () => released.push('abcdef'));
  s.push(Buffer.from('gh'), () => released.push('gh'));
  s.grant(3); // 'ef' and 'g' go; 'h' waits
  assert.equal(done.length, 3, "'abcd', 'ef', 'g'");
  done[0]!();
  done[2]!();
  assert.deepEqual(released, [], 'a part of each is still out');
  done[1]!();
  assert.deepEqual(released, ['abcdef'], 'both its parts are done');
  s.clear(); // 'h' is dropped: its buffer is no longer needed, and 'g' was done
  assert.deepEqual(released, ['abcdef', 'gh']);
});

void test('CreditReceiver: credits back in quarters of the window, and flags an overrun', () => {
  const grants: number[] = [];
  const r = new CreditReceiver(1000, (n) => grants.push(n));
  assert.equal(r.receive(1000), true);
  r.consumed(249);
  assert.deepEqual(grants, []);
  r.consumed(1);
  assert.deepEqual(grants, [250]);
  r.consumed(750);
  assert.deepEqual(grants, [250, 750]);
  assert.equal(r.receive(1000), true, 'a full window again after the credits');
  assert.equal(r.receive(1), false, 'one byte past the window');
});

void test('parseTcpTargetSpec: forms that work', () => {
  assert.deepEqual(parseTcpTargetSpec('adb=127.0.0.1:5555'), { name: 'adb', host: '127.0.0.1', port: 5555 });
  assert.deepEqual(parseTcpTargetSpec('ADB=localhost:5555,token=s3cr=t,path=/adb'), {
    name: 'adb',
    host: 'localhost',
    port: 5555,
    token: 's3cr=t',
    path: '/adb',
  });
  assert.deepEqual(parseTcpTargetSpec('db6=[::1]:5432'), { name: 'db6', host: '::1', port: 5432 });
});

void test('parseTcpTargetSpec: every mistake is an INVALID_CONFIG naming the problem', () => {
  const bad: [string, RegExp][] = [
    ['adb', /NAME=HOST:PORT/],
    ['=1.2.3.4:5', /NAME=HOST:PORT/],
    ['a b=1.2.3.4:5', /invalid name/],
    ['adb=127.0.0.1', /HOST:PORT/],
    ['adb=127.0.0.1:0', /out of range/],
    ['adb=127.0.0.1:70000', /out of range/],
    ['adb=[zz]:1', /IPv6/],
    ['adb=h:1,token=', /empty token/],
    ['adb=h:1,path=adb', /must start with/],
    ['adb=h:1,colour=red', /unknown option "colour"/],
  ];
  for (const [spec, re] of bad) {
    assert.throws(
      () => parseTcpTargetSpec(spec),
      (err: unknown) => err instanceof BurrowError && err.code === 'BURROW_ERR_INVALID_CONFIG' && re.test(err.message),
      spec,
    );
  }
});

void test('tokensEqual compares exactly (any lengths)', () => {
  assert.equal(tokensEqual('abc', 'abc'), true);
  assert.equal(tokensEqual('abc', 'abd'), false);
  assert.equal(tokensEqual('abc', 'abcd'), false);
  assert.equal(tokensEqual('', 'x'), false);
});

void test("client backoff and final statuses are limrun's", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6].map((a) => limrunReconnectDelay(a, 1000, 30_000)),
    [1000, 2000, 4000, 8000, 16000, 30000, 30000],
  );
  assert.equal(isFinalStatus(401), true);
  assert.equal(isFinalStatus(410), true);
  assert.equal(isFinalStatus(502), false);
  assert.equal(isFinalStatus(undefined), false);
});

void test('MuxMessageReader: any message split anywhere gives what decodeMuxMessage gives the whole message', () => {
  // arbitrary messages, and the ones that matter: data, closes, FIN/OPEN/CREDIT, short, id 0, too long
  const messages = fc.oneof(
    fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    fc
      .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ maxLength: 300 }))
      .map(([id, p]) => (p.length ? encodeMuxData(id, Buffer.from(p)) : encodeMuxClose(id))),
    fc.integer({ min: 0, max: 0xffffffff }).map((id) => encodeMuxFin(id)),
    fc.integer({ min: 0, max: 0xffffffff }).map((id) => encodeMuxOpen(id)),
    fc
      .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }))
      .map(([id, n]) => encodeMuxCredit(id, n)),
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(messages, fc.array(fc.nat(), { maxLength: 6 })), { maxLength: 8 }),
      fc.boolean(),
      fc.boolean(),
      (list, extensions, credit) => {
        let events: { type: string; id?: number; payload?: Buffer }[] = [];
        const reader = new MuxMessageReader(
          { data: (id, payload) => events.push({ type: 'data', id, payload }), message: (msg) => events.push(msg) },
          extensions,
          credit,
        );
        for (const [message, cuts] of list) {
          events = [];
          for (const piece of splitAt(Buffer.from(message), cuts)) reader.push(piece);
          reader.end();
          const want = decodeMuxMessage(message, extensions, credit);
          if (want.type !== 'data') {
            assert.deepEqual(events, [want]);
            continue;
          }
          // a data message: its payload in one or more pieces, all for its id
          assert.ok(events.length >= 1 && events.every((e) => e.type === 'data' && e.id === want.id));
          assert.ok(Buffer.concat(events.map((e) => e.payload!)).equals(want.payload));
        }
      },
    ),
    { numRuns: 500 },
  );
});

void test('MuxMessageReader: a data payload leaves as views of the pieces it came in (no copy)', () => {
  const pieces: Buffer[] = [];
  const reader = new MuxMessageReader(
    { data: (_id, payload) => pieces.push(payload), message: () => assert.fail('no other message') },
    true,
    true,
  );
  const a = encodeMuxData(42, Buffer.alloc(30_000, 1));
  const b = Buffer.alloc(40_000, 2);
  reader.push(a);
  reader.push(b);
  reader.end();
  assert.equal(pieces.length, 2);
  assert.equal(pieces[0]!.buffer, a.buffer, 'the first piece is a view past the id');
  assert.equal(pieces[1], b, 'later pieces are passed as they came');
  assert.equal(pieces[0]!.length + pieces[1].length, 70_000);
});

void test('ReadBatch: what one read writes to a socket leaves in one write; outside a read, writes go at once', () => {
  const { sink, writes } = countingWritable();
  const batch = new ReadBatch();
  batch.begin();
  for (const piece of [Buffer.from('tail of one message'), Buffer.from('head of the next')]) {
    batch.touch(sink);
    sink.write(piece);
  }
  assert.deepEqual(writes, [], 'held while the read is dispatched');
  batch.end();
  assert.deepEqual(writes, [2], 'one writev with both pieces');
  batch.touch(sink);
  sink.write(Buffer.from('x'));
  assert.deepEqual(writes, [2, 1]);
  assert.equal(sink.writableCorked, 0);
});

void test('SingletonMessageReader: bytes pass on as they come; only an empty message is a FIN', () => {
  const events: string[] = [];
  const reader = new SingletonMessageReader(
    (b) => events.push(`bytes ${b.toString()}`),
    () => events.push('fin'),
  );
  reader.push(Buffer.from('ab'));
  reader.push(Buffer.alloc(0));
  reader.push(Buffer.from('c'));
  reader.end();
  reader.end(); // an empty message
  reader.push(Buffer.alloc(0));
  reader.end(); // empty too, however it was pushed
  reader.push(Buffer.from('d'));
  reader.end();
  assert.deepEqual(events, ['bytes ab', 'bytes c', 'fin', 'fin', 'bytes d']);
});

void test("WsSendBacklog.sendParts and sendWithBackpressure call 'written' only once the socket wrote the payload (a peer that does not read holds it)", async () => {
  const ws = await webSocketPair();
  const { server: serverWs, client, clientSocket: peer } = ws;
  peer.pause();
  try {
    const gate = new FlowGate({ pause: () => {}, resume: () => {} });
    const backlog = new WsSendBacklog(serverWs, Infinity, 0);
    const written: string[] = [];
    // far more than the kernel's loopback buffers take: the last sends wait in the socket
    for (let i = 0; i < 16; i++)
      backlog.sendParts(Buffer.alloc(4), Buffer.alloc(1024 * 1024), gate, () => written.push(`parts ${i}`));
    sendWithBackpressure(serverWs, Buffer.alloc(1024 * 1024), gate, Infinity, 0, () => written.push('single'));
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!written.includes('parts 15') && !written.includes('single'), `written early: ${written.join(', ')}`);
    peer.resume();
    client.on('message', () => {});
    await waitUntil(() => written.includes('single'));
    assert.equal(written.length, 17);
  } finally {
    ws.close();
  }
});
