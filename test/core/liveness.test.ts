import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LivenessWatcher, type LivenessTimer } from '../../src/core/liveness.js';

/** A timer driven by hand: `fire()` runs one tick. */
function manualTimer(): LivenessTimer & { fire(): void; running: boolean; intervalMs: number } {
  let tick: (() => void) | undefined;
  return {
    running: false,
    intervalMs: 0,
    start(fn, intervalMs) {
      tick = fn;
      this.running = true;
      this.intervalMs = intervalMs;
      return 'handle';
    },
    stop(handle) {
      assert.equal(handle, 'handle');
      this.running = false;
    },
    fire() {
      tick?.();
    },
  };
}

void test('a peer silent for silenceMs or more is dropped once; live peers are pinged (fake clock)', () => {
  let now = 0;
  const silent: Array<[string, number]> = [];
  const pinged: string[] = [];
  let sweeps = 0;
  const timer = manualTimer();
  const w = new LivenessWatcher<string>({
    intervalMs: 5_000,
    silenceMs: 15_000,
    onSilent: (p, ms) => silent.push([p, ms]),
    onTick: (p) => pinged.push(p),
    onSweep: () => sweeps++,
    now: () => now,
    timer,
  });
  w.start();
  assert.equal(timer.intervalMs, 5_000);
  w.seen('quiet');
  w.seen('chatty');
  now = 14_999;
  w.seen('chatty');
  timer.fire();
  assert.deepEqual(silent, []);
  assert.deepEqual(pinged.sort(), ['chatty', 'quiet']);
  now = 15_000;
  timer.fire();
  assert.deepEqual(silent, [['quiet', 15_000]]);
  now = 40_000;
  timer.fire();
  assert.deepEqual(silent, [
    ['quiet', 15_000],
    ['chatty', 25_001],
  ]);
  assert.equal(sweeps, 3);
  w.stop();
  assert.equal(timer.running, false);
});

void test('removed peers are forgotten; start and stop are idempotent', () => {
  let now = 0;
  const silent: string[] = [];
  const timer = manualTimer();
  let starts = 0;
  const counting: LivenessTimer = {
    start: (fn, ms) => {
      starts++;
      return timer.start(fn, ms);
    },
    stop: (h) => timer.stop(h),
  };
  const w = new LivenessWatcher<string>({
    intervalMs: 10,
    silenceMs: 20,
    onSilent: (p) => silent.push(p),
    now: () => now,
    timer: counting,
  });
  w.start();
  w.start();
  assert.equal(starts, 1);
  w.seen('a');
  w.remove('a');
  now = 100;
  w.tick();
  assert.deepEqual(silent, []);
  w.stop();
  w.stop();
  assert.equal(timer.running, false);
});

void test('the default timer and clock are the global ones (a real tick)', async () => {
  const silent: string[] = [];
  const w = new LivenessWatcher<string>({ intervalMs: 5, silenceMs: 0, onSilent: (p) => silent.push(p) });
  w.seen('x');
  w.start();
  const started = Date.now();
  while (silent.length === 0 && Date.now() - started < 1_000) await new Promise((r) => setTimeout(r, 5));
  w.stop();
  assert.deepEqual(silent, ['x']);
});

void test('quietMs: only peers not heard from for quietMs are pinged; the dead-peer rule is unchanged (fake clock)', () => {
  let now = 0;
  const pinged: string[] = [];
  const silent: string[] = [];
  const w = new LivenessWatcher<string>({
    intervalMs: 10_000,
    silenceMs: 30_000,
    quietMs: 10_000,
    onSilent: (p) => silent.push(p),
    onTick: (p) => pinged.push(p),
    now: () => now,
    timer: manualTimer(),
  });
  w.seen('pings-us');
  w.seen('quiet');
  now = 9_000;
  w.seen('pings-us'); // its own PING arrived 1 s before our tick
  now = 10_000;
  w.tick();
  assert.deepEqual(pinged, ['quiet'], 'a peer heard from within quietMs is not pinged');
  now = 19_999;
  w.tick();
  assert.deepEqual(pinged, ['quiet', 'pings-us', 'quiet']);
  now = 30_000;
  w.tick();
  assert.deepEqual(silent, ['quiet']);
});
