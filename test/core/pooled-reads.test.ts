/**
 * core/pooled-reads: a TCP socket read into a few reused buffers, on real sockets. The first test
 * fails loudly if a Node version drops a piece it relies on.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import tls from 'node:tls';
import { Writable } from 'node:stream';
import {
  POOLED_READ_BUFFER_BYTES,
  POOLED_READ_FIRST_BYTES,
  POOLED_READ_KEEP_BUFFERS,
  POOLED_READ_MAX_BUFFERS,
  pipeSocketPooled,
  readIntoPool,
  userBufferSlots,
} from '../../src/core/pooled-reads.js';
import { waitUntil } from '../helpers/wait.js';
import { selfSignedCert } from '../helpers/tls.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const sha = (b: Buffer | Buffer[]): string => {
  const h = createHash('sha256');
  for (const x of Array.isArray(b) ? b : [b]) h.update(x);
  return h.digest('hex');
};

/** A connected pair: `accepted` (the server's end) and `dialled` (the client's). */
async function socketPair(): Promise<{ accepted: Socket; dialled: Socket; close(): void }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const acceptedP = once(server, 'connection') as Promise<[Socket]>;
  const dialled = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(dialled, 'connect');
  const [accepted] = await acceptedP;
  return {
    accepted,
    dialled,
    close: () => {
      accepted.destroy();
      dialled.destroy();
      server.close();
    },
  };
}

