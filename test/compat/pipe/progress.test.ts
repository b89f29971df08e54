import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { startPipe, open, fetchText } from './helpers.js';
import { FakeClock } from '../../helpers/clock.js';
import { waitUntil } from '../../helpers/wait.js';

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Opens an SSE stream and parses events as they come. */
function sse(url: string, headers: Record<string, string> = { accept: 'text/event-stream' }) {
  const events: SseEvent[] = [];
  let buf = '';
  let ended = false;
  let res: IncomingMessage | undefined;
  const req = request(url, { headers, agent: false });
  const response = new Promise<IncomingMessage>((resolve) =>
    req.on('response', (r) => {
      res = r;
      r.setEncoding('utf8');
      r.on('data', (c: string) => {
        buf += c;
        let i: number;
        while ((i = buf.indexOf('\n\n')) !== -1) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (ev && data) events.push({ event: ev, data: JSON.parse(data) as Record<string, unknown> });
        }
      });
      r.on('end', () => (ended = true));
      r.on('close', () => (ended = true));
      resolve(r);
    }),
  );
  req.on('error', () => {});
  req.end();
  return { events, response, isEnded: () => ended, close: () => (res ? res.destroy() : req.destroy()) };
}

void describe('pipe: ?progress spectators', () => {
  void test('SSE sequence idle → waiting → streaming → progress → done, without a receiver slot', async () => {
    const clock = new FakeClock();
    const p = await startPipe({ clock });
    try {
      const spec = sse(`${p.url}/watched?progress=1`);
      const res = await spec.response;
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'text/event-stream');
      assert.equal(res.headers['x-accel-buffering'], 'no');
      assert.equal(res.headers['cache-control'], 'no-cache, no-transform');
      await waitUntil(() => spec.events.length === 1, { what: 'first event at once' });
      assert.equal(spec.events[0]!.event, 'state');
      assert.equal(spec.events[0]!.data.state, 'idle');
      assert.equal(p.handler.stats().pending, 0, 'a spectator takes no slot');
      assert.equal(p.handler.stats().spectators, 1);

      const s = open(`${p.url}/watched`, { method: 'PUT', keepOpen: true, headers: { 'content-length': '50000' } });
      await s.response;
      await waitUntil(() => spec.events.length === 2);
      assert.deepEqual(
        [spec.events[1]!.data.state, spec.events[1]!.data.hasSender, spec.events[1]!.data.activeReceivers],
        ['waiting', true, 0],
      );
      const r = open(`${p.url}/watched`);
      await waitUntil(() => spec.events.some((e) => e.data.state === 'streaming'), { what: 'streaming state' });
      const streaming = spec.events.find((e) => e.data.state === 'streaming')!;
      assert.equal(streaming.data.totalBytes, 50000);
      assert.equal(streaming.data.activeReceivers, 1);
      s.req.write(Buffer.alloc(20000, 7));
      await waitUntil(() => p.handler.stats().bytesTransferred === 20000);
      clock.advance(250);
      await waitUntil(() => spec.events.some((e) => e.event === 'progress'), { what: 'progress event' });
      const progress = spec.events.find((e) => e.event === 'progress')!;
      assert.equal(progress.data.bytesTransferred, 20000);
      assert.equal(progress.data.totalBytes, 50000);
      assert.equal(progress.data.receivers, 1);
      s.req.end(Buffer.alloc(30000, 7));
      assert.equal((await r.reply).body.length, 50000);
      await waitUntil(() => spec.isEnded(), { what: 'the SSE stream to end after done' });
      const done = spec.events[spec.events.length - 1]!;
      assert.equal(done.event, 'done');
      assert.equal(done.data.state, 'complete');
      assert.equal(done.data.bytesTransferred, 50000);
      assert.equal(typeof done.data.avgSpeed, 'number');
      const order = spec.events.map((e) => (e.event === 'state' ? String(e.data.state) : e.event));
      assert.deepEqual(order.slice(0, 3), ['idle', 'waiting', 'waiting']);
      assert.deepEqual(order.slice(-2), ['complete', 'done']);
      assert.ok(order.indexOf('streaming') < order.indexOf('progress'));

      // Linger: a late spectator sees the final state at once; after 30 s it sees idle.
      const late = sse(`${p.url}/watched?progress`);
      await waitUntil(() => late.isEnded());
      assert.deepEqual(
        late.events.map((e) => e.event),
        ['state', 'done'],
      );
      clock.advance(30_000);
      const later = sse(`${p.url}/watched?progress`, {});
      await waitUntil(() => later.events.length === 1);
      assert.equal(later.events[0]!.data.state, 'idle');
      later.close();
      await waitUntil(() => p.handler.stats().spectators === 0);
    } finally {
      await p.close();
    }
  });

  void test('a failed transfer ends spectators with done{state: failed}', async () => {
    const p = await startPipe();
    try {
      const spec = sse(`${p.url}/f?progress`);
      await waitUntil(() => spec.events.length === 1);
      const r = open(`${p.url}/f`);
      const s = request(`${p.url}/f`, { method: 'PUT', agent: false, headers: { 'content-length': 100 } });
      s.on('error', () => {});
      s.write('abc');
      await waitUntil(() => p.handler.stats().bytesTransferred === 3);
      s.destroy();
      await waitUntil(() => spec.isEnded());
      const done = spec.events[spec.events.length - 1]!;
      assert.equal(done.event, 'done');
      assert.equal(done.data.state, 'failed');
      assert.equal((await r.reply).complete, false);
    } finally {
      await p.close();
    }
  });

  void test('Accept: text/html → dashboard page; caps → 429; TTL closes a spectator', async () => {
    const clock = new FakeClock();
    const p = await startPipe({ clock, maxSpectatorsPerPath: 2, maxSpectatorGroups: 2 });
    try {
      const page = await fetchText(`${p.url}/api/v1/pipe/d%22x?progress`, { headers: { accept: 'text/html' } });
      assert.equal(page.status, 200);
      assert.match(page.text, /<title>burrow pipe &mdash; Transfer Progress<\/title>/);
      assert.match(page.text, /data-path="\/d%22x"/);
      assert.match(page.text, /data-src="\/api\/v1\/pipe\/d%22x\?progress=1"/);
      assert.match(String(page.headers['content-security-policy']), /connect-src 'self'/);
      const a = sse(`${p.url}/cap?progress`);
      const b = sse(`${p.url}/cap?progress`);
      await waitUntil(() => p.handler.stats().spectators === 2);
      const third = await fetchText(`${p.url}/cap?progress`);
      assert.equal(third.status, 429);
      assert.equal(third.text, '[ERROR] Too many spectators on this path (max 2).\n');
      const other = sse(`${p.url}/cap2?progress`);
      await waitUntil(() => p.handler.stats().spectators === 3);
      const groups = await fetchText(`${p.url}/cap3?progress`);
      assert.equal(groups.status, 429);
      assert.equal(groups.text, '[ERROR] Too many watched paths (max 2).\n');
      clock.advance(30 * 60_000);
      await waitUntil(() => a.isEnded() && b.isEnded() && other.isEnded(), { what: 'TTL to close spectators' });
      assert.equal(p.handler.stats().spectators, 0);
    } finally {
      await p.close();
    }
  });

  void test('?video: player page for browsers, raw stream for everything else', async () => {
    const p = await startPipe();
    try {
      const page = await fetchText(`${p.url}/cam?video`, { headers: { accept: 'text/html,application/xhtml+xml' } });
      assert.equal(page.status, 200);
      assert.match(page.text, /<title>burrow pipe &mdash; Video<\/title>/);
      assert.match(page.text, /MediaSource/);
      const policy = String(page.headers['content-security-policy']);
      assert.match(policy, /default-src 'none'/);
      assert.match(policy, /media-src blob:/);
      assert.match(policy, /script-src 'nonce-/);
      assert.equal(p.handler.stats().pending, 0, 'the page takes no receiver slot');
      const r = open(`${p.url}/cam?video`, { headers: { accept: '*/*' } });
      await waitUntil(() => p.handler.stats().pending === 1);
      await fetchText(`${p.url}/cam`, { method: 'PUT', body: 'frames' });
      assert.equal((await r.reply).text, 'frames');
    } finally {
      await p.close();
    }
  });
});
