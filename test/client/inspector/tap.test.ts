/**
 * The inspector's passive HTTP/1.1 tap, fed bytes as a tunnel stream would pass them: pipelined
 * keep-alive requests, chunked bodies, a conversation split at every byte boundary, upgrades to
 * WebSocket (masked client frames, fragments, control frames), event streams, bounds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { ExchangeStore, type RecordedExchange } from '../../../src/client/inspector/exchange.js';
import { HttpTap } from '../../../src/client/inspector/tap.js';
import { detailOf } from '../../../src/client/inspector/views.js';
import { MAX_STREAM_ITEMS, MAX_TAP_PIPELINE } from '../../../src/client/inspector/limits.js';
import { splitAt } from '../../helpers/chunks.js';

const ORIGIN = { target: '127.0.0.1:3000', tunnel: 'demo' };

function setup(o: Partial<{ keep: number; bodyLimit: number; maxBytes: number }> = {}): {
  store: ExchangeStore;
  tap: HttpTap;
} {
  const store = new ExchangeStore({ keep: 100, bodyLimit: 1024 * 1024, maxBytes: 64 * 1024 * 1024, ...o });
  return { store, tap: new HttpTap(store, ORIGIN) };
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

const PIPELINED_REQUESTS = b(
  'GET /one HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6, 203.0.113.9\r\n\r\n' +
    'POST /two?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"hello":"w"}' +
    'PUT /three HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n' +
    'HEAD /four HTTP/1.1\r\nHost: a\r\n\r\n',
);
const PIPELINED_RESPONSES = b(
  'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none' +
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n3\r\ntwo\r\n0\r\n\r\n' +
    'HTTP/1.1 204 No Content\r\n\r\n' +
    'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n',
);

function checkPipelined(list: RecordedExchange[]): void {
  assert.deepEqual(
    list.map((e) => [e.method, e.path, e.status, e.state]),
    [
      ['GET', '/one', 200, 'complete'],
      ['POST', '/two?x=1', 201, 'complete'],
      ['PUT', '/three', 204, 'complete'],
      ['HEAD', '/four', 200, 'complete'],
    ],
  );
  const [one, two, three, four] = list as [RecordedExchange, RecordedExchange, RecordedExchange, RecordedExchange];
  assert.equal(one.clientIp, '203.0.113.9', 'the last X-Forwarded-For entry: what the burrow server saw');
  assert.equal(one.responseBody.bytes().toString(), 'one');
  assert.equal(two.requestBody.bytes().toString(), '{"hello":"w"}');
  assert.equal(two.responseBody.bytes().toString(), 'two', 'chunked framing is taken off');
  assert.equal(two.responseBody.size, 3);
  assert.equal(three.requestBody.bytes().toString(), 'hello world');
  assert.equal(four.responseBody.size, 0, 'a HEAD response has no body, whatever its Content-Length');
  for (const e of list) assert.ok(e.durationMs !== undefined && e.durationMs >= 0);
}

test('pipelined keep-alive requests, all at once: each matched with its response, bodies decoded', () => {
  const { store, tap } = setup();
  tap.fromClient(PIPELINED_REQUESTS);
  assert.equal(store.size, 4);
  assert.ok(store.list().every((e) => e.state === 'waiting'));
  tap.fromServer(PIPELINED_RESPONSES);
  checkPipelined(store.list());
});

test('split at every byte boundary (both directions, interleaved), the record is the same', () => {
  for (let cut = 0; cut <= PIPELINED_REQUESTS.length; cut++) {
    const { store, tap } = setup();
    tap.fromClient(PIPELINED_REQUESTS.subarray(0, cut));
    tap.fromClient(PIPELINED_REQUESTS.subarray(cut));
    const at = cut % (PIPELINED_RESPONSES.length + 1);
    tap.fromServer(PIPELINED_RESPONSES.subarray(0, at));
    tap.fromServer(PIPELINED_RESPONSES.subarray(at));
    checkPipelined(store.list());
  }
  // and one byte at a time
  const { store, tap } = setup();
  for (const byte of PIPELINED_REQUESTS) tap.fromClient(Buffer.from([byte]));
  for (const byte of PIPELINED_RESPONSES) tap.fromServer(Buffer.from([byte]));
  checkPipelined(store.list());
});

test('split anywhere into many pieces (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 12 }), (c1, c2) => {
      const { store, tap } = setup();
      for (const p of splitAt(PIPELINED_REQUESTS, c1)) tap.fromClient(p);
      for (const p of splitAt(PIPELINED_RESPONSES, c2)) tap.fromServer(p);
      checkPipelined(store.list());
    }),
  );
});

/** A WebSocket frame; masked as a client sends it when `mask` is given. */
function frame(opcode: number, payload: Buffer, o: { fin?: boolean; mask?: Buffer } = {}): Buffer {
  const len = payload.length;
  const head = [((o.fin ?? true) ? 0x80 : 0) | opcode];
  const ext: number[] = [];
  if (len < 126) head.push(len | (o.mask ? 0x80 : 0));
  else if (len < 65536) {
    head.push(126 | (o.mask ? 0x80 : 0));
    ext.push(len >> 8, len & 0xff);
  } else {
    head.push(127 | (o.mask ? 0x80 : 0));
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(len));
    ext.push(...big);
  }
  const body = Buffer.from(payload);
  if (o.mask) for (let i = 0; i < body.length; i++) body[i]! ^= o.mask[i & 3]!;
  return Buffer.concat([Buffer.from(head), Buffer.from(ext), o.mask ?? Buffer.alloc(0), body]);
}

