/** One stream counter for every byte-stream tunnel: open now, ever opened, bytes both ways (open ones included), metrics. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createMetrics } from '../../src/server/metrics.js';
import { StreamStats } from '../../src/server/stream-stats.js';

class FakeStream extends EventEmitter {
  bytesWritten = 0;
  bytesRead = 0;
}

void test('StreamStats counts open and closed streams, bytes both ways, requests, and the stream/bytes metrics', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const stats = new StreamStats<FakeStream>(metrics, 'test');
  const a = new FakeStream();
  const b = new FakeStream();
  stats.track(a);
  stats.track(b);
  a.bytesWritten = 100;
  a.bytesRead = 7;
  b.bytesWritten = 5;
  stats.requestDone();
  assert.deepEqual(stats.snapshot(3), {
    openStreams: 2,
    totalStreams: 2,
    bytesIn: 105,
    bytesOut: 7,
    requests: 1,
    connectedSockets: 3,
  });
  a.emit('close');
  a.bytesWritten = 999; // after close a stream no longer counts live
  const after = stats.snapshot(0);
  assert.equal(after.openStreams, 1);
  assert.equal(after.totalStreams, 2);
  assert.equal(after.bytesIn, 105);
  // the process-wide count /health reads, across tunnels (a second tunnel's stream)
  const other = new StreamStats<FakeStream>(metrics, 'other');
  const c = new FakeStream();
  other.track(c);
  assert.equal(metrics.openStreams, 2);
  c.emit('close');
  assert.equal(metrics.openStreams, 1);
  const text = await metrics.registry.metrics();
  assert.match(text, /burrow_streams\{protocol="test"\} 1/);
  assert.match(text, /burrow_bytes_total\{direction="in",protocol="test"\} 100/);
});
