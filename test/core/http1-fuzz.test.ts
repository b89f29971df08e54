/**
 * Generated checks of the relay's HTTP/1.1 readers (src/core/http1.ts), bounded so they run in
 * every CI run: FUZZ_RUNS cases per property (BURROW_FUZZ_RUNS raises it for a longer local hunt).
 *
 * - any split: requests and responses cut at any byte come out as the same heads, bodies and
 *   boundaries as when read whole;
 * - random bytes: never an exception, only a refusal (HttpFramingError) or a wait for more;
 * - smuggling shapes: a request whose framing two servers could read two ways (Content-Length with
 *   Transfer-Encoding, two lengths, a folded or padded field name, bare LF, odd codings …) is
 *   refused, and the request hidden in its body never comes out as a head, however it is split
 *   and however its field names are cased.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { splitAt } from '../helpers/chunks.js';
import { HttpFramingError, RequestReader, ResponseReader, type RequestHead } from '../../src/core/http1.js';

/** Cases per property in CI; BURROW_FUZZ_RUNS=20000 for a longer hunt on a laptop. */
const FUZZ_RUNS = Number(process.env.BURROW_FUZZ_RUNS ?? 300);
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
    { numRuns: FUZZ_RUNS },
  );
});

void test('RequestReader: garbage never throws, and is refused or waits for more', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 8 }), (chunks) => {
      const reader = new RequestReader(1024);
      for (const c of chunks) reader.push(Buffer.from(c));
      if (reader.failed) assert.ok(reader.failed instanceof HttpFramingError);
    }),
    { numRuns: FUZZ_RUNS },
  );
});

/** The request a smuggler hides in the body of the first one. */
const HIDDEN = 'GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n';

/**
 * Heads whose body length two readers could disagree on. `{TE}`/`{CL}` are replaced by the field
 * names in a generated casing; each shape ends at the empty line, and HIDDEN follows as "body".
 */
const SMUGGLING_SHAPES: readonly string[] = [
  'POST / HTTP/1.1\r\nHost: a\r\n{CL}: 3\r\n{TE}: chunked\r\n\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\n{TE}: chunked\r\n{CL}: 45\r\n\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\n{CL}: 0\r\n{CL}: 45\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\n{CL}: 0, 45\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\n{CL}: +0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\n{CL}: 0x0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\n{CL} : 0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\n {CL}: 0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\n{TE}: chunked, identity\r\n\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\n{TE}: xchunked\r\n\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\n{TE}: chunked\r\n{TE}: identity\r\n\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\n{TE}:\r\n chunked\r\n\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\n{TE}: chunked\n{CL}: 0\r\n\r\n',
  'POST / HTTP/1.1\nHost: a\n{CL}: 0\n\n',
  'POST / HTTP/1.0\r\n{TE}: chunked\r\n\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\n{TE}: chunked\r\n\r\n0x0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\n{TE}: chunked\r\n\r\n0\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\n{CL}: 0\r\nHost: b\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\n{CL}: 0\x00\r\n\r\n',
];

/** A casing of a field name: each letter upper or lower by the generated bits. */
function cased(name: string, bits: number): string {
  return [...name].map((c, i) => ((bits >> i) & 1 ? c.toUpperCase() : c.toLowerCase())).join('');
}

void test('RequestReader: smuggling shapes are refused and the hidden request never comes out, whatever the split', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...SMUGGLING_SHAPES),
      fc.nat(),
      fc.nat(),
      fc.array(fc.nat(), { maxLength: 12 }),
      (shape, teBits, clBits, cuts) => {
        const front = shape
          .replaceAll('{TE}', cased('transfer-encoding', teBits))
          .replaceAll('{CL}', cased('content-length', clBits));
        const wire = Buffer.from(front + HIDDEN, 'latin1');
        const reader = new RequestReader(MAX);
        const targets: string[] = [];
        for (const piece of splitAt(wire, cuts).filter((b) => b.length > 0)) {
          for (const item of reader.push(piece)) if (item.head) targets.push(item.head.target);
        }
        assert.ok(reader.failed instanceof HttpFramingError, `refused: ${JSON.stringify(front)}`);
        assert.ok(!targets.includes('/smuggled'), `the hidden request stayed hidden: ${JSON.stringify(front)}`);
      },
    ),
    { numRuns: FUZZ_RUNS },
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
    { numRuns: FUZZ_RUNS },
  );
});
