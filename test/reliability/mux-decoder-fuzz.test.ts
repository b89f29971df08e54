/**
 * Property tests of the mux frame decoder (src/wire/mux/frames.ts, FrameDecoder), the first thing an
 * agent's (or a server's) bytes go through: for any bytes split at any points it either returns the
 * frames or throws a BurrowError that closes the WebSocket with 1002 (protocol) or 1009 (too large),
 * never anything else, and never holds more than one partial frame (≤ FRAME_HEADER_SIZE + the
 * payload limit). Lengths over the limit are refused from the header, before anything is allocated.
 * Runs are bounded (a few seconds in CI).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fc from 'fast-check';
import WebSocket from 'ws';
import { BurrowError } from '../../src/core/errors.js';
import { encodeFrame, FrameDecoder, FrameType, type Frame, type FrameTypeCode } from '../../src/wire/mux/frames.js';
import { FRAME_HEADER_SIZE, MAX_CONTROL_PAYLOAD, MAX_FRAME_PAYLOAD } from '../../src/wire/mux/limits.js';
import type { BurrowServer } from '../../src/app/server.js';
import { joinDataPieces, splitAt } from '../helpers/chunks.js';
import { startServer } from '../helpers/harness.js';

const SESSION: FrameTypeCode[] = [
  FrameType.HELLO,
  FrameType.WELCOME,
  FrameType.REGISTER,
  FrameType.REGISTERED,
  FrameType.UNREGISTER,
  FrameType.EVENT,
  FrameType.GOAWAY,
];
const STREAM_CONTROL: FrameTypeCode[] = [FrameType.OPEN, FrameType.RESET];

interface Spec {
  type: FrameTypeCode;
  streamId: number;
  payload: Uint8Array;
}

const streamId = fc.integer({ min: 1, max: 0xffff_ffff });
/** Any valid frame: every type with the stream and payload size its rules allow. */
const validFrame: fc.Arbitrary<Spec> = fc.oneof(
  fc.record({
    type: fc.constantFrom(...SESSION),
    streamId: fc.constant(0),
    payload: fc.uint8Array({ maxLength: 300 }),
  }),
  fc.record({ type: fc.constantFrom(...STREAM_CONTROL), streamId, payload: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ type: fc.constant(FrameType.DATA), streamId, payload: fc.uint8Array({ maxLength: 9000 }) }),
  fc.record({ type: fc.constant(FrameType.END), streamId, payload: fc.constant(new Uint8Array(0)) }),
  fc.record({
    type: fc.constant(FrameType.WINDOW),
    streamId,
    payload: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  }),
  fc.record({
    type: fc.constantFrom(FrameType.PING, FrameType.PONG),
    streamId: fc.constant(0),
    payload: fc.uint8Array({ minLength: 8, maxLength: 8 }),
  }),
);
const cuts = fc.array(fc.nat(), { maxLength: 40 });

/** A 10-byte header with any type, stream and length (lengths biased to the interesting edges). */
const anyHeader = fc
  .record({
    type: fc.oneof(fc.constantFrom(...Object.values(FrameType)), fc.integer({ min: 0, max: 255 })),
    flags: fc.integer({ min: 0, max: 255 }),
    streamId: fc.oneof(fc.constant(0), streamId),
    length: fc.oneof(
      fc.integer({ min: 0, max: 16 }),
      fc.constantFrom(MAX_CONTROL_PAYLOAD, MAX_CONTROL_PAYLOAD + 1, MAX_FRAME_PAYLOAD, MAX_FRAME_PAYLOAD + 1),
      fc.integer({ min: 0, max: 0xffff_ffff }),
    ),
  })
  .map((h) => {
    const b = Buffer.alloc(FRAME_HEADER_SIZE);
    b[0] = h.type;
    b[1] = h.flags;
    b.writeUInt32BE(h.streamId, 2);
    b.writeUInt32BE(h.length, 6);
    return b;
  });

