/** Pure parts of the tunely adapter: message parsing, header hygiene, strict UTF-8 bodies. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAgentMessage, authErrorMessage, requestMessage } from '../../../src/adapters/tunely/wire.js';
import { requestHeadersForAgent, responseHeadersForVisitor } from '../../../src/adapters/tunely/headers.js';
import { bodyText, decodeUtf8Strict } from '../../../src/adapters/tunely/body.js';
import { BurrowError } from '../../../src/core/errors.js';

void test('parseAgentMessage: the messages tunely@0.2.1 sends', () => {
  assert.deepEqual(parseAgentMessage('{"type":"auth","token":"tun_x","client_version":"0.1.0","force":true}'), {
    type: 'auth',
    token: 'tun_x',
    clientVersion: '0.1.0',
    force: true,
  });
  assert.deepEqual(parseAgentMessage('{"type":"pong","timestamp":"t"}'), { type: 'pong' });
  const resp = parseAgentMessage(
    '{"type":"response","id":"1","status":503,"headers":{},"body":null,"error":"Target service unavailable","duration_ms":3}',
  );
  assert.deepEqual(resp, {
    type: 'response',
    id: '1',
    status: 503,
    headers: {},
    body: null,
    error: 'Target service unavailable',
  });
  assert.deepEqual(parseAgentMessage('{"type":"stream_chunk","id":"1","data":"x","sequence":0}'), {
    type: 'stream_chunk',
    id: '1',
    data: 'x',
    sequence: 0,
  });
  assert.deepEqual(parseAgentMessage('{"type":"stream_end","id":"1","total_chunks":2}'), {
    type: 'stream_end',
    id: '1',
    error: undefined,
    totalChunks: 2,
  });
  const start = parseAgentMessage('{"type":"stream_start","id":"1","status":200,"headers":{"a":"b","n":1,"o":{}}}');
  assert.deepEqual(start, { type: 'stream_start', id: '1', status: 200, headers: { a: 'b', n: '1' } });
});

void test('parseAgentMessage: garbage is invalid, never thrown', () => {
  for (const text of [
    'nope',
    '[]',
    'null',
    '{"type":"what"}',
    '{"type":"auth"}',
    '{"type":"response","status":200}',
    '{"type":"response","id":"1","status":99}',
    '{"type":"response","id":"1","status":200,"body":{}}',
    '{"type":"stream_chunk","id":"1"}',
  ]) {
    assert.equal(parseAgentMessage(text).type, 'invalid', text);
  }
});

void test('server messages have tunely field names', () => {
  assert.deepEqual(Object.keys(JSON.parse(authErrorMessage('connection_exists', '已有活跃连接')) as object).sort(), [
    'code',
    'error',
    'timestamp',
    'type',
  ]);
  const req = JSON.parse(
    requestMessage({ id: 'i', method: 'GET', path: '/?a=1', headers: {}, body: null, timeout: 30 }),
  ) as Record<string, unknown>;
  assert.deepEqual(req, {
    type: 'request',
    id: 'i',
    method: 'GET',
    path: '/?a=1',
    headers: {},
    body: null,
    timeout: 30,
  });
});

void test('requestHeadersForAgent: hop-by-hop, host, content-length, expect, transfer-encoding out; X-Forwarded-* set', () => {
  const raw = [
    'Host',
    'demo.example.com',
    'Connection',
    'keep-alive, X-Secret-Hop',
    'X-Secret-Hop',
    '1',
    'Keep-Alive',
    'timeout=5',
    'Upgrade',
    'h2c',
    'Content-Length',
    '5',
    'Transfer-Encoding',
    'chunked',
    'Expect',
    '100-continue',
    'Proxy-Authorization',
    'x',
    'X-Forwarded-For',
    '6.6.6.6',
    'Cookie',
    'a=1',
    'Cookie',
    'b=2',
    'Accept',
    'text/html',
    'Accept',
    'application/json',
    'Content-Type',
    'application/json',
  ];
  assert.deepEqual(
    requestHeadersForAgent(raw, { remoteAddress: '10.0.0.1', proto: 'https', host: 'demo.example.com' }),
    {
      cookie: 'a=1; b=2',
      accept: 'text/html, application/json',
      'content-type': 'application/json',
      'x-forwarded-for': '10.0.0.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'demo.example.com',
    },
  );
});

void test('responseHeadersForVisitor: drops what the agent cannot keep true; invalid headers skipped', () => {
  assert.deepEqual(
    responseHeadersForVisitor({
      'content-encoding': 'gzip',
      'Content-Length': '10',
      'transfer-encoding': 'chunked',
      connection: 'keep-alive, x-hop',
      'x-hop': 'y',
      'keep-alive': 'timeout=5',
      'content-type': 'text/plain',
      'set-cookie': 'a=1',
      'bad header': 'x',
      'x-bad-value': 'a\r\nb',
    }),
    [
      ['content-type', 'text/plain'],
      ['set-cookie', 'a=1'],
    ],
  );
});

void test('strict UTF-8: text passes byte for byte (BOM kept), binary is refused with a clear error', () => {
  const bom = Buffer.from([0xef, 0xbb, 0xbf, 0x41]);
  assert.deepEqual(Buffer.from(decodeUtf8Strict(bom)!, 'utf8'), bom);
  assert.equal(decodeUtf8Strict(Buffer.from('héllo ✓ 😀')), 'héllo ✓ 😀');
  assert.equal(decodeUtf8Strict(Buffer.from([0xff])), undefined);
  assert.equal(decodeUtf8Strict(Buffer.from([0xed, 0xa0, 0x80])), undefined, 'surrogates are not UTF-8');
  assert.throws(
    () => bodyText(Buffer.from([0x00, 0xc3]), 'application/octet-stream'),
    (err: unknown) =>
      err instanceof BurrowError &&
      err.code === 'BURROW_ERR_TUNELY_BINARY_BODY' &&
      err.status === 502 &&
      /application\/octet-stream/.test(err.message) &&
      /burrow http/.test(err.fix),
  );
});
