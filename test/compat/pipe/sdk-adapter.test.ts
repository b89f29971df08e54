import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { pipe, createPipeAdapter, type PipeAdapter } from '../../../src/app/pipe.js';
import { BurrowError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/logger.js';
import { createMetrics } from '../../../src/server/metrics.js';
import type { ServerContext } from '../../../src/server/adapter.js';
import { startPipe, open, fetchText, type TestPipe } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';
import { readAll } from '../../helpers/net.js';

void describe('pipe SDK: send / receive', () => {
  let p: TestPipe;
  before(async () => {
    p = await startPipe();
  });
  after(async () => {
    await p.close();
  });

  void test('round trip with n=2, headers and filename', async () => {
    const a = pipe.receive('sdk/x', { server: p.url, n: 2 });
    const b = pipe.receive('sdk/x', { server: p.url, n: 2, filename: 'r.bin' });
    const s = pipe.send('sdk/x', Readable.from([Buffer.from('hello '), Buffer.from('sdk')]), {
      server: p.url,
      n: 2,
      contentType: 'application/octet-stream',
      xHoodyPipe: 'meta=1',
    });
    const [ba, bb] = await Promise.all([readAll(a), readAll(b)]);
    assert.equal(ba.toString(), 'hello sdk');
    assert.equal(bb.toString(), 'hello sdk');
    const ra = await a.response;
    assert.equal(ra.headers['x-hoody-pipe'], 'meta=1');
    assert.equal((await b.response).headers['content-disposition'], 'attachment; filename="r.bin"');
    const log = (await readAll(s)).toString();
    assert.match(log, /Transfer complete/);
    await s.done;
  });

  void test('server errors arrive as typed BurrowErrors', async () => {
    const first = pipe.receive('taken', { server: p.url });
    await waitUntil(() => p.handler.stats().pending === 1);
    const second = pipe.receive('taken', { server: p.url, n: 2 });
    second.on('error', () => {});
    await assert.rejects(second.response, (err: unknown) => {
      assert.ok(err instanceof BurrowError);
      assert.equal(err.code, 'BURROW_ERR_PIPE_REJECTED');
      assert.match(err.message, /The number of receivers should be 1 but 2/);
      return true;
    });
    first.destroy();
    await waitUntil(() => p.handler.stats().pending === 0, { what: 'destroying the stream frees the slot' });
    assert.throws(
      () => pipe.send('x'.repeat(1100), 'data', { server: p.url }),
      (err: unknown) => err instanceof BurrowError && err.code === 'BURROW_ERR_PIPE_PATH_TOO_LONG',
    );
    assert.throws(() => pipe.receive('x', { server: p.url, n: 0 }), BurrowError);
    const unreachable = pipe.receive('x', { server: 'http://127.0.0.1:1' });
    unreachable.on('error', () => {});
    await assert.rejects(
      unreachable.response,
      (err: unknown) => err instanceof BurrowError && err.code === 'BURROW_ERR_SERVER_UNREACHABLE',
    );
  });

  void test('a receive cut by the sender errors with BURROW_ERR_PIPE_ABORTED (not a clean end)', async () => {
    const r = pipe.receive('cut', { server: p.url });
    const errored = new Promise<unknown>((resolve) => r.on('error', resolve));
    r.resume();
    const body = new Readable({ read() {} });
    const s = pipe.send('cut', body, { server: p.url, contentLength: 1000 });
    s.resume();
    s.on('error', () => {});
    const before = p.handler.stats().bytesTransferred;
    body.push('partial');
    await waitUntil(() => p.handler.stats().bytesTransferred >= before + 7, { what: 'bytes to flow' });
    body.destroy(new Error('disk gone'));
    const err = await errored;
    assert.ok(err instanceof BurrowError);
    assert.equal(err.code, 'BURROW_ERR_PIPE_ABORTED');
  });

  void test('health and urls', async () => {
    const h = await pipe.health({ server: p.url });
    assert.equal(h.status, 'ok');
    assert.equal(typeof h.limits.maxReceivers, 'number');
    const u = pipe.urls('http://pipe.example.com', 'dir/my file', 3);
    assert.equal(u.receive, 'http://pipe.example.com/dir/my%20file?n=3');
    assert.equal(u.progress, 'http://pipe.example.com/dir/my%20file?progress=1');
    assert.equal(u.video, 'http://pipe.example.com/dir/my%20file?n=3&video=1');
    assert.equal(u.curlSend, "curl -T myfile 'http://pipe.example.com/dir/my%20file?n=3'");
  });
});

void describe('pipe adapter on a plain http server', () => {
  let server: Server;
  let adapter: PipeAdapter;
  let base: string;
  before(async () => {
    adapter = createPipeAdapter({ pipeHosts: ['pipe.example.com'] });
    server = createServer({ requestTimeout: 0 }, (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (!adapter.handleRequest(req, res, url)) {
        res.writeHead(404);
        res.end('not pipe');
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await adapter.close();
    server.close();
  });

  void test('serves /api/v1/pipe/* on the own host and leaves other paths alone', async () => {
    assert.equal((await fetchText(`${base}/other`)).text, 'not pipe');
    assert.equal((await fetchText(`${base}/api/v1/pipe/health`)).status, 200);
    assert.equal((await fetchText(`${base}/api/v1/pipe`)).status, 200);
    assert.match((await fetchText(`${base}/api/v1/pipe/`)).text, /data-base="\/api\/v1\/pipe\/"/);
  });

  void test('a pipe host gets bare paths; a separate pipe port shares the same pipes', async () => {
    const extra = await adapter.listen({ port: 0, address: '127.0.0.1' });
    const r = open(`${base}/shared`, { headers: { host: 'PIPE.example.com:8443' } });
    await waitUntil(() => adapter.handler.stats().pending === 1);
    const s = await fetchText(`${extra.url}/shared`, { method: 'PUT', body: 'via port' });
    assert.equal(s.status, 200);
    assert.equal((await r.reply).text, 'via port');
    assert.equal(adapter.isPipeHost('pipe.example.com'), true);
    assert.equal(adapter.isPipeHost('example.com'), false);
    assert.equal(adapter.claimsHost('pipe.example.com:443'), true);
    const stats = adapter.stats();
    assert.equal(stats.pipe_transfers_completed, 1);
    assert.equal(stats.pipe_bytes, 8);
  });

  void test('start(ctx) registers burrow_pipe_* gauges on the server registry', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    adapter.start({ logger: silentLogger(), metrics } as unknown as ServerContext);
    adapter.start({ logger: silentLogger(), metrics } as unknown as ServerContext);
    // the gauges module (and prom-client) loads on start, a moment later
    await waitUntil(() => metrics.registry.getSingleMetric('burrow_pipe_bytes') !== undefined);
    const text = await metrics.registry.metrics();
    assert.match(text, /burrow_pipe_transfers\{outcome="complete"\} 1/);
    assert.match(text, /burrow_pipe_pipes\{state="pending"\} 0/);
    assert.match(text, /burrow_pipe_bytes 8/);
  });
});
