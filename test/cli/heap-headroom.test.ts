/**
 * src/core/heap-headroom.ts: a server streaming bytes keeps enough room above its live heap that the
 * socket buffers V8 counts against it do not start a full collection every few MiB.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HEAP_HEADROOM_BYTES,
  HEAP_HEADROOM_MAX_LIVE_BYTES,
  headroomPercent,
  keepHeapHeadroom,
} from '../../src/core/heap-headroom.js';
import { NOT_BUILT, gcCounter, startListening } from './dist.js';
import { NO_CURL, curlThroughPipe } from '../helpers/curl.js';

const MiB = 1024 * 1024;

test('headroom: the growing percent that keeps HEAP_HEADROOM_BYTES above the live heap, none for a large heap', () => {
  const live = 11 * MiB;
  const p = headroomPercent(live);
  assert.ok(live * (p / 100) >= HEAP_HEADROOM_BYTES, `${p} % of 11 MiB`);
  assert.ok(live * ((p - 1) / 100) < HEAP_HEADROOM_BYTES, `${p} % is the smallest that does`);
  assert.equal(headroomPercent(HEAP_HEADROOM_MAX_LIVE_BYTES), 0, "V8's own factor from the bound up");
  assert.equal(headroomPercent(0), 0);
});

test("headroom: an operator's own --heap-growing-percent is left alone", () => {
  assert.equal(keepHeapHeadroom(['--heap-growing-percent=50']), false);
  assert.equal(keepHeapHeadroom(['--heap_growing_percent', '50']), false);
});

test(
  'regression (a full GC every 10 MiB streamed): 256 MiB through a server runs at most a few mark-compacts',
  { skip: NOT_BUILT ?? NO_CURL, timeout: 60_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-headroom-'));
    try {
      const gc = gcCounter(dir);
      const { run, base } = await startListening(
        ['server', '--port', '0', '--address', '127.0.0.1', '--db', 'sqlite:./b.db'],
        { cwd: dir, env: { NODE_OPTIONS: `--require ${gc.preload}`, NODE_TEST_CONTEXT: undefined }, boundMs: 55_000 },
      );
      // chunked: an upload with a Content-Length is read into reused buffers (src/core/direct-body.ts)
      // and leaves little to collect; a chunked one goes through Node's parser, a fresh buffer per piece
      const chunked = true;
      const file = join(dir, 'payload');
      const piece = Buffer.alloc(MiB, 7);
      writeFileSync(file, Buffer.concat(Array.from({ length: 256 }, () => piece)));
      // a first transfer warms the pipe's code; then count over the second
      // (a request answered by the server after a transfer: its event loop has run the observer's
      // callbacks for the collections before it, so the file holds their count)
      const settled = async (): Promise<number> => {
        await fetch(`${base}/healthz`).then((r) => r.arrayBuffer());
        return gc.counts().major;
      };
      await curlThroughPipe(`${base}/api/v1/pipe/warm`, file, { chunked });
      const before = await settled();
      await curlThroughPipe(`${base}/api/v1/pipe/gc`, file, { chunked });
      const during = (await settled()) - before;
      run.child.kill('SIGTERM');
      await run.ended;
      // without the headroom: 10-12 mark-compacts per 256 MiB (one per ~10 MiB of socket buffers)
      assert.ok(during <= 3, `${during} mark-compacts while 256 MiB went through the pipe`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
