import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bearerToken } from '../../src/core/bearer.js';

void test('bearerToken takes what follows the Bearer scheme, any case, spaces trimmed', () => {
  assert.equal(bearerToken('Bearer abc.def'), 'abc.def');
  assert.equal(bearerToken('bearer abc'), 'abc');
  assert.equal(bearerToken('BEARER \t abc  '), 'abc');
  assert.equal(bearerToken('  Bearer abc'), 'abc');
  assert.equal(bearerToken('Bearer a b'), 'a b');
});

void test('bearerToken is undefined for no header, another scheme, a bare scheme or a header list', () => {
  assert.equal(bearerToken(undefined), undefined);
  assert.equal(bearerToken(''), undefined);
  assert.equal(bearerToken('Basic dXNlcjpwYXNz'), undefined);
  assert.equal(bearerToken('Bearer'), undefined);
  assert.equal(bearerToken('Bearer   '), undefined);
  assert.equal(bearerToken('Bearerabc'), undefined);
  assert.equal(bearerToken(['Bearer abc']), undefined);
});
