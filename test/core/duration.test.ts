import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_DURATION_MS, parseDuration } from '../../src/core/duration.js';
import { isBurrowError } from '../../src/core/errors.js';

void test('parseDuration reads the CLI spellings: a bare number is seconds, ms, decimals', () => {
  assert.equal(parseDuration('30'), 30_000);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('0.0004s'), 0);
  assert.equal(parseDuration(' 2 S '), 2_000);
});

void test('parseDuration reads the token-lifetime spellings: d, w, y and never', () => {
  assert.equal(parseDuration('30d'), 30 * 86_400_000);
  assert.equal(parseDuration('2w'), 14 * 86_400_000);
  assert.equal(parseDuration('1Y'), 365 * 86_400_000);
  assert.equal(parseDuration('100y'), MAX_DURATION_MS);
  assert.equal(parseDuration('never'), null);
  assert.equal(parseDuration('NONE'), null);
});

void test('parseDuration refuses anything else with BAD_REQUEST naming the label and the forms', () => {
  for (const bad of ['', 'd', '-1s', '1.5.5', '30 days', '5 min', '1e3', '101y', 'forever', '.5s']) {
    assert.throws(
      () => parseDuration(bad, '--grace'),
      (e) =>
        isBurrowError(e) && e.code === 'BURROW_ERR_BAD_REQUEST' && /--grace/.test(e.message) && /30d/.test(e.message),
      bad,
    );
  }
});
