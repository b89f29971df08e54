import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startPipe, type TestPipe } from './helpers.js';
import { receiver, sender, sha, source } from './streams.js';
import { waitUntil } from '../../helpers/wait.js';

void describe('pipe: fan-out', () => {
  let p: TestPipe;
  before(async () => {
    p = await startPipe();
  });
  after(async () => {
    await p.close();
  });

  void test('n=3: identical bytes to every receiver, either side first', async () => {
    const size = 8 * 1024 * 1024 + 123;
    const r1 = receiver(`${p.url}/fan?n=3`);
    const s = sender(`${p.url}/fan?n=3`, source(size), size);
    const r2 = receiver(`${p.url}/fan?n=3`);
    const r3 = receiver(`${p.url}/fan?n=3`, { slow: true });
    const got = await Promise.all([r1, r2, r3]);
    const want = sha(size);
    for (const g of got) {
      assert.equal(g.bytes, size);
      assert.equal(g.hash, want);
      assert.equal(g.complete, true);
    }
    const log = (await s).text;
    assert.match(log, /\[INFO\] Streaming to 3 receiver\(s\)\.\.\./);
    assert.match(log, /\[INFO\] Transfer complete\.\n$/);
  });

  void test('one receiver of three leaves mid-transfer: the other two complete, counted once', async () => {
    const size = 16 * 1024 * 1024;
    const rs = [
      receiver(`${p.url}/leave3?n=3`),
      receiver(`${p.url}/leave3?n=3`, { abortAfter: 1024 * 1024 }),
      receiver(`${p.url}/leave3?n=3`),
    ];
    const s = sender(`${p.url}/leave3?n=3`, source(size), size);
    const [a, b, c] = await Promise.all(rs);
    assert.equal(b!.complete, false);
    assert.equal(a!.bytes, size);
    assert.equal(c!.bytes, size);
    assert.equal(a!.complete && c!.complete, true);
    const log = (await s).text;
    assert.equal(log.match(/A receiver aborted/g)?.length, 1);
    assert.match(log, /Transfer complete\.\n$/);
    assert.equal(p.handler.stats().active, 0);
  });

  void test('all receivers leave: the sender gets an [ERROR] and the path is freed', async () => {
    const size = 64 * 1024 * 1024;
    const r = receiver(`${p.url}/allgone`, { abortAfter: 512 * 1024 });
    const s = sender(`${p.url}/allgone`, source(size), size);
    assert.equal((await r).complete, false);
    const log = (await s).text;
    assert.match(log, /A receiver aborted/);
    await waitUntil(() => p.handler.stats().active === 0, { what: 'the transfer to end' });
  });

  void test('the sender leaves mid-transfer: receivers see a truncated body, not a complete one', async () => {
    for (const withLength of [true, false]) {
      const path = `/cut-${withLength}`;
      const rs = [receiver(`${p.url}${path}?n=2`), receiver(`${p.url}${path}?n=2`)];
      const req = request(`${p.url}${path}?n=2`, {
        method: 'PUT',
        agent: false,
        headers: withLength ? { 'content-length': 10_000_000 } : {},
      });
      req.on('error', () => {});
      req.on('response', (res) => res.resume());
      req.write(Buffer.alloc(300_000, 1));
      await waitUntil(() => p.handler.stats().bytesTransferred > 0 && p.handler.stats().active === 1, {
        what: 'bytes to flow',
      });
      req.destroy();
      const got = await Promise.all(rs);
      for (const g of got) {
        assert.equal(g.complete, false, `receiver body must be truncated (content-length: ${withLength})`);
        assert.ok(g.bytes < 10_000_000);
      }
      await waitUntil(() => p.handler.stats().active === 0);
    }
  });
});

void describe('pipe: memory stays flat with a slow receiver', () => {
  void test('512 MiB to n=2 (one slow): RSS growth bounded', async () => {
    const p = await startPipe();
    try {
      const size = 512 * 1024 * 1024;
      global.gc?.();
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 20);
      const rs = [receiver(`${p.url}/big?n=2`), receiver(`${p.url}/big?n=2`, { slow: true })];
      const s = sender(`${p.url}/big?n=2`, source(size), size);
      const got = await Promise.all(rs);
      clearInterval(sampler);
      for (const g of got) assert.equal(g.bytes, size);
      assert.match((await s).text, /Transfer complete/);
      const growth = (peak - before) / 1024 / 1024;
      // Sender, receivers and server share this process: any whole-body buffering would show as 512+ MiB.
      assert.ok(growth < 96, `RSS grew by ${growth.toFixed(1)} MiB while 512 MiB flowed`);
    } finally {
      await p.close();
    }
  });
});
