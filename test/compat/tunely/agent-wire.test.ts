/** The server's side of tunely's wire, driven by a hand-written agent (exact messages, edge cases). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import WebSocket from 'ws';
import { request } from '../../helpers/harness.js';
import { staticTokenId } from '../../../src/adapters/tunely/index.js';
import { startTunelyServer, TOKEN, type TunelyServer } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

interface RawAgent {
  ws: WebSocket;
  /** Next `request` message the server sends (pings are skipped). */
  nextRequest(): Promise<Record<string, unknown> & { id: string }>;
  send(msg: Record<string, unknown>): void;
}

async function rawAgent(s: TunelyServer, token = TOKEN): Promise<RawAgent> {
  const ws = new WebSocket(s.wsUrl);
  await once(ws, 'open');
  ws.send(JSON.stringify({ type: 'auth', token, client_version: 'test', force: false }));
  const queue: (Record<string, unknown> & { id: string })[] = [];
  const waiters: ((m: Record<string, unknown> & { id: string }) => void)[] = [];
  let authed: (() => void) | undefined;
  const ok = new Promise<void>((r) => (authed = r));
  ws.on('message', (d: Buffer) => {
    const m = JSON.parse(d.toString()) as Record<string, unknown> & { id: string };
    if (m['type'] === 'auth_ok') authed?.();
    if (m['type'] !== 'request') return;
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  await ok;
  return {
    ws,
    nextRequest: () => {
      const m = queue.shift();
      return m ? Promise.resolve(m) : new Promise((r) => waiters.push(r));
    },
    send: (msg) => ws.send(JSON.stringify(msg)),
  };
}

void test('tunely wire: the request message (headers stripped, body null on GET, timeout in seconds)', async (t) => {
  const s = await startTunelyServer({ requestTimeoutMs: 12_500 });
  t.after(() => s.server.close());
  const a = await rawAgent(s);
  t.after(() => a.ws.terminate());

  const visitor = request(s.port, `demo.localhost:${s.port}`, '/a/b?c=d&e', {
    headers: {
      connection: 'keep-alive, x-hop',
      'x-hop': '1',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      'x-app': 'v',
      'content-length': '14',
    },
    body: 'ignored on GET',
  });
  const m = await a.nextRequest();
  assert.equal(m['method'], 'GET');
  assert.equal(m['path'], '/a/b?c=d&e');
  assert.equal(m['body'], null);
  assert.equal(m['timeout'], 12.5);
  const h = m['headers'] as Record<string, string>;
  for (const k of [
    'host',
    'connection',
    'keep-alive',
    'te',
    'x-hop',
    'content-length',
    'transfer-encoding',
    'expect',
  ]) {
    assert.equal(h[k], undefined, k);
  }
  assert.equal(h['x-app'], 'v');
  assert.equal(h['x-forwarded-proto'], 'http');
  a.send({
    type: 'response',
    id: m.id,
    status: 201,
    headers: {
      'content-encoding': 'gzip',
      'content-length': '999',
      'transfer-encoding': 'chunked',
      connection: 'close',
      'x-ok': '1',
    },
    body: 'héllo',
  });
  const r = await visitor;
  assert.equal(r.status, 201, r.body.toString());
  assert.equal(r.body.toString(), 'héllo');
  assert.equal(r.headers['content-length'], String(Buffer.byteLength('héllo')));
  assert.equal(r.headers['content-encoding'], undefined);
  assert.equal(r.headers['x-ok'], '1');

  // A chunked POST body arrives as one text body.
  const post = http.request({
    host: '127.0.0.1',
    port: s.port,
    method: 'POST',
    path: '/p',
    headers: { host: `demo.localhost:${s.port}`, 'transfer-encoding': 'chunked' },
  });
  post.write('part1-');
  post.end('part2 ✓');
  const pm = await a.nextRequest();
  assert.equal(pm['body'], 'part1-part2 ✓');
  assert.equal((pm['headers'] as Record<string, string>)['transfer-encoding'], undefined);
  a.send({ type: 'response', id: pm.id, status: 204, headers: {}, body: null });
  const [pres] = (await once(post, 'response')) as [http.IncomingMessage];
  assert.equal(pres.statusCode, 204);
  pres.resume();
});

void test('tunely wire: no answer → 504 from the server; a late answer and junk are ignored', async (t) => {
  const s = await startTunelyServer({ requestTimeoutMs: 200 });
  t.after(() => s.server.close());
  const a = await rawAgent(s);
  t.after(() => a.ws.terminate());
  const visitor = request(s.port, `demo.localhost:${s.port}`, '/');
  const m = await a.nextRequest();
  const r = await visitor;
  assert.equal(r.status, 504);
  assert.equal(r.headers['x-burrow-error'], 'BURROW_ERR_TIMEOUT');
  a.send({ type: 'response', id: m.id, status: 200, headers: {}, body: 'late' });
  a.ws.send('not json');
  a.send({ type: 'stream_chunk', id: 'nope', data: 'x' });
  a.send({ type: 'response', id: 'x', status: 'bad' });
  // Still connected and serving.
  const next = request(s.port, `demo.localhost:${s.port}`, '/again');
  const m2 = await a.nextRequest();
  a.send({ type: 'response', id: m2.id, status: 200, headers: {}, body: 'fine' });
  assert.equal((await next).body.toString(), 'fine');
  // An unusable answer to a pending request fails that request at once (502), not after the timeout.
  const broken = request(s.port, `demo.localhost:${s.port}`, '/broken');
  const m3 = await a.nextRequest();
  a.send({ type: 'response', id: m3.id, status: 101, headers: {}, body: null });
  const rb = await broken;
  assert.equal(rb.status, 502);
  assert.match(rb.body.toString(), /response with status 101/);
});

void test('tunely wire: stream_start/chunk/end, concurrent requests, stream_end with error cuts the response', async (t) => {
  const s = await startTunelyServer();
  t.after(() => s.server.close());
  const a = await rawAgent(s);
  t.after(() => a.ws.terminate());
  const host = `demo.localhost:${s.port}`;

  const one = request(s.port, host, '/one');
  const two = request(s.port, host, '/two');
  const m1 = await a.nextRequest();
  const m2 = await a.nextRequest();
  // Answer out of order, interleaved.
  a.send({
    type: 'stream_start',
    id: m2.id,
    status: 200,
    headers: { 'content-type': 'text/event-stream', 'content-length': '5' },
  });
  a.send({ type: 'stream_chunk', id: m2.id, data: 'data: a\n\n', sequence: 0 });
  a.send({ type: 'response', id: m1.id, status: 200, headers: {}, body: m1['path'] });
  a.send({ type: 'stream_chunk', id: m2.id, data: 'data: b\n\n', sequence: 1 });
  a.send({ type: 'stream_end', id: m2.id, total_chunks: 2 });
  const [r1, r2] = await Promise.all([one, two]);
  assert.equal(r1.body.toString(), m1['path']);
  assert.equal(r2.body.toString(), 'data: a\n\ndata: b\n\n');
  assert.equal(r2.headers['transfer-encoding'], 'chunked');

  const cut = new Promise<string>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: s.port, path: '/cut', headers: { host } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve('end'));
      res.on('aborted', () => resolve('aborted'));
      res.on('error', () => resolve('aborted'));
    });
    req.on('error', () => resolve('aborted'));
    req.end();
  });
  const m3 = await a.nextRequest();
  a.send({ type: 'stream_start', id: m3.id, status: 200, headers: { 'content-type': 'text/event-stream' } });
  a.send({ type: 'stream_chunk', id: m3.id, data: 'data: partial\n\n' });
  a.send({ type: 'stream_end', id: m3.id, error: 'upstream reset' });
  assert.equal(await cut, 'aborted');
});