describe('pooled reads', () => {
  test('this Node has the onread slots on every socket (a new Node version that drops them fails here, not in a tunnel)', async () => {
    const p = await socketPair();
    try {
      assert.ok(userBufferSlots(p.accepted), 'accepted socket');
      assert.ok(userBufferSlots(p.dialled), 'connected socket');
    } finally {
      p.close();
    }
  });

  test('a large transfer arrives whole and in order, at most POOLED_READ_MAX_BUFFERS buffers out at once, none read into while held', async () => {
    const p = await socketPair();
    try {
      const data = randomBytes(8 * 1024 * 1024 + 123);
      const seen = new Set<ArrayBufferLike>();
      const got: Buffer[] = [];
      let held: { chunk: Buffer; sum: string; release: () => void }[] = [];
      let maxOut = 0;
      let overwritten = 0;
      const reads = readIntoPool(p.accepted, {
        onChunk(chunk, release) {
          seen.add(chunk.buffer);
          got.push(Buffer.from(chunk));
          held.push({ chunk, sum: sha(chunk), release });
          maxOut = Math.max(maxOut, held.length);
        },
      });
      assert.ok(reads);
      // release late, in batches, checking each held buffer still holds what was delivered in it
      const releaser = setInterval(() => {
        const batch = held;
        held = [];
        for (const h of batch) {
          if (sha(h.chunk) !== h.sum) overwritten++;
          h.release();
        }
      }, 2);
      const ended = once(p.accepted, 'end');
      p.dialled.end(data);
      await ended;
      clearInterval(releaser);
      assert.equal(overwritten, 0, 'a buffer was read into while the consumer still held it');
      assert.equal(sha(got), sha(data));
      assert.ok(maxOut <= POOLED_READ_MAX_BUFFERS, `${maxOut} buffers out at once`);
      assert.ok(got.length > seen.size, `${got.length} reads in ${seen.size} buffers: reused`);
    } finally {
      p.close();
    }
  });

  test('a consumer that releases each piece as it comes reads everything into a few buffers', async () => {
    const p = await socketPair();
    try {
      const data = randomBytes(4 * 1024 * 1024);
      const seen = new Set<ArrayBufferLike>();
      const h = createHash('sha256');
      let reads = 0;
      readIntoPool(p.dialled, {
        onChunk(chunk, release) {
          reads++;
          seen.add(chunk.buffer);
          h.update(chunk);
          release();
        },
      });
      const ended = once(p.dialled, 'end');
      p.accepted.end(data);
      await ended;
      assert.equal(h.digest('hex'), sha(data));
      // the first (small) buffer, then the large ones
      assert.ok(seen.size <= 2 + POOLED_READ_KEEP_BUFFERS, `${reads} reads in ${seen.size} buffers`);
    } finally {
      p.close();
    }
  });

  test('buffers start at POOLED_READ_FIRST_BYTES and grow to POOLED_READ_BUFFER_BYTES only once a read fills one', async () => {
    const p = await socketPair();
    try {
      const sizes: number[] = [];
      readIntoPool(p.dialled, {
        onChunk(chunk, release) {
          sizes.push(chunk.buffer.byteLength);
          release();
        },
      });
      // small exchanges, one at a time: every read fits the first size
      for (let i = 0; i < 5; i++) {
        const n = sizes.length;
        p.accepted.write(Buffer.alloc(1000, i));
        await waitUntil(() => sizes.length > n);
      }
      assert.ok(
        sizes.every((x) => x === POOLED_READ_FIRST_BYTES),
        `small reads: ${sizes.join(', ')}`,
      );
      const ended = once(p.dialled, 'end');
      p.accepted.end(Buffer.alloc(4 * POOLED_READ_BUFFER_BYTES, 1));
      await ended;
      assert.equal(sizes.at(-1), POOLED_READ_BUFFER_BYTES, `after a bulk write: ${sizes.slice(5).join(', ')}`);
    } finally {
      p.close();
    }
  });

  test('a consumer that holds every buffer pauses the reads at POOLED_READ_MAX_BUFFERS; releasing them reads on', async () => {
    const p = await socketPair();
    try {
      const total = (POOLED_READ_MAX_BUFFERS + 8) * POOLED_READ_BUFFER_BYTES;
      const held: (() => void)[] = [];
      let bytes = 0;
      readIntoPool(p.dialled, {
        onChunk(chunk, release) {
          bytes += chunk.length;
          held.push(release);
        },
      });
      p.accepted.end(Buffer.alloc(total, 5));
      await waitUntil(() => held.length >= POOLED_READ_MAX_BUFFERS - 1);
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(held.length <= POOLED_READ_MAX_BUFFERS, `${held.length} buffers out`);
      assert.ok(bytes < total, 'the reads paused');
      const ended = once(p.dialled, 'end');
      const releaser = setInterval(() => held.splice(0).forEach((r) => r()), 1);
      await ended;
      clearInterval(releaser);
      assert.equal(bytes, total);
    } finally {
      p.close();
    }
  });

  test('bytes the socket read before the switch come first', async () => {
    const p = await socketPair();
    try {
      p.accepted.write('early;');
      await waitUntil(() => p.dialled.readableLength > 0);
      const got: string[] = [];
      readIntoPool(p.dialled, { onChunk: (c, release) => (got.push(c.toString()), release()) });
      const ended = once(p.dialled, 'end');
      p.accepted.end('late');
      await ended;
      assert.equal(got.join(''), 'early;late');
    } finally {
      p.close();
    }
  });

  test('a TLS socket is left alone (undefined): it is read as usual', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pooled-reads-'));
    const files = selfSignedCert(dir, '127.0.0.1');
    const server = tls.createServer({ cert: readFileSync(files.cert), key: readFileSync(files.key) }, (s) =>
      s.end('over tls'),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const s = tls.connect({
      port: (server.address() as AddressInfo).port,
      host: '127.0.0.1',
      rejectUnauthorized: false,
    });
    try {
      await once(s, 'secureConnect');
      assert.equal(readIntoPool(s, { onChunk: () => {} }), undefined);
      assert.equal(pipeSocketPooled(s, { writeReleasing: () => true }), false);
      let text = '';
      for await (const c of s) text += String(c);
      assert.equal(text, 'over tls');
    } finally {
      s.destroy();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('pipeSocketPooled: a plain Writable is not piped (false), a ReleasingWritable gets every byte, its end and its backpressure', async () => {
    const p = await socketPair();
    try {
      assert.equal(pipeSocketPooled(p.dialled, new Writable({ write: (_c, _e, cb) => cb() })), false);
      const data = randomBytes(3 * 1024 * 1024);
      const got: Buffer[] = [];
      let pending: (() => void)[] = [];
      let ended = false;
      const sink = new Writable({
        highWaterMark: 64 * 1024,
        write(chunk: Buffer, _e, cb) {
          got.push(Buffer.from(chunk));
          setTimeout(cb, 1); // slow: the reads must wait for 'drain'
        },
        final(cb) {
          ended = true;
          cb();
        },
      });
      const to = Object.assign(sink, {
        writeReleasing(chunk: Buffer, release: () => void): boolean {
          pending.push(release);
          return sink.write(chunk);
        },
      });
      const releaser = setInterval(() => {
        const r = pending;
        pending = [];
        r.forEach((f) => f());
      }, 1);
      assert.equal(pipeSocketPooled(p.dialled, to), true);
      p.accepted.end(data);
      await once(sink, 'finish');
      clearInterval(releaser);
      assert.ok(ended);
      assert.equal(sha(got), sha(data));
    } finally {
      p.close();
    }
  });
});
