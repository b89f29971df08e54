/** The one error table: edges add their own rows (registerErrors), and each code means one thing. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { BurrowError, ERROR_CODES, registerErrors, type ErrorCode } from '../../src/core/errors.js';
import '../../src/adapters/tunely/errors.js';
import '../../src/adapters/localtunnel/errors.js';

void test("an edge's rows join the one table and make BurrowErrors like the core's", () => {
  assert.equal(ERROR_CODES.BURROW_ERR_TUNELY_BODY_TOO_LARGE.status, 413);
  const e = new BurrowError('BURROW_ERR_LOCALTUNNEL_NO_PORT', 'all taken');
  assert.equal(e.status, ERROR_CODES.BURROW_ERR_LOCALTUNNEL_NO_PORT.status);
  assert.match(e.message, /all taken$/);
});

void test('a code registered again with another row, or without the BURROW_ERR_ prefix, is refused', () => {
  const row = { status: 418, wsClose: 1008, message: 'test row', fix: 'none' };
  const once = registerErrors({ BURROW_ERR_TEST_ONLY_ROW: row });
  assert.equal(registerErrors(once), once, 'the same row again is fine');
  assert.throws(() => registerErrors({ BURROW_ERR_TEST_ONLY_ROW: { ...row, status: 419 } }), /registered twice/);
  assert.throws(() => registerErrors({ NOT_OURS: row }), /must start with BURROW_ERR_/);
  assert.throws(
    () => registerErrors({ BURROW_ERR_NOT_FOUND_X: row, BURROW_ERR_TUNNEL_NOT_FOUND: row }),
    /registered twice/,
  );
  assert.equal(ERROR_CODES['BURROW_ERR_TEST_ONLY_ROW' as ErrorCode].status, 418);
  assert.equal(ERROR_CODES['BURROW_ERR_NOT_FOUND_X' as ErrorCode], undefined, 'a refused call adds nothing');
});
