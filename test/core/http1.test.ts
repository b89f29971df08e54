/**
 * The relay's HTTP/1.1 framing (src/core/http1.ts), case by case: ambiguous or malformed input is
 * refused (that is what keeps request smuggling out), bad chunked bodies, upgrades, HTTP/1.0, the
 * response side's switches. The generated properties (any split, random bytes, smuggling shapes)
 * are in http1-fuzz.test.ts.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { HttpFramingError, RequestReader, ResponseReader } from '../../src/core/http1.js';

const MAX = 32 * 1024;

function refuse(wire: string, status: number, pattern: RegExp): void {
  const reader = new RequestReader(1024);
  const items = reader.push(Buffer.from(wire, 'latin1'));
  assert.equal(items.filter((i) => i.head).length, 0, `no head should pass: ${JSON.stringify(wire)}`);
  assert.ok(reader.failed, `should be refused: ${JSON.stringify(wire)}`);
  assert.equal(reader.failed.status, status);
  assert.match(reader.failed.message, pattern);
}

void test('RequestReader: ambiguous framing and malformed heads are refused (no smuggling)', () => {
  refuse('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', 400, /ambiguous/);
  refuse('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', 400, /conflicting/);
  refuse('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n', 400, /Content-Length/);
  refuse('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n', 501, /Transfer-Encoding/);
  refuse('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n', 501, /Transfer-Encoding/);
  refuse('POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 400, /HTTP\/1\.0/);
  refuse('GET / HTTP/1.1\r\nHost : a\r\n\r\n', 400, /field name/);
  refuse('GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n', 400, /field/);
  refuse('GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n', 400, /control character/);
  refuse('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, /Host/);
  refuse('GET / HTTP/1.1\r\nX: y\r\n\r\n', 400, /without Host/);
  refuse('GET /a b HTTP/1.1\r\nHost: a\r\n\r\n', 400, /target/);
  refuse('GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505, /version/);
  refuse('CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n', 405, /CONNECT/);
  refuse(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'y'.repeat(2000)}\r\n\r\n`, 431, /over 1024/);
  refuse(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'y'.repeat(2000)}`, 431, /over 1024/);
});

void test('RequestReader: bad chunked bodies are refused after the bytes before them', () => {
  for (const [body, pattern] of [
    ['zz\r\nabc\r\n0\r\n\r\n', /chunk size/],
    ['3\r\nabcX\r\n0\r\n\r\n', /CRLF/],
    ['3\nabc\r\n0\r\n\r\n', /bare LF/],
    ['fffffffffffffff\r\n', /chunk size/],
    [`3;${'e'.repeat(5000)}\r\n`, /chunk-size line/],
  ] as const) {
    const reader = new RequestReader(1024);
    const items = reader.push(
      Buffer.from(`POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${body}`, 'latin1'),
    );
    assert.equal(items.filter((i) => i.head).length, 1);
    assert.ok(reader.failed, body);
    assert.match(reader.failed.message, pattern);
  }
});

void test('RequestReader: an upgrade request turns the rest of the connection raw', () => {
  const reader = new RequestReader(1024);
  const items = reader.push(
    Buffer.from(
      'GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\nGET / HTTP/1.1\r\n\r\n',
    ),
  );
  assert.equal(items[0]!.head?.upgrade, true);
  assert.equal(items[1]!.body?.toString(), 'GET / HTTP/1.1\r\n\r\n');
  assert.equal(reader.push(Buffer.from([0x81, 0x00]))[0]!.body?.length, 2);
});

void test('RequestReader: a head says whether the connection ends after its answer (Connection: close, HTTP/1.0)', () => {
  const closes = (wire: string): boolean | undefined =>
    new RequestReader(1024).push(Buffer.from(wire, 'latin1'))[0]?.head?.closes;
  assert.equal(closes('GET / HTTP/1.1\r\nHost: a\r\n\r\n'), false, 'HTTP/1.1 keeps the connection');
  assert.equal(closes('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'), true);
  assert.equal(closes('GET / HTTP/1.1\r\nHost: a\r\nconnection: TE, Close\r\n\r\n'), true, 'a token, any case');
  assert.equal(closes('GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n'), false, 'not a token');
  assert.equal(closes('GET / HTTP/1.0\r\n\r\n'), true, 'HTTP/1.0 closes by default');
  assert.equal(closes('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'), false);
});

void test('regression: RequestReader reads nothing after a request that asked to close (pipelined requests behind it are dropped)', () => {
  const heads = (reader: RequestReader, wire: string) =>
    reader.push(Buffer.from(wire, 'latin1')).map((i) => i.head?.target ?? `body:${i.body?.toString('latin1')}`);
  const r1 = new RequestReader(1024);
  assert.deepEqual(
    heads(r1, 'GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n'),
    ['/a'],
  );
  assert.deepEqual(heads(r1, 'GET /c HTTP/1.1\r\nHost: h\r\n\r\n'), [], 'a later chunk too');
  // its body is still read whole, in pieces, and nothing after it
  const r2 = new RequestReader(1024);
  assert.deepEqual(heads(r2, 'POST /p HTTP/1.0\r\nContent-Length: 5\r\n\r\nab'), ['/p', 'body:ab']);
  assert.deepEqual(heads(r2, 'cdeGET /q HTTP/1.1\r\nHost: h\r\n\r\n'), ['body:cde']);
  // keep-alive requests go on
  const r3 = new RequestReader(1024);
  assert.deepEqual(heads(r3, 'GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n'), ['/a', '/b']);
});

void test('a field value loses the spaces and tabs around it and nothing else (RFC 9110 §5.5), both ways', () => {
  const items = new RequestReader(1024).push(
    Buffer.from('GET / HTTP/1.1\r\nHost: \t a \t\r\nX-Empty:\r\nX-Nbsp: \xa0v\r\n\r\n', 'latin1'),
  );
  assert.deepEqual(items[0]?.head?.headers, ['Host', 'a', 'X-Empty', '', 'X-Nbsp', '\xa0v']);
  assert.equal(items[0]?.head?.host, 'a');
  // a vertical tab is no optional whitespace: it stays in the value, which is refused for it
  refuse('GET / HTTP/1.1\r\nHost: a\r\nX: \x0bv\r\n\r\n', 400, /control character/);
  let completed = 0;
  const r = new ResponseReader(MAX, { onHead: () => {}, onComplete: () => completed++, onSwitch: () => {} }, () => ({
    method: 'GET',
    upgrade: false,
  }));
  r.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length:\t3 \r\n\r\nabc'));
  r.push(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: \tChunked\t\r\n\r\n0\r\n\r\n'));
  assert.equal(completed, 2);
});

void test('RequestReader: empty lines between requests are skipped; HTTP/1.0 needs no Host', () => {
  const reader = new RequestReader(1024);
  const items = reader.push(
    Buffer.from(
      '\r\n\r\nGET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\n\r\n',
    ),
  );
  assert.deepEqual(
    items.map((i) => [i.head?.target, i.head?.minor, i.head?.wantsHtml]),
    [
      ['/x', 0, false],
      ['/y', 1, true],
    ],
  );
});

void test('ResponseReader: 101 switches to raw; garbage is a 502', () => {
  let switched = false;
  const r = new ResponseReader(
    MAX,
    { onHead: () => {}, onComplete: () => assert.fail('101 does not complete'), onSwitch: () => (switched = true) },
    () => ({ method: 'GET', upgrade: true }),
  );
  r.push(Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello'));
  assert.ok(switched);
  r.push(Buffer.from('HTTP/1.1 garbage that is ignored in raw mode\r\n\r\n'));

  const bad = new ResponseReader(MAX, { onHead: () => {}, onComplete: () => {}, onSwitch: () => {} }, () => undefined);
  assert.throws(
    () => bad.push(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')),
    (e: HttpFramingError) => e.status === 502,
  );
  const big = new ResponseReader(1024, { onHead: () => {}, onComplete: () => {}, onSwitch: () => {} }, () => undefined);
  assert.throws(() => big.push(Buffer.from(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(2000)}`)), /response head over 1024/);
});