test('an upgrade to WebSocket: messages both ways, unmasked, fragments joined, control frames, then close', () => {
  const mask = Buffer.from([1, 2, 3, 4]);
  const client = Buffer.concat([
    b('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: x\r\n\r\n'),
    // sent before the 101 arrives: held, then read as frames
    frame(1, Buffer.from('hello from the client'), { mask }),
    frame(1, Buffer.from('frag-'), { mask, fin: false }),
    frame(9, Buffer.from('ping!'), { mask }),
    frame(0, Buffer.from('mented'), { mask }),
    frame(2, Buffer.alloc(70_000, 7), { mask }),
  ]);
  const server = Buffer.concat([
    b('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'),
    frame(1, Buffer.from('héllo from the server')),
    frame(8, Buffer.from([0x03, 0xe8])),
  ]);
  for (const cut of [1, 50, 100, 117, 200, 300]) {
    const { store, tap } = setup();
    tap.fromClient(client.subarray(0, 100));
    tap.fromServer(server.subarray(0, cut % server.length));
    tap.fromClient(client.subarray(100, cut + 100));
    tap.fromServer(server.subarray(cut % server.length));
    tap.fromClient(client.subarray(cut + 100));
    const [ex] = store.list();
    assert.ok(ex);
    assert.equal(ex.status, 101);
    assert.equal(ex.upgrade, 'websocket');
    assert.equal(ex.state, 'streaming');
    const seen = ex.ws.map((m) => [m.from, m.opcode, m.size, m.opcode === 2 ? m.data.length : m.data.toString()]);
    assert.deepEqual(
      seen.filter((s) => s[0] === 'client'),
      [
        ['client', 1, 21, 'hello from the client'],
        ['client', 9, 5, 'ping!'],
        ['client', 1, 11, 'frag-mented'],
        ['client', 2, 70_000, 64 * 1024],
      ],
      `cut ${cut}`,
    );
    assert.deepEqual(
      seen.filter((s) => s[0] === 'server'),
      [
        ['server', 1, Buffer.byteLength('héllo from the server'), 'héllo from the server'],
        ['server', 8, 2, '\u0003�'],
      ],
    );
    tap.end();
    assert.equal(ex.state, 'complete');
  }
});

