/** The agent and `burrow connect` mask their WebSocket frames with a zero key only over TLS or to loopback (RFC 6455 §5.3). */
import test from 'node:test';
import assert from 'node:assert/strict';
import { zeroMaskSafe } from '../../../src/core/ws-mask.js';

void test('zero masks over wss:// and to loopback only', () => {
  for (const u of [
    'wss://tunnels.example.com/api/v1/agent',
    'ws://127.0.0.1:8080/x',
    'ws://localhost/x',
    'ws://[::1]:80/x',
  ]) {
    assert.equal(zeroMaskSafe(u), true, u);
  }
  for (const u of [
    'ws://tunnels.example.com/api/v1/agent',
    'ws://10.0.0.5:8080/x',
    'ws://[2001:db8::1]/x',
    'not a url',
  ]) {
    assert.equal(zeroMaskSafe(u), false, u);
  }
});
