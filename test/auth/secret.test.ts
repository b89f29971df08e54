import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBurrowError } from '../../src/core/errors.js';
import { parseDuration } from '../../src/auth/duration.js';
import {
  constantTimeEqual,
  constantTimeEqualHex,
  generateTokenSecret,
  isWellFormedToken,
  randomBase62,
  sha256Hex,
  visiblePrefix,
} from '../../src/auth/secret.js';
import { TOKEN_SECRET_LENGTH } from '../../src/auth/limits.js';

void describe('token secrets', () => {
  void it('look like brw_<base62 ≥ 32> (tun_ for tunely) and are unique', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = generateTokenSecret();
      assert.match(s, new RegExp(`^brw_[A-Za-z0-9]{${TOKEN_SECRET_LENGTH}}$`));
      assert.ok(isWellFormedToken(s));
      seen.add(s);
    }
    assert.equal(seen.size, 200);
    assert.match(generateTokenSecret('tunely'), /^tun_[A-Za-z0-9]{40}$/);
  });

  void it('use every base62 character', () => {
    const chars = new Set(randomBase62(20_000));
    assert.equal(chars.size, 62);
  });

  void it('reject malformed tokens before any lookup', () => {
    for (const bad of [
      '',
      'brw_',
      'brw_short',
      'abc_' + 'a'.repeat(40),
      'brw_' + 'a'.repeat(31),
      'brw_' + 'a'.repeat(40) + '!',
      'brw_' + 'a'.repeat(300),
    ]) {
      assert.equal(isWellFormedToken(bad), false, bad);
    }
  });

  void it('show a short prefix and store only a SHA-256', () => {
    const s = generateTokenSecret();
    assert.equal(visiblePrefix(s), s.slice(0, 12));
    assert.match(sha256Hex(s), /^[0-9a-f]{64}$/);
    assert.notEqual(sha256Hex(s), sha256Hex(s + 'x'));
  });
});

void describe('constant-time comparison', () => {
  void it('compares strings of any length', () => {
    assert.equal(constantTimeEqual('abc', 'abc'), true);
    assert.equal(constantTimeEqual('abc', 'abd'), false);
    assert.equal(constantTimeEqual('abc', 'abcd'), false);
    assert.equal(constantTimeEqual('', ''), true);
    assert.equal(constantTimeEqual('é', 'e'), false);
  });

  void it('compares hex digests, refusing different lengths and empties', () => {
    const h = sha256Hex('x');
    assert.equal(constantTimeEqualHex(h, h), true);
    assert.equal(constantTimeEqualHex(h, sha256Hex('y')), false);
    assert.equal(constantTimeEqualHex(h, h.slice(0, 10)), false);
    assert.equal(constantTimeEqualHex('', ''), false);
  });
});

void describe('parseDuration', () => {
  void it('reads s, m, h, d, w, y and never', () => {
    assert.equal(parseDuration('30d'), 30 * 86_400_000);
    assert.equal(parseDuration('12h'), 12 * 3_600_000);
    assert.equal(parseDuration('90m'), 90 * 60_000);
    assert.equal(parseDuration('45s'), 45_000);
    assert.equal(parseDuration('2w'), 14 * 86_400_000);
    assert.equal(parseDuration('1Y'), 365 * 86_400_000);
    assert.equal(parseDuration('never'), null);
    // The one grammar of core/duration.ts: a bare number means seconds, decimals and ms are fine.
    assert.equal(parseDuration('30'), 30_000);
    assert.equal(parseDuration('1.5d'), 36 * 3_600_000);
  });

  void it('refuses nonsense with a clear message', () => {
    for (const bad of ['', '0d', '0', '-1d', 'd', '30 days', '999999999y']) {
      assert.throws(
        () => parseDuration(bad),
        (e) => isBurrowError(e) && e.code === 'BURROW_ERR_BAD_REQUEST' && /30d/.test(e.message),
        bad,
      );
    }
  });
});
