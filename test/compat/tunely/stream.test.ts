import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { closeHttp, startOrigin } from '../../helpers/harness.js';
import { connectTunely, startTunelyServer, TOKEN } from './helpers.js';

void test('tunely: SSE events reach the visitor as they are sent (the first before the origin sends the second)', async (t) => {
  const s = await startTunelyServer();
  t.after(() => s.server.close());
  let sendSecond: (() => void) | undefined;
  const secondAllowed = new Promise<void>((r) => (sendSecond = r));
  let secondSentAt = 0;
  const origin = await startOrigin((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-stream': req.url ?? '' });
    res.write('event: tick\ndata: one\n\n');
    void secondAllowed.then(() => {
      secondSentAt = Date.now();
      res.write('event: tick\ndata: two ✓\n\n');
      res.end();
    });
  });
  t.after(() => closeHttp(origin.server));
  const agent = await connectTunely({ server: s.wsUrl, token: TOKEN, target: `http://127.0.0.1:${origin.port}` });
  t.after(() => agent.kill());

  const req = http.request({
    host: '127.0.0.1',
    port: s.port,
    path: '/events?topic=a',
    headers: { host: `demo.localhost:${s.port}`, accept: 'text/event-stream' },
  });
  req.end();
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'text/event-stream');
  assert.equal(res.headers['x-stream'], '/events?topic=a');
  assert.equal(res.headers['content-length'], undefined);
  res.setEncoding('utf8');
  let received = '';
  let firstAt = 0;
  const firstEvent = new Promise<void>((resolve) => {
    res.on('data', (c: string) => {
      received += c;
      if (!firstAt && received.includes('data: one\n\n')) {
        firstAt = Date.now();
        resolve();
      }
    });
  });
  await firstEvent;
  assert.ok(!received.includes('two'), 'the second event has not been sent yet');
  sendSecond!();
  await once(res, 'end');
  assert.ok(firstAt > 0 && firstAt <= secondSentAt);
  assert.equal(received, 'event: tick\ndata: one\n\nevent: tick\ndata: two ✓\n\n');
});

void test('tunely: a visitor that leaves mid-stream does not disturb the agent', async (t) => {
  const s = await startTunelyServer();
  t.after(() => s.server.close());
  const origin = await startOrigin((req, res) => {
    if (req.url === '/ping') return res.end('pong');
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: hello\n\n');
    const timer = setInterval(() => res.write('data: more\n\n'), 20);
    res.on('close', () => clearInterval(timer));
  });
  t.after(() => closeHttp(origin.server));
  const agent = await connectTunely({ server: s.wsUrl, token: TOKEN, target: `http://127.0.0.1:${origin.port}` });
  t.after(() => agent.kill());

  const req = http.request({
    host: '127.0.0.1',
    port: s.port,
    path: '/sse',
    headers: { host: `demo.localhost:${s.port}` },
  });
  req.end();
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  await once(res, 'data');
  req.destroy();
  // The tunnel still serves other visitors.
  const r = await fetch(`http://127.0.0.1:${s.port}/t/demo/ping`);
  assert.equal(await r.text(), 'pong');
});
