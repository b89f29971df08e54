/** Pure parts of the localtunnel edge: handshake routing and reply, id line, the client's request framer. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHandshakeReply, IdLineReader, parseHandshake } from '../../../src/adapters/localtunnel/index.js';
import { RequestFramer } from '../../../src/client/localtunnel/index.js';
import { handshakeUrl, parseTunnelInfo } from '../../../src/client/localtunnel/handshake.js';

const u = (p: string): URL => new URL(p, 'http://srv');

void test('parseHandshake: /?new and /<name>; leaves other routes alone', () => {
  assert.deepEqual(parseHandshake('GET', u('/?new')), { kind: 'new' });
  assert.deepEqual(parseHandshake('POST', u('/?new')), { kind: 'new' });
  assert.deepEqual(parseHandshake('GET', u('/my-app')), { kind: 'name', name: 'my-app' });
  assert.deepEqual(parseHandshake('GET', u('/Bad_Name!')), { kind: 'name', name: 'Bad_Name!' });
  assert.equal(parseHandshake('GET', u('/')), undefined);
  assert.equal(parseHandshake('DELETE', u('/my-app')), undefined);
  assert.equal(parseHandshake('GET', u('/favicon.ico')), undefined);
  assert.equal(parseHandshake('GET', u('/admin')), undefined);
  assert.equal(parseHandshake('GET', u('/api/status')), undefined);
  assert.equal(parseHandshake('GET', u('/a/b')), undefined);
});

void test('buildHandshakeReply: both spellings, ip and sharedTunnel only when set', () => {
  const r = buildHandshakeReply({
    name: 'abcd',
    url: 'http://abcd.localhost:8080',
    port: 40001,
    maxSockets: 10,
    shared: false,
  });
  assert.deepEqual(r, {
    id: 'abcd',
    url: 'http://abcd.localhost:8080',
    port: 40001,
    max_conn_count: 10,
    maxConnCount: 10,
  });
  const s = buildHandshakeReply({
    name: 'abcd',
    url: 'u',
    port: 9,
    maxSockets: 3,
    ip: '127.0.0.1',
    cachedUrl: 'c',
    shared: true,
  });
  assert.equal(s.sharedTunnel, true);
  assert.equal(s.ip, '127.0.0.1');
  assert.equal(s.cached_url, 'c');
  assert.equal(s.cachedUrl, 'c');
  // The client side reads both spellings back.
  assert.equal(parseTunnelInfo({ ...r, max_conn_count: undefined }).maxConn, 10);
  assert.equal(parseTunnelInfo({ id: 'x', url: 'u', port: 1 }).maxConn, 1);
});

void test('IdLineReader: split chunks, rest bytes, overlong and malformed lines', () => {
  const r = new IdLineReader(100);
  assert.deepEqual(r.push(Buffer.from('my-tu')), { state: 'more' });
  const done = r.push(Buffer.from('nnel\nGET'));
  assert.equal(done.state, 'done');
  assert.equal(done.state === 'done' && done.id, 'my-tunnel');
  assert.equal(done.state === 'done' && done.rest.toString(), 'GET');
  assert.equal(new IdLineReader(100).push(Buffer.alloc(101, 0x61)).state, 'error');
  assert.equal(new IdLineReader(100).push(Buffer.from('a b\n')).state, 'error');
  assert.equal(new IdLineReader(100).push(Buffer.from('\n')).state, 'error');
});

void test('handshakeUrl: ?new or the encoded name under the server URL', () => {
  assert.equal(handshakeUrl('http://127.0.0.1:8080', undefined).href, 'http://127.0.0.1:8080/?new');
  assert.equal(handshakeUrl('https://t.example.com/', 'abc').href, 'https://t.example.com/abc');
  assert.throws(() => handshakeUrl('ftp://x', undefined), /http/);
});

function feed(f: RequestFramer, parts: (string | Buffer)[]): { out: Buffer; requests: string[] } {
  const out: Buffer[] = [];
  const requests: string[] = [];
  for (const p of parts) {
    const r = f.push(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
    out.push(...r.out);
    requests.push(...r.requests.map((x) => `${x.method} ${x.path}`));
  }
  return { out: Buffer.concat(out), requests };
}

void test('RequestFramer: one request line per request, bodies skipped by framing, keep-alive CRLFs dropped', () => {
  const body = Buffer.concat([Buffer.from('GET /inside-body HTTP/1.1\r\n\r\n'), Buffer.from([0, 255, 13, 10, 13, 10])]);
  const wire = Buffer.concat([
    Buffer.from('\r\n\r\n'),
    Buffer.from(`POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n`),
    body,
    Buffer.from('\r\n'),
    Buffer.from('PUT /chunks HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGET /\r\n0\r\nX-T: 1\r\n\r\n'),
    Buffer.from('GET /last?x=1 HTTP/1.1\r\nHost: a\r\n\r\n'),
  ]);
  // Every split point gives the same result.
  for (const step of [1, 3, 7, 64, wire.length]) {
    const parts: Buffer[] = [];
    for (let i = 0; i < wire.length; i += step) parts.push(wire.subarray(i, i + step));
    const r = feed(new RequestFramer(), parts);
    assert.deepEqual(r.requests, ['POST /up', 'PUT /chunks', 'GET /last?x=1'], `step ${step}`);
    assert.ok(!r.out.includes('\r\n\r\nPOST'), 'leading blank lines dropped');
    assert.ok(r.out.includes(body), 'body passed byte for byte');
  }
});

void test('RequestFramer: Host rewrite in every head only; upgrade switches to pass-through', () => {
  const f = new RequestFramer({ rewriteHost: 'localhost:3000' });
  const bin = Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x48, 0x6f, 0x73, 0x74, 0x3a]);
  const r = feed(f, [
    `POST /a HTTP/1.1\r\nhost: pub.example\r\nContent-Length: ${bin.length}\r\n\r\n`,
    bin,
    'GET /b HTTP/1.1\r\nHost: pub.example\r\n\r\n',
    'GET /ws HTTP/1.1\r\nHost: pub.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    'GET /frame-not-request HTTP/1.1\r\n\r\n',
  ]);
  assert.deepEqual(r.requests, ['POST /a', 'GET /b', 'GET /ws']);
  const text = r.out.toString('latin1');
  assert.equal(text.match(/Host: localhost:3000/gi)?.length, 3);
  assert.ok(!text.includes('pub.example'));
  assert.ok(r.out.includes(bin));
  assert.ok(f.passThrough);
  assert.ok(text.endsWith('GET /frame-not-request HTTP/1.1\r\n\r\n'));
});

void test('RequestFramer: garbage or an oversized head switches to pass-through without losing bytes', () => {
  const g = feed(new RequestFramer(), ['NOT HTTP AT ALL\r\n\r\nmore']);
  assert.deepEqual(g.requests, []);
  assert.equal(g.out.toString(), 'NOT HTTP AT ALL\r\n\r\nmore');
  const big = 'GET / HTTP/1.1\r\nX: ' + 'a'.repeat(70_000);
  const b = feed(new RequestFramer(), [big, '\r\n\r\n']);
  assert.deepEqual(b.requests, []);
  assert.equal(b.out.toString(), big + '\r\n\r\n');
});
