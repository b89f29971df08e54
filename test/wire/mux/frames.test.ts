import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  encodeFrame,
  encodeJsonFrame,
  encodeWindow,
  FrameDecoder,
  FrameType,
  decodeJson,
  type FrameTypeCode,
} from '../../../src/wire/mux/frames.js';
import { FRAME_HEADER_SIZE, MAX_CONTROL_PAYLOAD, MAX_FRAME_PAYLOAD } from '../../../src/wire/mux/limits.js';
import { BurrowError } from '../../../src/core/errors.js';
import { joinDataPieces, splitAt } from '../../helpers/chunks.js';

const streamTypes: FrameTypeCode[] = [FrameType.DATA, FrameType.OPEN, FrameType.RESET];

describe('frames', () => {
  test('round-trips any sequence of frames split at any points', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            type: fc.constantFrom(...streamTypes),
            streamId: fc.integer({ min: 1, max: 0xffffffff }),
            payload: fc.uint8Array({ maxLength: 3000 }),
          }),
          { maxLength: 20 },
        ),
        fc.array(fc.nat(), { maxLength: 30 }),
        (frames, cuts) => {
          const wire = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.streamId, f.payload)));
          const dec = new FrameDecoder();
          const got = joinDataPieces(
            splitAt(wire, cuts).flatMap((c) => dec.push(c)),
            frames,
          );
          assert.equal(got.length, frames.length);
          got.forEach((g, i) => {
            assert.equal(g.type, frames[i]!.type);
            assert.equal(g.streamId, frames[i]!.streamId);
            assert.deepEqual(new Uint8Array(g.payload), frames[i]!.payload);
          });
          assert.equal(dec.buffered, 0);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('byte-by-byte delivery works', () => {
    const wire = Buffer.concat([
      encodeJsonFrame(FrameType.HELLO, 0, { v: 1 }),
      encodeWindow(7, 12345),
      encodeFrame(FrameType.END, 9),
    ]);
    const dec = new FrameDecoder();
    const frames = [];
    for (const b of wire) frames.push(...dec.push(Buffer.from([b])));
    assert.deepEqual(
      frames.map((f) => [f.type, f.streamId]),
      [
        [FrameType.HELLO, 0],
        [FrameType.WINDOW, 7],
        [FrameType.END, 9],
      ],
    );
    assert.deepEqual(decodeJson(frames[0]!), { v: 1 });
  });

  test('payloads are views of the chunks they arrived in, also when the header straddles chunks', () => {
    const payload = Buffer.alloc(64 * 1024, 3);
    const wire = encodeFrame(FrameType.DATA, 5, payload);
    const first = Buffer.from(wire.subarray(0, 4));
    const second = Buffer.from(wire.subarray(4));
    const dec = new FrameDecoder();
    assert.deepEqual(dec.push(first), []);
    const [frame] = dec.push(second);
    assert.equal(frame!.streamId, 5);
    assert.deepEqual(frame!.payload, payload);
    assert.equal(frame!.payload.buffer, second.buffer, 'not copied');
    assert.equal(dec.buffered, 0);
    // a header on its own, then the payload as the next chunk (how a large DATA frame arrives)
    const header = wire.subarray(0, FRAME_HEADER_SIZE);
    const body = Buffer.from(payload);
    assert.deepEqual(dec.push(header), []);
    assert.equal(dec.push(body)[0]!.payload, body);
  });

  test('an oversized length is refused from the header, before the payload is buffered', () => {
    const header = Buffer.alloc(FRAME_HEADER_SIZE);
    header[0] = FrameType.DATA;
    header.writeUInt32BE(1, 2);
    header.writeUInt32BE(MAX_FRAME_PAYLOAD + 1, 6);
    assert.throws(
      () => new FrameDecoder().push(header),
      (e: BurrowError) => e.code === 'BURROW_ERR_FRAME_TOO_LARGE',
    );
    const ctl = Buffer.from(header);
    ctl[0] = FrameType.OPEN;
    ctl.writeUInt32BE(MAX_CONTROL_PAYLOAD + 1, 6);
    assert.throws(
      () => new FrameDecoder().push(ctl),
      (e: BurrowError) => e.code === 'BURROW_ERR_FRAME_TOO_LARGE',
    );
  });

  test('a JSON frame of any text decodes to the same value, its length the UTF-8 bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        const value = { type: 'request', path: text };
        const buf = encodeJsonFrame(FrameType.EVENT, 0, value);
        const bytes = Buffer.byteLength(JSON.stringify(value));
        assert.equal(buf.readUInt32BE(6), bytes);
        assert.equal(buf.length, FRAME_HEADER_SIZE + bytes);
        const [frame] = new FrameDecoder().push(buf);
        assert.deepEqual(decodeJson(frame!), value);
      }),
    );
    // at the limit in bytes, not in characters: 'é' is two
    const overhead = JSON.stringify({ x: '' }).length;
    assert.doesNotThrow(() =>
      encodeJsonFrame(FrameType.OPEN, 1, { x: 'é'.repeat((MAX_CONTROL_PAYLOAD - overhead) / 2) }),
    );
    assert.throws(
      () => encodeJsonFrame(FrameType.OPEN, 1, { x: 'é'.repeat((MAX_CONTROL_PAYLOAD - overhead) / 2 + 1) }),
      BurrowError,
    );
  });

  test('encoding refuses payloads above the limits', () => {
    assert.throws(() => encodeFrame(FrameType.DATA, 1, Buffer.alloc(MAX_FRAME_PAYLOAD + 1)), BurrowError);
    assert.throws(() => encodeJsonFrame(FrameType.OPEN, 1, { x: 'a'.repeat(MAX_CONTROL_PAYLOAD) }), BurrowError);
  });

  test('garbage never crashes the decoder: it returns frames or throws a BurrowError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          new FrameDecoder().push(Buffer.from(bytes));
        } catch (e) {
          assert.ok(e instanceof BurrowError, String(e));
          assert.ok(['BURROW_ERR_PROTOCOL', 'BURROW_ERR_FRAME_TOO_LARGE'].includes(e.code));
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('structural rules: unknown type, stream-0 rules, fixed sizes', () => {
    const bad = (type: number, streamId: number, payload: Buffer): void => {
      const h = Buffer.alloc(FRAME_HEADER_SIZE);
      h[0] = type;
      h.writeUInt32BE(streamId, 2);
      h.writeUInt32BE(payload.length, 6);
      assert.throws(
        () => new FrameDecoder().push(Buffer.concat([h, payload])),
        (e: BurrowError) => e.code === 'BURROW_ERR_PROTOCOL',
      );
    };
    bad(0x7e, 1, Buffer.alloc(0)); // unknown type
    bad(FrameType.HELLO, 3, Buffer.from('{}')); // session frame on a stream
    bad(FrameType.DATA, 0, Buffer.from('x')); // stream frame on stream 0
    bad(FrameType.WINDOW, 1, Buffer.alloc(3)); // WINDOW must be 4 bytes
    bad(FrameType.PING, 0, Buffer.alloc(4)); // PING must be 8 bytes
    bad(FrameType.END, 1, Buffer.alloc(1)); // END carries nothing
  });

  test('decodeJson rejects non-objects', () => {
    for (const text of ['[1]', 'null', '"x"', '{bad']) {
      const f = new FrameDecoder().push(encodeFrame(FrameType.OPEN, 1, Buffer.from(text)))[0]!;
      assert.throws(() => decodeJson(f), BurrowError);
    }
  });
});
