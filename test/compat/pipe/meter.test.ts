/** The pipe meter's figures (issue 15): clock from the first byte, a moving-window rate and ETA, one summary line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateMeter, meterLine } from '../../../src/client/pipe/meter.js';
import { METER_WINDOW_MS } from '../../../src/client/pipe/limits.js';

const MiB = 1024 * 1024;

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

test('waiting before the first byte is not transfer time', () => {
  const c = clock();
  const m = new RateMeter(c.now);
  c.advance(60_000); // a minute waiting for the receiver
  m.add(MiB);
  for (let i = 0; i < 10; i++) {
    c.advance(100);
    m.add(MiB);
  }
  m.end();
  assert.equal(m.elapsedMs, 1000);
  assert.equal(m.summary('sent'), 'sent 11.0 MiB in 1.0 s (11.0 MiB/s)');
});

test('a sender that waits for begin() counts buffered bytes but starts the clock at begin', () => {
  const c = clock();
  const m = new RateMeter(c.now);
  m.add(4 * MiB, true); // filled socket buffers while waiting
  c.advance(30_000);
  assert.equal(m.started, false);
  m.begin();
  c.advance(2_000);
  m.add(4 * MiB, true);
  m.end();
  assert.equal(m.summary('sent'), 'sent 8.0 MiB in 2.0 s (4.0 MiB/s)');
});

test('rate and ETA follow the last window, not the average since the start', () => {
  const c = clock();
  const m = new RateMeter(c.now);
  // 10 s at 1 MiB/s, then 10 s at 10 MiB/s
  for (let i = 0; i < 100; i++) {
    c.advance(100);
    m.add(MiB / 10);
  }
  for (let i = 0; i < 100; i++) {
    c.advance(100);
    m.add(MiB);
  }
  assert.ok(METER_WINDOW_MS <= 10_000);
  assert.ok(Math.abs(m.rate - 10 * MiB) < 0.05 * 10 * MiB, `rate ${m.rate}`);
  const total = m.bytes + 50 * MiB;
  assert.ok(Math.abs(m.eta(total)! - 5) < 0.3, `eta ${m.eta(total)}`);
  assert.equal(m.eta(undefined), undefined);
  const line = meterLine('sent', m, total);
  assert.match(line, /^sent {2}\[#+-+\] +\d+% {2}110\.0 MiB \/ 160\.0 MiB {2}10\.0 MiB\/s {2}ETA 5s$/);
});

test('summary over a minute uses minutes; nothing moved is 0 B', () => {
  const c = clock();
  const m = new RateMeter(c.now);
  assert.equal(m.summary('received'), 'received 0 B in 0.0 s (0 B/s)');
  m.add(100 * MiB);
  c.advance(100_000);
  m.add(100 * MiB);
  m.end();
  assert.equal(m.summary('received'), 'received 200.0 MiB in 1m40s (2.0 MiB/s)');
});
