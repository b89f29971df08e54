import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from '../../src/core/backoff.js';
import { RECONNECT_INITIAL_DELAY_MS, RECONNECT_JITTER, RECONNECT_MAX_DELAY_MS } from '../../src/core/limits.js';

const middle = (): number => 0.5;

void test('backoffDelay doubles from the initial delay per attempt up to the cap', () => {
  const o = { initialDelayMs: 100, maxDelayMs: 1_000, jitter: 0 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 10].map((a) => backoffDelay(a, o)),
    [100, 100, 200, 400, 800, 1_000, 1_000],
  );
});

void test('backoffDelay spreads by the jitter fraction around the base', () => {
  const o = { initialDelayMs: 1_000, maxDelayMs: 60_000, jitter: 0.3 };
  assert.equal(
    backoffDelay(1, o, () => 0),
    700,
  );
  assert.equal(backoffDelay(1, o, middle), 1_000);
  assert.equal(
    backoffDelay(1, o, () => 0.999_999),
    1_300,
  );
});

void test('backoffDelay defaults to the named reconnect limits', () => {
  assert.equal(backoffDelay(1, {}, middle), RECONNECT_INITIAL_DELAY_MS);
  assert.equal(backoffDelay(100, {}, middle), RECONNECT_MAX_DELAY_MS);
  assert.equal(
    backoffDelay(1, {}, () => 0),
    Math.round(RECONNECT_INITIAL_DELAY_MS * (1 - RECONNECT_JITTER)),
  );
});

void test('limrun-shaped schedules are backoffDelay without jitter, tries counted from 0', () => {
  const limrun = (tries: number): number => Math.min(1_000 * 2 ** tries, 30_000);
  for (let tries = 0; tries < 10; tries++) {
    assert.equal(backoffDelay(tries + 1, { initialDelayMs: 1_000, maxDelayMs: 30_000, jitter: 0 }), limrun(tries));
  }
});
