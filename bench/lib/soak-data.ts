/**
 * Deterministic payloads for bench/soak: one 1 MiB pseudo-random pattern (AES-CTR over zeros with a
 * fixed key, the same in every process), and byte streams "N bytes of the pattern from offset S" that
 * the origin sends and the bench checks by SHA-256 without keeping them.
 */
import { createCipheriv, createHash } from 'node:crypto';

export const PATTERN_BYTES = 1 << 20;
const CHUNK_BYTES = 64 * 1024;

let pattern: Buffer | undefined;

/** The 1 MiB pattern (computed once per process). */
export function soakPattern(): Buffer {
  if (!pattern) {
    const c = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 3));
    pattern = Buffer.concat([c.update(Buffer.alloc(PATTERN_BYTES)), c.final()]);
  }
  return pattern;
}

/** The chunks (≤ 64 KiB, views into the pattern) of `bytes` bytes from offset `seed`. */
export function* patternChunks(bytes: number, seed: number): Generator<Buffer> {
  const p = soakPattern();
  let off = seed % PATTERN_BYTES;
  let left = bytes;
  while (left > 0) {
    const n = Math.min(left, CHUNK_BYTES, PATTERN_BYTES - off);
    yield p.subarray(off, off + n);
    left -= n;
    off = (off + n) % PATTERN_BYTES;
  }
}

/** The whole stream in one buffer (for small payloads: WebSocket messages, TCP echoes). */
export function patternBytes(bytes: number, seed: number): Buffer {
  return Buffer.concat([...patternChunks(bytes, seed)]);
}

const digests = new Map<string, string>();

/** SHA-256 (hex) of `bytes` bytes of the pattern from `seed`, cached. */
export function patternDigest(bytes: number, seed: number): string {
  const key = `${bytes}/${seed % PATTERN_BYTES}`;
  let d = digests.get(key);
  if (d === undefined) {
    const h = createHash('sha256');
    for (const c of patternChunks(bytes, seed)) h.update(c);
    d = h.digest('hex');
    digests.set(key, d);
  }
  return d;
}
