import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startPipe, open } from './helpers.js';
import { FakeClock } from '../../helpers/clock.js';
import { waitUntil } from '../../helpers/wait.js';

void describe('pipe: idle eviction (fake clock)', () => {
  void test('a receiver waiting 5 min for a sender gets 408', async () => {
    const clock = new FakeClock();
    const p = await startPipe({ clock });
    try {
      const r = open(`${p.url}/idle`);
      await waitUntil(() => p.handler.stats().pending === 1);
      clock.advance(5 * 60_000 - 1);
      assert.equal(p.handler.stats().pending, 1, 'not evicted before the timeout');
      clock.advance(1);
      const got = await r.reply;
      assert.equal(got.status, 408);
      assert.equal(got.text, '[ERROR] No sender connected within 300 s.\n');
      assert.equal(got.headers['content-type'], 'text/plain');
      assert.equal(p.handler.stats().pending, 0);
    } finally {
      await p.close();
    }
  });

  void test('a sender waiting for receivers gets an [ERROR] line and the path is freed; a join resets the timer', async () => {
    const clock = new FakeClock();
    const p = await startPipe({ clock });
    try {
      const s = open(`${p.url}/half?n=2`, { method: 'PUT', keepOpen: true });
      const sres = await s.response;
      let seen = '';
      sres.on('data', (c: Buffer) => (seen += c.toString()));
      clock.advance(4 * 60_000);
      const r = open(`${p.url}/half?n=2`);
      await waitUntil(() => seen.includes('A receiver connected (1/2)'), { what: 'the receiver to join' });
      clock.advance(4 * 60_000);
      assert.equal(p.handler.stats().pending, 1, 'the receiver joining restarted the timer');
      clock.advance(60_000);
      const got = await r.reply;
      assert.equal(got.status, 408);
      assert.equal(got.text, '[ERROR] Not all receivers connected within 300 s.\n');
      const log = (await s.reply).text;
      assert.match(log, /\[ERROR\] Not all receivers connected within 300 s\.\n$/);
      assert.equal(p.handler.stats().pending, 0);
    } finally {
      await p.close();
    }
  });

  void test('a streaming pipe idle for 5 min is torn down; receivers see a truncated body', async () => {
    const clock = new FakeClock();
    const p = await startPipe({ clock });
    try {
      const r = open(`${p.url}/stall`);
      const req = request(`${p.url}/stall`, { method: 'PUT', agent: false, headers: { 'content-length': 1000 } });
      req.on('error', () => {});
      let log = '';
      const senderDone = new Promise<void>((resolve) =>
        req.on('response', (res) => {
          res.setEncoding('utf8');
          res.on('data', (c: string) => (log += c));
          res.on('end', resolve);
          res.on('close', resolve);
        }),
      );
      req.write('x'.repeat(10));
      await waitUntil(() => p.handler.stats().bytesTransferred === 10, { what: 'first bytes' });
      clock.advance(2 * 60_000);
      req.write('y');
      await waitUntil(() => p.handler.stats().bytesTransferred === 11, { what: 'more bytes' });
      clock.advance(4 * 60_000);
      assert.equal(p.handler.stats().active, 1, 'activity restarted the idle clock');
      clock.advance(60_000);
      const got = await r.reply;
      assert.equal(got.complete, false);
      assert.equal(got.text, 'xxxxxxxxxxy');
      await senderDone;
      assert.match(log, /\[ERROR\] The transfer was idle for 300 s and was closed\.\n$/);
      assert.equal(p.handler.stats().active, 0);
    } finally {
      await p.close();
    }
  });
});

void describe('pipe: graceful close (fake clock)', () => {
  void test('close() lets a streaming transfer finish within closeGraceMs; waiting peers get 503 at once', async () => {
    const clock = new FakeClock();
    const p = await startPipe({ clock });
    try {
      const waiting = open(`${p.url}/alone`);
      const r = open(`${p.url}/finishing`);
      const req = request(`${p.url}/finishing`, { method: 'PUT', agent: false, headers: { 'content-length': 6 } });
      req.on('error', () => {});
      req.write('abc');
      await waitUntil(() => p.handler.stats().active === 1 && p.handler.stats().bytesTransferred === 3);
      let closed = false;
      const closing = p.handler.close().then(() => (closed = true));
      assert.equal((await waiting.reply).status, 503);
      clock.advance(9_000);
      assert.equal(closed, false, 'still within the grace period');
      req.end('def');
      const got = await r.reply;
      assert.equal(got.text, 'abcdef');
      assert.equal(got.complete, true);
      await closing;
    } finally {
      await p.close();
    }
  });

  void test('a transfer still running after closeGraceMs is cut', async () => {
    const clock = new FakeClock();
    const p = await startPipe({ clock });
    try {
      const r = open(`${p.url}/stuck`);
      const req = request(`${p.url}/stuck`, { method: 'PUT', agent: false, headers: { 'content-length': 100 } });
      req.on('error', () => {});
      req.write('abc');
      await waitUntil(() => p.handler.stats().bytesTransferred === 3);
      const closing = p.handler.close();
      clock.advance(10_000);
      await closing;
      const got = await r.reply;
      assert.equal(got.complete, false);
      assert.equal(p.handler.stats().active, 0);
    } finally {
      await p.close();
    }
  });
});