/** Garbage: random bytes, random headers with random tails, valid frames with bytes flipped. */
const garbage: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
  fc
    .array(fc.tuple(anyHeader, fc.uint8Array({ maxLength: 64 })), { minLength: 1, maxLength: 6 })
    .map((parts) => Buffer.concat(parts.flatMap(([h, tail]) => [h, Buffer.from(tail)]))),
  fc
    .tuple(
      fc.array(validFrame, { minLength: 1, maxLength: 6 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
    )
    .map(([frames, flips]) => {
      const wire = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.streamId, f.payload)));
      for (const [at, x] of flips) wire[at % wire.length]! ^= x;
      return wire;
    }),
);

/**
 * Counts what Buffer.alloc/allocUnsafe/allocUnsafeSlow are asked for while `fn` runs: the decoder's
 * allocations, measured from outside.
 */
function measuringAllocations<T>(fn: () => T): { result: T; largest: number } {
  const names = ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const;
  const target = Buffer as unknown as Record<(typeof names)[number], (size: number, ...rest: unknown[]) => Buffer>;
  const originals = names.map((n) => target[n]);
  let largest = 0;
  names.forEach((n, i) => {
    const original = originals[i]!;
    target[n] = (size, ...rest) => {
      largest = Math.max(largest, size);
      return original.call(Buffer, size, ...rest);
    };
  });
  try {
    return { result: fn(), largest };
  } finally {
    names.forEach((n, i) => (target[n] = originals[i]!));
  }
}

/** Push every chunk, checking after each one what the decoder holds; returns the frames or the error. */
function feed(
  dec: FrameDecoder,
  chunks: Buffer[],
  maxPayload = MAX_FRAME_PAYLOAD,
): { frames: Frame[]; error: BurrowError | undefined } {
  const frames: Frame[] = [];
  for (const c of chunks) {
    const before = dec.buffered;
    let out: Frame[];
    try {
      const m = measuringAllocations(() => dec.push(c));
      out = m.result;
      assert.ok(m.largest <= FRAME_HEADER_SIZE + maxPayload, `allocated ${m.largest} bytes`);
    } catch (err) {
      assert.ok(err instanceof BurrowError, `threw a ${String(err)}`);
      assert.ok(
        (err.code === 'BURROW_ERR_PROTOCOL' && err.wsClose === 1002) ||
          (err.code === 'BURROW_ERR_FRAME_TOO_LARGE' && err.wsClose === 1009),
        `${err.code} closes with ${err.wsClose}`,
      );
      // a failed decoder stays failed: the session closes, nothing further is decoded
      assert.throws(
        () => dec.push(Buffer.from([0])),
        (e) => e === err,
      );
      return { frames, error: err };
    }
    frames.push(...out);
    // one partial frame at most, in at most header + limit bytes, and no more than twice what arrived
    assert.ok(dec.buffered < FRAME_HEADER_SIZE + maxPayload, `holds ${dec.buffered} bytes`);
    assert.ok(dec.buffered <= before + c.length);
    assert.ok(dec.retained <= FRAME_HEADER_SIZE + maxPayload, `retains ${dec.retained} bytes`);
    assert.ok(dec.retained <= FRAME_HEADER_SIZE + Math.max(4096, 2 * dec.buffered), `retains ${dec.retained}`);
  }
  return { frames, error: undefined };
}

function sameFrames(pieces: Frame[], want: Spec[]): void {
  const got = joinDataPieces(pieces, want);
  assert.equal(got.length, want.length);
  got.forEach((g, i) => {
    assert.equal(g.type, want[i]!.type);
    assert.equal(g.streamId, want[i]!.streamId);
    assert.deepEqual(new Uint8Array(g.payload), want[i]!.payload);
  });
}

