/** The issuance bound (ACME_MAX_ISSUANCES_PER_HOUR): a sliding hour, on an injected clock. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { IssuanceBudget } from '../../../src/server/tls/budget.js';
import { FakeClock } from '../../helpers/clock.js';

void test('at most perHour issuances in any sliding hour; a slot frees an hour after it was taken', () => {
  const clock = new FakeClock();
  const budget = new IssuanceBudget(3, clock.now);
  assert.equal(budget.take(), true);
  clock.advance(10 * 60_000);
  assert.equal(budget.take(), true);
  assert.equal(budget.take(), true);
  assert.equal(budget.take(), false, 'the fourth within the hour is refused');
  clock.advance(50 * 60_000 - 1);
  assert.equal(budget.take(), false, 'one ms before the first slot frees');
  clock.advance(1);
  assert.equal(budget.take(), true, 'the first slot is free again');
  assert.equal(budget.take(), false);
});
