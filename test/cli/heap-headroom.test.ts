/**
 * src/core/heap-headroom.ts: a server streaming bytes keeps enough room above its live heap that the
 * socket buffers V8 counts against it do not start a full collection every few MiB.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HEAP_HEADROOM_BYTES,
  HEAP_HEADROOM_MAX_LIVE_BYTES,
  headroomPercent,
  keepHeapHeadroom,
} from '../../src/core/heap-headroom.js';
import { NOT_BUILT, startCli } from './dist.js';

const MiB = 1024 * 1024;
const NO_CURL = spawnSync('curl', ['--version']).status === 0 ? undefined : 'curl is not installed';

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

/** Send `file` with curl through the server's pipe at /api/v1/pipe/<path> to a curl receiver (the pipe's users' way). */
async function throughPipe(base: string, path: string, file: string): Promise<void> {
  const url = `${base}/api/v1/pipe/${path}`;
  const curl = (args: string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      execFile('curl', ['-sSf', ...args], { timeout: 30_000 }, (err, _out, stderr) =>
        err ? reject(new Error(`curl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(),
      );
    });
  await Promise.all([curl([url, '-o', '/dev/null']), curl(['-T', file, url, '-o', '/dev/null'])]);
}

test(
  'regression (a full GC every 10 MiB streamed): 256 MiB through a server runs at most a few mark-compacts',
  { skip: NOT_BUILT ?? NO_CURL, timeout: 60_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-headroom-'));
    try {
      const count = join(dir, 'majors.txt');
      const preload = join(dir, 'preload.cjs');
      // counts the server's full (major) collections in a file, from the first one on
      writeFileSync(
        preload,
        `const { PerformanceObserver, constants } = require('node:perf_hooks'); let n = 0;
         new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail && e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) n++; require('node:fs').writeFileSync(${JSON.stringify(count)}, String(n)); }).observe({ entryTypes: ['gc'] });\n`,
      );
      const run = startCli(['server', '--port', '0', '--address', '127.0.0.1', '--db', 'sqlite:./b.db'], {
        cwd: dir,
        env: { NODE_OPTIONS: `--require ${preload}`, NODE_TEST_CONTEXT: undefined },
        boundMs: 55_000,
      });
      let m: RegExpMatchArray | null = null;
      for (let i = 0; !(m = /listening on [\d.]+:(\d+)/.exec(run.stderr())); i++) {
        if (i > 300) throw new Error(`not ready: ${run.stdout()}${run.stderr()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const base = `http://127.0.0.1:${m[1]}`;
      const majors = (): number => (existsSync(count) ? Number(readFileSync(count, 'utf8')) : 0);
      const file = join(dir, 'payload');
      const piece = Buffer.alloc(MiB, 7);
      writeFileSync(file, Buffer.concat(Array.from({ length: 256 }, () => piece)));
      // a first transfer warms the pipe's code; then count over the second
      // (a request answered by the server after a transfer: its event loop has run the observer's
      // callbacks for the collections before it, so the file holds their count)
      const settled = async (): Promise<number> => {
        await fetch(`${base}/healthz`).then((r) => r.arrayBuffer());
        return majors();
      };
      await throughPipe(base, 'warm', file);
      const before = await settled();
      await throughPipe(base, 'gc', file);
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
