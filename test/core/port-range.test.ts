import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPortRange, parsePortRange } from '../../src/core/port-range.js';
import { BurrowError } from '../../src/core/errors.js';

void test('parsePortRange reads "from-to", spaces around the dash and outside allowed', () => {
  assert.deepEqual(parsePortRange('20000-20999'), { from: 20000, to: 20999 });
  assert.deepEqual(parsePortRange(' 1 - 65535 '), { from: 1, to: 65535 });
  assert.deepEqual(parsePortRange('4000-4000'), { from: 4000, to: 4000 });
});

void test('parsePortRange refuses other shapes and out-of-range ports with INVALID_CONFIG', () => {
  for (const bad of ['', '20000', '20000-', '-1-5', 'a-b', '0-10', '10-65536', '200-100', '1-2-3', '123456-123457']) {
    assert.throws(
      () => parsePortRange(bad),
      (err: unknown) => err instanceof BurrowError && err.code === 'BURROW_ERR_INVALID_CONFIG',
      bad,
    );
  }
});

void test('checkPortRange accepts integer ranges and refuses the rest', () => {
  assert.deepEqual(checkPortRange({ from: 40000, to: 40999 }), { from: 40000, to: 40999 });
  for (const bad of [
    { from: 0, to: 5 },
    { from: 5, to: 4 },
    { from: 1.5, to: 4 },
    { from: 1, to: 70000 },
    { from: Number.NaN, to: 4 },
  ]) {
    assert.throws(() => checkPortRange(bad), BurrowError);
  }
});
