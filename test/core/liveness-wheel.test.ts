/**
 * The shared heartbeat wheel (issue 19 item 6): watchers without an injected timer share one
 * wheel per interval, driven here by node:test's fake setTimeout/setInterval and Date.
 */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { HEARTBEAT_WHEEL_SLOTS, LivenessWatcher } from '../../src/core/liveness.js';

const INTERVAL_MS = 10_000;
const SILENCE_MS = 30_000;

/** `count` watchers of one peer each, all started at the same moment on the default timer. */
function startWatchers(count: number, answers: (peer: number) => boolean) {
  const pings = new Map<number, number[]>();
  const dead = new Map<number, number>();
  const watchers = Array.from({ length: count }, (_, peer) => {
    const w: LivenessWatcher<number> = new LivenessWatcher<number>({
      intervalMs: INTERVAL_MS,
      silenceMs: SILENCE_MS,
      onSilent: (p) => dead.set(p, Date.now()),
      onTick: (p) => {
        pings.set(p, [...(pings.get(p) ?? []), Date.now()]);
        if (answers(p)) w.seen(p); // the peer's PONG
      },
    });
    w.seen(peer);
    w.start();
    return w;
  });
  return { pings, dead, stop: () => watchers.forEach((w) => w.stop()) };
}

/**
 * Move the fake clock forward 1 ms at a time: node:test's tick(ms) sets Date to the end of the
 * whole step before it runs the timers due in it.
 */
function advance(ms: number): void {
  for (let i = 0; i < ms; i++) mock.timers.tick(1);
}

/** How many pings went out at each instant (the fake clock only moves between timer callbacks). */
function burstSizes(pings: Map<number, number[]>): number[] {
  const at = new Map<number, number>();
  for (const times of pings.values()) for (const t of times) at.set(t, (at.get(t) ?? 0) + 1);
  return [...at.values()];
}

void test('regression (heartbeat bursts): 1000 watchers started at once are spread over the wheel; each is still pinged once per interval and a silent peer still dies in time', (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000_000 });
  t.after(() => mock.timers.reset());
  const start = Date.now();
  const N = 1000;
  const silent = (p: number): boolean => p % 100 === 7; // 10 peers never answer
  const { pings, dead, stop } = startWatchers(N, (p) => !silent(p));

  advance(3 * INTERVAL_MS);
  const bound = Math.ceil(N / HEARTBEAT_WHEEL_SLOTS) + 1;
  const bursts = burstSizes(pings);
  assert.ok(Math.max(...bursts) <= bound, `at most ${bound} pings at one instant, saw ${Math.max(...bursts)}`);
  for (let p = 0; p < N; p++) {
    const times = pings.get(p) ?? [];
    assert.equal(times.length, 3, `peer ${p} pinged once per interval in 3 intervals`);
    assert.ok(times[0]! - start > 0 && times[0]! - start <= INTERVAL_MS, `peer ${p}: first ping within one interval`);
    for (let i = 1; i < times.length; i++)
      assert.equal(times[i]! - times[i - 1]!, INTERVAL_MS, `peer ${p}: pings one interval apart`);
  }

  advance(INTERVAL_MS);
  for (let p = 0; p < N; p++) {
    if (!silent(p)) {
      assert.equal(dead.has(p), false, `peer ${p} answers and stays`);
      continue;
    }
    const at = dead.get(p);
    assert.ok(at !== undefined, `silent peer ${p} declared dead`);
    assert.ok(
      at - start >= SILENCE_MS && at - start <= SILENCE_MS + INTERVAL_MS,
      `peer ${p} dead after ${at - start} ms`,
    );
  }
  stop();
});

void test('a new watcher takes the emptiest slot; a stopped one leaves the wheel', (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 5_000_000 });
  t.after(() => mock.timers.reset());
  const slots = HEARTBEAT_WHEEL_SLOTS;
  const first = startWatchers(slots + slots / 2, () => true); // half the slots hold two watchers
  advance(INTERVAL_MS / 3);
  const second = startWatchers(slots / 2, () => true); // … and these fill the other half
  advance(2 * INTERVAL_MS);
  const all = new Map([...first.pings, ...[...second.pings].map(([p, v]) => [p + 10 * slots, v] as const)]);
  const lastRound = new Map([...all].map(([p, v]) => [p, [v.at(-1)!]]));
  const bursts = burstSizes(lastRound);
  assert.equal(bursts.length, slots, 'every slot ticks');
  assert.deepEqual(new Set(bursts), new Set([2]), 'two watchers in every slot');
  first.stop();
  second.stop();
  const total = (): number => [...all.values()].reduce((a, b) => a + b.length, 0);
  const before = total();
  advance(2 * INTERVAL_MS);
  assert.equal(total(), before, 'no ping after stop()');
});

void test('a lone watcher is pinged one interval after it starts, then every interval', (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 9_000_000 });
  t.after(() => mock.timers.reset());
  const start = Date.now();
  const { pings, stop } = startWatchers(1, () => true);
  advance(3 * INTERVAL_MS);
  assert.deepEqual(
    pings.get(0)!.map((at) => at - start),
    [INTERVAL_MS, 2 * INTERVAL_MS, 3 * INTERVAL_MS],
  );
  stop();
});