test('a refused upgrade: the next request on the connection is read as HTTP again', () => {
  const { store, tap } = setup();
  tap.fromClient(b('GET /ws HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nGET /after HTTP/1.1\r\n\r\n'));
  tap.fromServer(
    b('HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\nnoHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
  );
  assert.deepEqual(
    store.list().map((e) => [e.path, e.status, e.state]),
    [
      ['/ws', 400, 'complete'],
      ['/after', 200, 'complete'],
    ],
  );
});

test('an event stream: events recorded as they pass (CRLF split across chunks, comments, ids)', () => {
  const { store, tap } = setup();
  tap.fromClient(b('GET /events HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n'));
  const body = ': hello\r\n\r\nevent: tick\r\ndata: one\r\nid: 1\r\n\r\ndata: two\ndata: lines\n\ndata:{"n":3}\r\r';
  const chunked = `${body.length.toString(16)}\r\n${body}\r\n`;
  const all = b(`HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`);
  for (let i = 0; i < all.length; i += 7) tap.fromServer(all.subarray(i, i + 7));
  const [ex] = store.list();
  assert.deepEqual(
    ex!.sse.map((e) => [e.event, e.data, e.id]),
    [
      ['tick', 'one', '1'],
      ['message', 'two\nlines', '1'],
      ['message', '{"n":3}', '1'],
    ],
  );
  assert.equal(ex!.state, 'streaming');
  tap.fromServer(b('0\r\n\r\n'));
  assert.equal(ex!.state, 'complete');
  assert.equal(detailOf(ex!).sse?.events.length, 3);
});

test('bodies over the limit keep their first bytes and say so; the record stays within its bounds', () => {
  const { store, tap } = setup({ bodyLimit: 10 });
  tap.fromClient(b('POST /big HTTP/1.1\r\nContent-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz'));
  tap.fromServer(b('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nshort'));
  const [ex] = store.list();
  assert.equal(ex!.requestBody.size, 26);
  assert.equal(ex!.requestBody.bytes().toString(), 'abcdefghij');
  const view = detailOf(ex!);
  assert.equal(view.requestBody.truncated, true);
  assert.equal(view.requestBody.size, 26);
  assert.equal(view.responseBody.truncated, false);
  assert.equal(view.responseBody.data, 'short');
});

test('WebSocket messages per request are bounded: the oldest go and are counted', () => {
  const { store, tap } = setup();
  tap.fromClient(b('GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'));
  tap.fromServer(b('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'));
  for (let i = 0; i < MAX_STREAM_ITEMS + 25; i++) tap.fromServer(frame(1, Buffer.from(`m${i}`)));
  const [ex] = store.list();
  assert.equal(ex!.ws.length, MAX_STREAM_ITEMS);
  assert.equal(ex!.wsDropped, 25);
  assert.equal(ex!.ws[0]!.data.toString(), 'm25');
});

test('the store keeps the last N requests and drops the oldest', () => {
  const { store, tap } = setup({ keep: 3 });
  const removed: number[] = [];
  store.on('remove', (ids) => removed.push(...ids));
  for (let i = 0; i < 5; i++) {
    tap.fromClient(b(`GET /${i} HTTP/1.1\r\n\r\n`));
    tap.fromServer(b('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  }
  assert.deepEqual(
    store.list().map((e) => e.path),
    ['/2', '/3', '/4'],
  );
  assert.deepEqual(removed, [1, 2]);
});

test('the byte budget drops the oldest requests too', () => {
  const { store, tap } = setup({ keep: 100, maxBytes: 5000 });
  for (let i = 0; i < 20; i++) {
    tap.fromClient(b(`GET /${i} HTTP/1.1\r\n\r\n`));
    tap.fromServer(b(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(1000)}`));
  }
  assert.ok(store.bytes <= 5000, `${store.bytes} bytes kept`);
  assert.ok(store.size < 20 && store.size >= 3, `${store.size} kept`);
  assert.equal(store.list().at(-1)!.path, '/19');
});

test('what the tap cannot follow stops the tap for that connection only, keeping what it saw', () => {
  const { store, tap } = setup();
  tap.fromClient(b('GET /ok HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n'));
  tap.fromServer(b('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nnot http at all\r\n\r\n'));
  assert.equal(tap.following, false);
  assert.deepEqual(
    store.list().map((e) => [e.path, e.state]),
    [
      ['/ok', 'complete'],
      ['/next', 'incomplete'],
    ],
  );
  tap.fromClient(b('GET /ignored HTTP/1.1\r\n\r\n'));
  assert.equal(store.size, 2);
  // a close-delimited response is complete when the connection ends
  const other = setup();
  other.tap.fromClient(b('GET /stream HTTP/1.0\r\n\r\n'));
  other.tap.fromServer(b('HTTP/1.0 200 OK\r\n\r\nuntil the end'));
  other.tap.end();
  const [ex] = other.store.list();
  assert.equal(ex!.state, 'complete');
  assert.equal(ex!.responseBody.bytes().toString(), 'until the end');
});

test('the detail view: a gzip body decompressed, binary as base64, UTF-8 text as text, 100 Continue skipped', () => {
  const { store, tap } = setup();
  const gz = zlib.gzipSync(Buffer.from('{"zipped":true}'));
  tap.fromClient(b('POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n'));
  tap.fromServer(b('HTTP/1.1 100 Continue\r\n\r\n'));
  tap.fromClient(Buffer.from([0, 1, 2, 255]));
  tap.fromServer(
    Buffer.concat([
      b(
        `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`,
      ),
      gz,
    ]),
  );
  tap.fromClient(Buffer.from('GET /héllo HTTP/1.1\r\nX-Name: é\r\n\r\n', 'utf8'));
  tap.fromServer(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nnaïve', 'utf8'));
  const [up, text] = store.list().map(detailOf);
  assert.equal(up!.status, 200);
  assert.deepEqual(
    { encoding: up!.requestBody.encoding, data: up!.requestBody.data },
    { encoding: 'base64', data: Buffer.from([0, 1, 2, 255]).toString('base64') },
  );
  assert.equal(up!.responseBody.decoded, 'gzip');
  assert.equal(up!.responseBody.data, '{"zipped":true}');
  assert.equal(up!.responseBody.size, gz.length, 'the size is what was sent');
  assert.equal(text!.path, '/héllo', 'a UTF-8 path is shown as UTF-8');
  assert.deepEqual(text!.requestHeaders, [['X-Name', 'é']]);
  assert.equal(text!.responseBody.data, 'naïve');
});

test('a pipeline deeper than MAX_TAP_PIPELINE stops the tap for that connection (records stay bounded)', () => {
  const { store, tap } = setup({ keep: 1000 });
  tap.fromClient(b('GET /x HTTP/1.1\r\n\r\n'.repeat(MAX_TAP_PIPELINE + 50)));
  assert.equal(tap.following, false);
  assert.equal(store.size, MAX_TAP_PIPELINE);
  assert.ok(store.list().every((e) => e.state === 'incomplete'));
});