describe('mux frame decoder under any split and any bytes', () => {
  test('valid frame sequences split at arbitrary points decode to the same frames', () => {
    fc.assert(
      fc.property(fc.array(validFrame, { maxLength: 12 }), cuts, (specs, at) => {
        const wire = Buffer.concat(specs.map((f) => encodeFrame(f.type, f.streamId, f.payload)));
        const dec = new FrameDecoder();
        const { frames, error } = feed(dec, splitAt(wire, at));
        assert.equal(error, undefined);
        sameFrames(frames, specs);
        assert.equal(dec.buffered, 0);
      }),
      { numRuns: 300 },
    );
  });

  test('garbage split anywhere: frames or a 1002/1009 BurrowError, never another throw, never over the bound', () => {
    fc.assert(
      fc.property(garbage, cuts, (bytes, at) => {
        feed(new FrameDecoder(), splitAt(bytes, at));
      }),
      { numRuns: 1500 },
    );
  });

  test('valid frames then garbage: what is decoded is a prefix of what was sent', () => {
    fc.assert(
      fc.property(fc.array(validFrame, { maxLength: 6 }), garbage, cuts, (specs, junk, at) => {
        const wire = Buffer.concat([...specs.map((f) => encodeFrame(f.type, f.streamId, f.payload)), junk]);
        const { frames: pieces } = feed(new FrameDecoder(), splitAt(wire, at));
        const frames = joinDataPieces(pieces, specs).slice(0, specs.length);
        // DATA leaves in pieces: the last frame may be a DATA frame cut short where the garbage threw
        const last = frames.length - 1;
        const cut = last >= 0 && frames[last]!.type === FrameType.DATA ? frames[last]! : undefined;
        sameFrames(cut ? frames.slice(0, last) : frames, specs.slice(0, cut ? last : frames.length));
        if (cut) {
          const want = specs[last]!;
          assert.equal(cut.streamId, want.streamId);
          assert.ok(cut.payload.length <= want.payload.length);
          assert.deepEqual(new Uint8Array(cut.payload), want.payload.subarray(0, cut.payload.length));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('an oversized declared length is refused from the header alone, before any allocation', () => {
    const oversized = fc.oneof(
      fc.record({
        type: fc.constantFrom(FrameType.DATA, FrameType.WINDOW, FrameType.END),
        streamId,
        length: fc.integer({ min: MAX_FRAME_PAYLOAD + 1, max: 0xffff_ffff }),
      }),
      fc.record({
        type: fc.constantFrom(...STREAM_CONTROL),
        streamId,
        length: fc.integer({ min: MAX_CONTROL_PAYLOAD + 1, max: 0xffff_ffff }),
      }),
      fc.record({
        type: fc.constantFrom(...SESSION),
        streamId: fc.constant(0),
        length: fc.integer({ min: MAX_CONTROL_PAYLOAD + 1, max: 0xffff_ffff }),
      }),
    );
    fc.assert(
      fc.property(oversized, fc.array(validFrame, { maxLength: 4 }), cuts, (h, specs, at) => {
        const header = Buffer.alloc(FRAME_HEADER_SIZE);
        header[0] = h.type;
        header.writeUInt32BE(h.streamId, 2);
        header.writeUInt32BE(h.length, 6);
        const prefix = Buffer.concat(specs.map((f) => encodeFrame(f.type, f.streamId, f.payload)));
        const dec = new FrameDecoder();
        // only the header is sent (split anywhere): the refusal needs nothing more
        const { frames, error } = feed(dec, splitAt(Buffer.concat([prefix, header]), at));
        assert.ok(error, 'refused');
        assert.ok(['BURROW_ERR_FRAME_TOO_LARGE', 'BURROW_ERR_PROTOCOL'].includes(error.code), error.code);
        if (h.type === FrameType.DATA) assert.equal(error.wsClose, 1009);
        assert.ok(joinDataPieces(frames, specs).length <= specs.length);
        assert.equal(dec.retained, FRAME_HEADER_SIZE, 'no assembly buffer was allocated');
      }),
      { numRuns: 300 },
    );
  });

  test('a smaller payload limit is held to the same bounds', () => {
    const maxPayload = 2048;
    fc.assert(
      fc.property(
        fc.oneof(
          garbage,
          fc.uint8Array({ minLength: 3000, maxLength: 5000 }).map((a) => Buffer.from(a)),
        ),
        cuts,
        (bytes, at) => {
          // a DATA header announcing up to 4 KiB, then the bytes: below or above this decoder's limit
          const header = encodeFrame(FrameType.DATA, 1).subarray(0, FRAME_HEADER_SIZE);
          const h = Buffer.from(header);
          h.writeUInt32BE(bytes.length % 4096, 6);
          feed(new FrameDecoder({ maxPayload }), splitAt(Buffer.concat([h, bytes]), at), maxPayload);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('regression: a frame trickled in 1-byte chunks holds one assembly buffer, not an object per chunk', () => {
    // Before the fix the decoder kept every chunk until the frame was whole: a 1 MiB DATA frame sent
    // a byte at a time held a million Buffer objects (~110 MB of heap for 1 MiB of payload). A
    // control frame is still assembled (in one buffer); DATA now leaves byte by byte, holding nothing.
    const json = { x: 'y'.repeat(MAX_CONTROL_PAYLOAD - 100) };
    const wire = encodeFrame(FrameType.OPEN, 3, Buffer.from(JSON.stringify(json)));
    const dec = new FrameDecoder();
    let frames: Frame[] = [];
    for (let i = 0; i < wire.length; i++) {
      frames = dec.push(wire.subarray(i, i + 1));
      if (i < wire.length - 1) {
        assert.equal(frames.length, 0);
        assert.ok(dec.retained <= FRAME_HEADER_SIZE + Math.max(4096, 2 * dec.buffered));
      }
    }
    assert.equal(frames.length, 1);
    assert.deepEqual(JSON.parse(frames[0]!.payload.toString()), json);
    assert.equal(dec.buffered, 0);
    assert.equal(dec.retained, FRAME_HEADER_SIZE);
  });

  test('regression (bulk copy): a DATA frame split across chunks leaves in pieces, views of the chunks, nothing held', () => {
    // Assembling split DATA frames copied every byte of a bulk transfer once more (bench/http-bulk.ts).
    const payload = Buffer.alloc(256 * 1024, 7);
    const wire = encodeFrame(FrameType.DATA, 3, payload);
    const dec = new FrameDecoder();
    const pieces: Frame[] = [];
    for (const chunk of splitAt(Buffer.from(wire), [5, 40_000, 100_000, 200_000])) {
      const out = dec.push(chunk);
      for (const f of out) {
        assert.equal(f.type, FrameType.DATA);
        assert.equal(f.streamId, 3);
        assert.equal(f.payload.buffer, chunk.buffer, 'a view of the chunk, not a copy');
      }
      pieces.push(...out);
      assert.equal(dec.retained, FRAME_HEADER_SIZE, 'no assembly buffer');
    }
    assert.ok(Buffer.concat(pieces.map((f) => f.payload)).equals(payload));
    assert.equal(dec.buffered, 0);
  });
});

describe('the server closes the agent connection with the code the decoder gives', () => {
  let server: BurrowServer;
  let port: number;
  before(async () => {
    ({ server, port } = await startServer());
  });
  after(() => server.close());

  test('random refused bytes in one WebSocket message close it with the decoder error code', async () => {
    await fc.assert(
      fc.asyncProperty(
        garbage.filter((b) => {
          try {
            new FrameDecoder().push(b);
            return false;
          } catch {
            return true;
          }
        }),
        async (bytes) => {
          let want: number | undefined;
          try {
            new FrameDecoder().push(bytes);
          } catch (err) {
            want = (err as BurrowError).wsClose;
          }
          const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/agent`);
          await once(ws, 'open');
          ws.send(bytes);
          const [code] = (await once(ws, 'close')) as [number];
          assert.equal(code, want);
        },
      ),
      { numRuns: 25 },
    );
  });
});
