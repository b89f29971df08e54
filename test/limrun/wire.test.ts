import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeMuxMessage,
  encodeMuxClose,
  encodeMuxData,
  encodeMuxFin,
  encodeMuxOpen,
} from '../../src/adapters/limrun/wire.js';
import { parseTcpTargetSpec, tokensEqual } from '../../src/adapters/limrun/index.js';
import { BurrowError } from '../../src/core/errors.js';
import { backoffDelay, isFinalStatus } from '../../src/client/tcp/websocket.js';

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
    [0, 1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, 1000, 30_000)),
    [1000, 2000, 4000, 8000, 16000, 30000, 30000],
  );
  assert.equal(isFinalStatus(401), true);
  assert.equal(isFinalStatus(410), true);
  assert.equal(isFinalStatus(502), false);
  assert.equal(isFinalStatus(undefined), false);
});
