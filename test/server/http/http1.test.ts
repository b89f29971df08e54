/**
 * The relay's HTTP/1.1 framing (src/core/http1.ts): requests split at any byte come out as the
 * same heads and the same body bytes; responses are delimited right for every framing; ambiguous
 * or malformed input is refused (that is what keeps request smuggling out).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { splitAt } from '../../helpers/chunks.js';
import { HttpFramingError, RequestReader, ResponseReader, type RequestHead } from '../../../src/core/http1.js';

const MAX = 32 * 1024;

interface GenRequest {
  method: string;
  path: string;
  headers: [string, string][];
  body: Buffer;
  chunked: boolean;
  chunks: number[];
}

function serializeRequest(r: GenRequest): { head: Buffer; body: Buffer } {
  let head = `${r.method} ${r.path} HTTP/1.1\r\nHost: t.example\r\n`;
  for (const [k, v] of r.headers) head += `${k}: ${v}\r\n`;
  let body: Buffer = Buffer.alloc(0);
  if (r.chunked) {
    head += 'Transfer-Encoding: chunked\r\n';
    const parts: Buffer[] = [];
    let at = 0;
    for (const n of r.chunks) {
      const piece = r.body.subarray(at, at + n);
      at += piece.length;
      if (piece.length === 0) continue;
      parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    if (at < r.body.length) {
      const piece = r.body.subarray(at);
      parts.push(Buffer.from(`${piece.length.toString(16)};ext=1\r\n`), piece, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\nX-Trailer: yes\r\n\r\n'));
    body = Buffer.concat(parts);
  } else if (r.body.length) {
    head += `Content-Length: ${r.body.length}\r\n`;
    body = r.body;
  }
  return { head: Buffer.from(head + '\r\n', 'latin1'), body };
}

const genRequest: fc.Arbitrary<GenRequest> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
  path: fc.stringMatching(/^\/[a-z0-9/?=&%-]{0,40}$/),
  headers: fc.array(fc.tuple(fc.stringMatching(/^X-[A-Za-z0-9-]{1,12}$/), fc.stringMatching(/^[ -~]{0,30}$/)), {
    maxLength: 6,
  }),
  body: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  chunked: fc.boolean(),
  chunks: fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 6 }),
});

void test('RequestReader: any split gives back the same heads and the same bytes, in order', () => {
  fc.assert(
    fc.property(
      fc.array(genRequest, { minLength: 1, maxLength: 5 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (reqs, cuts) => {
        const wire = reqs.map(serializeRequest);
        const all = Buffer.concat(wire.flatMap((w) => [w.head, w.body]));
        const reader = new RequestReader(MAX);
        const heads: RequestHead[] = [];
        const bodies: Buffer[][] = [];
        for (const piece of splitAt(all, cuts).filter((b) => b.length > 0)) {
          for (const item of reader.push(piece)) {
            if (item.head) {
              heads.push(item.head);
              bodies.push([]);
            } else bodies[bodies.length - 1]!.push(item.body);
          }
        }
        assert.equal(reader.failed, undefined);
        assert.equal(heads.length, reqs.length);
        for (let i = 0; i < reqs.length; i++) {
          assert.equal(heads[i]!.method, reqs[i]!.method);
          assert.equal(heads[i]!.target, reqs[i]!.path);
          assert.equal(heads[i]!.host, 't.example');
          assert.deepEqual(heads[i]!.raw, wire[i]!.head);
          assert.deepEqual(Buffer.concat(bodies[i]!), wire[i]!.body);
          assert.equal(heads[i]!.hasBody, wire[i]!.body.length > 0);
        }
        assert.ok(reader.idle);
      },
    ),
    { numRuns: 300 },
  );
});

void test('RequestReader: garbage never throws, and is refused or waits for more', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 8 }), (chunks) => {
      const reader = new RequestReader(1024);
      for (const c of chunks) reader.push(Buffer.from(c));
      if (reader.failed) assert.ok(reader.failed instanceof HttpFramingError);
    }),
    { numRuns: 300 },
  );
});

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

void test('RequestReader: empty lines between requests are skipped; HTTP/1.0 needs no Host', () => {
  const reader = new RequestReader(1024);
  const items = reader.push(
    Buffer.from('\r\n\r\nGET /x HTTP/1.0\r\n\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\n\r\n'),
  );
  assert.deepEqual(
    items.map((i) => [i.head?.target, i.head?.minor, i.head?.wantsHtml]),
    [
      ['/x', 0, false],
      ['/y', 1, true],
    ],
  );
});

interface GenResponse {
  method: string;
  status: number;
  framing: 'length' | 'chunked' | 'close';
  body: Buffer;
}

function serializeResponse(r: GenResponse): Buffer {
  const noBody = r.method === 'HEAD' || r.status === 204 || r.status === 304;
  let head = `HTTP/1.1 ${r.status} X\r\nServer: t\r\n`;
  let body: Buffer = Buffer.alloc(0);
  if (r.framing === 'chunked') {
    head += 'Transfer-Encoding: chunked\r\n';
    if (!noBody) {
      body = Buffer.concat([
        ...(r.body.length ? [Buffer.from(`${r.body.length.toString(16)}\r\n`), r.body, Buffer.from('\r\n')] : []),
        Buffer.from('0\r\n\r\n'),
      ]);
    }
  } else if (r.framing === 'length') {
    head += `Content-Length: ${r.body.length}\r\n`;
    if (!noBody) body = r.body;
  } else if (!noBody) body = r.body;
  return Buffer.concat([Buffer.from(head + '\r\n'), body]);
}

void test('ResponseReader: every response is delimited right, split at any byte', () => {
  const genResponse: fc.Arbitrary<GenResponse> = fc.record({
    method: fc.constantFrom('GET', 'HEAD', 'POST'),
    status: fc.constantFrom(200, 201, 204, 304, 404, 500),
    framing: fc.constantFrom('length' as const, 'chunked' as const),
    body: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  });
  fc.assert(
    fc.property(
      fc.array(genResponse, { minLength: 1, maxLength: 5 }),
      fc.option(genResponse.map((r) => ({ ...r, framing: 'close' as const }))),
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 12 }),
      (rs, last, interim, cuts) => {
        const all = last ? [...rs, last] : rs;
        const queue = all.map((r) => r.method);
        const seen: number[] = [];
        let completed = 0;
        const reader = new ResponseReader(
          MAX,
          {
            onHead: (status, isInterim) => {
              if (!isInterim) seen.push(status);
            },
            onComplete: () => {
              completed++;
              queue.shift();
            },
            onSwitch: () => assert.fail('no switch expected'),
          },
          () => (queue.length ? { method: queue[0]!, upgrade: false } : undefined),
        );
        const wire = Buffer.concat([
          ...(interim ? [Buffer.from('HTTP/1.1 100 Continue\r\n\r\n')] : []),
          ...all.map(serializeResponse),
        ]);
        for (const piece of splitAt(wire, cuts).filter((b) => b.length > 0)) reader.push(piece);
        if (last && !(last.method === 'HEAD' || last.status === 204 || last.status === 304)) {
          assert.equal(completed, rs.length);
          assert.ok(reader.untilClose);
          assert.equal(reader.end(), true);
        }
        assert.equal(completed, all.length);
        assert.deepEqual(
          seen,
          all.map((r) => r.status),
        );
        assert.equal(reader.started, false);
      },
    ),
    { numRuns: 300 },
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
