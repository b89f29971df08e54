import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeHttp, request, startOrigin } from '../../helpers/harness.js';
import { connectTunely, startTunelyServer, TOKEN } from './helpers.js';

void test('tunely: JSON POST round trip, query string, headers both ways, /t/<name>/ routing', async (t) => {
  const s = await startTunelyServer();
  t.after(() => s.server.close());
  const seen: { method: string; url: string; headers: Record<string, unknown>; body: string }[] = [];
  const origin = await startOrigin((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-origin', 'yes');
      res.setHeader('keep-alive', 'timeout=5');
      res.end(JSON.stringify({ got: body ? (JSON.parse(body) as unknown) : null, url: req.url }));
    });
  });
  t.after(() => closeHttp(origin.server));
  const agent = await connectTunely({ server: s.wsUrl, token: TOKEN, target: `http://127.0.0.1:${origin.port}` });
  t.after(() => agent.kill());

  const host = `demo.localhost:${s.port}`;
  const post = await request(s.port, host, '/api/items?x=1&y=%C3%A9', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-custom': 'abc', cookie: 'a=1', expect: '100-continue' },
    body: JSON.stringify({ hello: 'wörld ✓' }),
  });
  assert.equal(post.status, 200);
  assert.equal(post.headers['x-origin'], 'yes');
  assert.equal(post.headers['keep-alive'], undefined);
  assert.equal(post.headers['content-length'], String(post.body.length));
  assert.deepEqual(JSON.parse(post.body.toString()), { got: { hello: 'wörld ✓' }, url: '/api/items?x=1&y=%C3%A9' });
  const first = seen[0]!;
  assert.equal(first.method, 'POST');
  assert.equal(first.url, '/api/items?x=1&y=%C3%A9');
  assert.equal(first.headers['x-custom'], 'abc');
  assert.equal(first.headers['cookie'], 'a=1');
  assert.equal(first.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(first.headers['x-forwarded-host'], host);
  assert.equal(first.headers['host'], `127.0.0.1:${origin.port}`, 'the visitor Host is not passed to the agent');

  const get = await request(s.port, host, '/plain?q=search+terms');
  assert.equal(get.status, 200);
  assert.equal(JSON.parse(get.body.toString()).url, '/plain?q=search+terms');
  assert.equal(seen[1]!.body, '');

  // The same tunnel on the server's own host, prefix stripped, query kept.
  const viaPath = await request(s.port, `127.0.0.1:${s.port}`, '/t/demo/api/v1?z=2', {
    method: 'PUT',
    body: '{"k":1}',
  });
  assert.equal(viaPath.status, 200);
  assert.deepEqual(JSON.parse(viaPath.body.toString()), { got: { k: 1 }, url: '/api/v1?z=2' });
  const root = await request(s.port, `localhost:${s.port}`, '/t/demo?only=query');
  assert.equal(JSON.parse(root.body.toString()).url, '/?only=query');

  assert.deepEqual(s.adapter.stats(), { tunelyAgents: 1 });
  const metrics = await s.server.metrics.registry.metrics();
  assert.match(metrics, /burrow_http_requests_total\{protocol="tunely",status="200"\} 4/);
});
