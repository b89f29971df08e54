import { Writable } from 'node:stream';

/** Cut a buffer at the given points (taken modulo its length + 1): for split-anywhere property tests. */
export function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

/** What joinDataPieces needs of a decoded frame and of the frame it should equal. */
interface FrameLike {
  type: number;
  streamId: number;
  payload: Uint8Array;
}

/**
 * The mux decoder passes a DATA frame split across chunks on in pieces (one DATA frame per piece,
 * same stream): join the pieces back into the frames `want` lists, so a test can compare frame by
 * frame. Pieces are joined only up to the wanted frame's length; anything else is left as it came.
 */
export function joinDataPieces<F extends FrameLike>(got: F[], want: readonly FrameLike[]): F[] {
  const out: F[] = [];
  let i = 0;
  for (const w of want) {
    const first = got[i];
    if (!first) break;
    i++;
    if (first.type !== w.type || w.type !== 0x11 || first.payload.length >= w.payload.length) {
      out.push(first);
      continue;
    }
    const parts: Uint8Array[] = [first.payload];
    let n = first.payload.length;
    while (n < w.payload.length && got[i]?.type === 0x11 && got[i]!.streamId === first.streamId) {
      n += got[i]!.payload.length;
      parts.push(got[i++]!.payload);
    }
    out.push({ ...first, payload: Buffer.concat(parts) });
  }
  return [...out, ...got.slice(i)];
}

/**
 * A Writable that records, for each write it gets, how many chunks it held (1 for a write, n for a
 * writev): for tests that check what leaves in one write.
 */
export function countingWritable(): { sink: Writable; writes: number[] } {
  const writes: number[] = [];
  const sink = new Writable({
    write(_chunk: Buffer, _enc, cb) {
      writes.push(1);
      cb();
    },
    writev(chunks, cb) {
      writes.push(chunks.length);
      cb();
    },
  });
  return { sink, writes };
}
