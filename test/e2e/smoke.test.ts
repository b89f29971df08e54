import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTunnel } from '../../src/index.js';
import { closeHttp, hostFor, request, startOrigin, startServer } from '../helpers/harness.js';

test('a GET reaches the origin through a tunnel', async (t) => {
  const { server, url, port } = await startServer();
  t.after(() => server.close());
  const origin = await startOrigin((req, res) => {
    res.setHeader('x-seen-host', req.headers.host ?? '');
    res.end(`hello ${req.url} via ${String(req.headers['x-forwarded-for'])}`);
  });
  t.after(() => closeHttp(origin.server));
  const tunnel = await openTunnel({ port: origin.port, server: url, localHost: '127.0.0.1' });
  t.after(() => tunnel.close());
  assert.match(tunnel.url, /^http:\/\/[a-z]+-[a-z]+-\d{4}\.localhost:\d+$/);
  const r = await request(port, hostFor(tunnel.url), '/x?y=1');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'hello /x?y=1 via 127.0.0.1');
});
