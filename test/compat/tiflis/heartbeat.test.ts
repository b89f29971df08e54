import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LivenessWatcher } from '../../../src/core/liveness.js';

void test('LivenessWatcher drops peers silent for silenceMs and pings the others (fake clock)', () => {
  let now = 0;
  const dropped: string[] = [];
  const pinged: string[] = [];
  const w = new LivenessWatcher<string>({
    intervalMs: 5_000,
    silenceMs: 15_000,
    onSilent: (p) => dropped.push(p),
    onTick: (p) => pinged.push(p),
    now: () => now,
  });
  w.seen('quiet');
  w.seen('chatty');
  now = 10_000;
  w.seen('chatty');
  w.tick();
  assert.deepEqual(dropped, []);
  assert.deepEqual(pinged.sort(), ['chatty', 'quiet']);
  now = 14_999;
  w.tick();
  assert.deepEqual(dropped, [], 'not yet 15 s');
  now = 15_000;
  w.tick();
  assert.deepEqual(dropped, ['quiet'], 'silent for exactly 15 s: dropped');
  w.remove('chatty');
  now = 60_000;
  w.tick();
  assert.deepEqual(dropped, ['quiet'], 'removed peers are forgotten');
});
