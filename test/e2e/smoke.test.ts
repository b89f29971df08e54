import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from '../helpers/harness.js';
import { startStack } from '../helpers/stack.js';

test('a GET reaches the origin through a tunnel', async (t) => {
  const { tunnel, port, host } = await startStack(t, (req, res) => {
    res.setHeader('x-seen-host', req.headers.host ?? '');
    res.end(`hello ${req.url} via ${String(req.headers['x-forwarded-for'])}`);
  });
  assert.match(tunnel.url, /^http:\/\/[a-z]+-[a-z]+-\d{4}\.localhost:\d+$/);
  const r = await request(port, host, '/x?y=1');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'hello /x?y=1 via 127.0.0.1');
});
