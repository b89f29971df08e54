/** An exception inside a handler is burrow's bug: 500 BURROW_ERR_INTERNAL, logged, and the server keeps serving. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { request, startServer } from '../helpers/harness.js';

void test('regression: a handler that throws answers 500 BURROW_ERR_INTERNAL (not an origin error) and the server keeps serving', async (t) => {
  const srv = await startServer({
    adapters: [
      {
        name: 'boom',
        handleRequest(_req, _res, url) {
          if (url.pathname === '/boom') throw new Error('a bug in an adapter');
          return false;
        },
      },
    ],
  });
  t.after(() => srv.server.close());
  const own = `127.0.0.1:${srv.port}`;
  const r = await request(srv.port, own, '/boom');
  assert.equal(r.status, 500);
  assert.equal(r.headers['x-burrow-error'] ?? JSON.parse(r.body.toString()).error.code, 'BURROW_ERR_INTERNAL');
  assert.doesNotMatch(r.body.toString(), /a bug in an adapter/, 'no internals in the answer');
  assert.equal((await request(srv.port, own, '/healthz')).status, 200);
});
