import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailedAuthLimiter, RateLimitedError, clientKey } from '../../src/auth/failed-auth-limiter.js';
import { FAILED_AUTH_MAX_ATTEMPTS, FAILED_AUTH_WINDOW_MS } from '../../src/auth/limits.js';
import { FakeClock } from '../helpers/clock.js';

void describe('FailedAuthLimiter', () => {
  void it(`blocks an address after ${FAILED_AUTH_MAX_ATTEMPTS} failures in ${FAILED_AUTH_WINDOW_MS / 1000} s, with Retry-After seconds`, () => {
    const clock = new FakeClock();
    const limiter = new FailedAuthLimiter({ now: clock.now });
    for (let i = 0; i < FAILED_AUTH_MAX_ATTEMPTS - 1; i++) {
      limiter.check('203.0.113.5', 'agent');
      limiter.fail('203.0.113.5', 'agent');
      clock.advance(1000);
    }
    limiter.check('203.0.113.5', 'agent');
    limiter.fail('203.0.113.5', 'agent');
    assert.throws(
      () => limiter.check('203.0.113.5', 'agent'),
      (e) =>
        e instanceof RateLimitedError &&
        e.code === 'BURROW_ERR_RATE_LIMITED' &&
        e.status === 429 &&
        e.retryAfter === 51,
    );
    // Another address is not affected.
    limiter.check('203.0.113.6', 'agent');
    // When the oldest failure leaves the window, one more attempt is allowed.
    clock.advance(51_000);
    assert.equal(limiter.retryAfter('203.0.113.5', 'agent'), 0);
    limiter.fail('203.0.113.5', 'agent');
    assert.ok(limiter.retryAfter('203.0.113.5', 'agent') > 0);
  });

  void it('forgets failures after the window and on reset', () => {
    const clock = new FakeClock();
    const limiter = new FailedAuthLimiter({ maxAttempts: 2, windowMs: 10_000, now: clock.now });
    limiter.fail('a', 'agent');
    limiter.fail('a', 'agent');
    assert.equal(limiter.retryAfter('a', 'agent'), 10);
    clock.advance(10_000);
    assert.equal(limiter.retryAfter('a', 'agent'), 0);
    assert.equal(limiter.trackedAddresses, 0);
    limiter.fail('b', 'agent');
    limiter.fail('b', 'agent');
    limiter.reset('b', 'agent');
    assert.equal(limiter.retryAfter('b', 'agent'), 0);
  });

  void it('counts IPv6 per /64 and IPv4-mapped as IPv4', () => {
    assert.equal(clientKey('2001:db8:1:2:aaaa::1'), clientKey('2001:db8:1:2:bbbb::2'));
    assert.notEqual(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:3::1'));
    assert.equal(clientKey('::ffff:192.0.2.1'), '192.0.2.1');
    const limiter = new FailedAuthLimiter({ maxAttempts: 1 });
    limiter.fail('2001:db8::1', 'agent');
    assert.ok(limiter.retryAfter('2001:db8::ffff', 'agent') > 0);
    limiter.fail('::ffff:192.0.2.1', 'agent');
    assert.ok(limiter.retryAfter('192.0.2.1', 'agent') > 0);
  });

  void it('tracks a bounded number of addresses', () => {
    const limiter = new FailedAuthLimiter({ maxTracked: 100 });
    for (let i = 0; i < 1000; i++) limiter.fail(`10.0.${i >> 8}.${i & 255}`, 'agent');
    assert.equal(limiter.trackedAddresses, 100);
  });
});
