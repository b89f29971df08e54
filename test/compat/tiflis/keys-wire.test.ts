import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  createTiflisAdapter,
  registrationKeyProblem,
  validateRegistrationKey,
  hashKey,
  TIFLIS_ERROR_CODES,
} from '../../../src/adapters/tiflis/index.js';
import { digestsEqual, generateTunnelId, keyMatches } from '../../../src/adapters/tiflis/keys.js';
import { parseIncoming, withDeviceId } from '../../../src/adapters/tiflis/wire.js';
import { isBurrowError } from '../../../src/core/errors.js';

void describe('registration key rule (the CLI refuses to start without it)', () => {
  void test('keys shorter than 32 characters are refused with BURROW_ERR_INVALID_CONFIG', () => {
    assert.match(registrationKeyProblem(undefined) ?? '', /not set/);
    assert.match(registrationKeyProblem('x'.repeat(31)) ?? '', /31 characters long; at least 32/);
    assert.equal(registrationKeyProblem('x'.repeat(32)), undefined);
    assert.throws(
      () => validateRegistrationKey('short'),
      (e: unknown) => isBurrowError(e) && e.code === 'BURROW_ERR_INVALID_CONFIG',
    );
    assert.throws(
      () => createTiflisAdapter({ registrationKey: 'short' }),
      (e: unknown) => isBurrowError(e),
    );
  });

  void test('hashes compare in constant time and reject malformed digests', () => {
    assert.equal(keyMatches('k'.repeat(16), hashKey('k'.repeat(16))), true);
    assert.equal(keyMatches('k'.repeat(17), hashKey('k'.repeat(16))), false);
    assert.equal(digestsEqual('abc', hashKey('x')), false);
  });

  void test('generated tunnel ids are 12 URL-safe characters and differ', () => {
    const ids = new Set(Array.from({ length: 200 }, () => generateTunnelId()));
    assert.equal(ids.size, 200);
    for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{12}$/);
  });
});

void describe('tiflis wire parsing', () => {
  void test('classifies every message kind', () => {
    assert.equal(parseIncoming('{').kind, 'invalid');
    assert.deepEqual(parseIncoming('{"type":"ping","timestamp":5}'), { kind: 'ping', timestamp: 5 });
    assert.equal(parseIncoming('{"type":"ping"}').kind, 'invalid');
    assert.deepEqual(parseIncoming('{"type":"pong","timestamp":5}'), { kind: 'pong' });
    assert.deepEqual(parseIncoming('{"type":"forward.to_device","device_id":"d","payload":"{\\"a\\":1}"}'), {
      kind: 'forward',
      deviceId: 'd',
      data: '{"a":1}',
    });
    assert.deepEqual(parseIncoming('{"type":"forward.to_device","device_id":"d","payload":{"a":1}}'), {
      kind: 'forward',
      deviceId: 'd',
      data: '{"a":1}',
    });
    assert.equal(parseIncoming('{"type":"forward.to_device","payload":"x"}').kind, 'invalid');
    assert.deepEqual(parseIncoming('{"type":"x","a":[1]}'), { kind: 'relay', type: 'x', raw: { type: 'x', a: [1] } });
    const reg = parseIncoming(
      JSON.stringify({
        type: 'workstation.register',
        payload: {
          api_key: 'a'.repeat(32),
          name: 'n',
          auth_key: 'b'.repeat(16),
          reconnect: true,
          previous_tunnel_id: ' id1 ',
        },
      }),
    );
    assert.deepEqual(reg, {
      kind: 'register',
      payload: {
        api_key: 'a'.repeat(32),
        name: 'n',
        auth_key: 'b'.repeat(16),
        reconnect: true,
        previous_tunnel_id: 'id1',
      },
    });
    const badConnect = parseIncoming(
      JSON.stringify({
        type: 'connect',
        payload: { tunnel_id: 't', auth_key: 'short', device_id: '', reconnect: 'yes' },
      }),
    );
    assert.equal(badConnect.kind, 'invalid');
    assert.deepEqual(badConnect.kind === 'invalid' && badConnect.details, [
      'auth_key must be at least 16 characters',
      'device_id is required',
      'reconnect must be a boolean',
    ]);
  });

  void test('device_id injection overwrites a spoofed value', () => {
    assert.equal(withDeviceId({ type: 't', device_id: 'evil' }, 'real'), '{"type":"t","device_id":"real"}');
  });

  void test('the error codes are tiflis’s', () => {
    assert.deepEqual([...TIFLIS_ERROR_CODES].sort(), [
      'INTERNAL_ERROR',
      'INVALID_API_KEY',
      'INVALID_AUTH_KEY',
      'INVALID_PAYLOAD',
      'REGISTRATION_FAILED',
      'TUNNEL_NOT_FOUND',
      'WORKSTATION_OFFLINE',
    ]);
  });
});