void test('tunely: disconnectToken closes the agent (1008) and its tunnel answers 503', async (t) => {
  const s = await startTunelyServer();
  t.after(() => s.server.close());
  const a = await rawAgent(s);
  const closed = once(a.ws, 'close');
  assert.equal(s.adapter.disconnectToken('static:nothing'), 0);
  assert.equal(s.adapter.disconnectToken(staticTokenId(TOKEN)), 1);
  const [code] = (await closed) as [number];
  assert.equal(code, 1008);
  await waitUntil(() => s.adapter.stats().tunelyAgents === 0);
  assert.equal((await request(s.port, `demo.localhost:${s.port}`, '/')).status, 503);
});

void test('tunely: server.close() closes agents with 1001 and releases names', async () => {
  const s = await startTunelyServer();
  const a = await rawAgent(s);
  const closed = once(a.ws, 'close');
  await s.server.close();
  const [code] = (await closed) as [number];
  assert.equal(code, 1001);
  assert.equal(s.server.registry.size, 0);
  assert.deepEqual(s.adapter.stats(), { tunelyAgents: 0 });
});

void test('tunely: a streamed visitor that stops reading is cut at maxVisitorBufferedBytes; others keep working', async (t) => {
  const s = await startTunelyServer({ maxVisitorBufferedBytes: 256 * 1024 });
  t.after(() => s.server.close());
  const a = await rawAgent(s);
  t.after(() => a.ws.terminate());
  const host = `demo.localhost:${s.port}`;

  let res: http.IncomingMessage | undefined;
  const req = http.request({ host: '127.0.0.1', port: s.port, path: '/firehose', headers: { host } }, (r) => {
    res = r;
    r.pause(); // never reads
  });
  req.on('error', () => {});
  req.end();
  const m = await a.nextRequest();
  a.send({ type: 'stream_start', id: m.id, status: 200, headers: { 'content-type': 'text/event-stream' } });
  const chunk = `data: ${'x'.repeat(64 * 1024)}\n\n`;
  // Far more than the kernel buffers and the cap together.
  for (let i = 0; i < 400; i++) a.send({ type: 'stream_chunk', id: m.id, data: chunk, sequence: i });
  const tunnel = s.server.registry.get('demo')!;
  await waitUntil(() => tunnel.stats().bytesOut > 0 && tunnel.stats().openStreams === 0, {
    timeoutMs: 10_000,
    what: 'the cut',
  });
  assert.ok(tunnel.stats().bytesOut < 400 * chunk.length, 'the server stopped writing to the slow visitor');
  assert.ok(res, 'the head arrived before the cut');
  res.on('error', () => {});
  const closed = new Promise<void>((resolve) => res!.on('close', () => resolve()));
  res.resume();
  await closed;
  assert.equal(res.complete, false, 'the slow visitor sees a cut response');

  const other = request(s.port, host, '/other');
  const m2 = await a.nextRequest();
  a.send({ type: 'response', id: m2.id, status: 200, headers: {}, body: 'still here' });
  assert.equal((await other).body.toString(), 'still here');
});
