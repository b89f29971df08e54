/**
 * An open console's live stream (Server-Sent Events) is not work to drain: closing the server ends
 * it at once instead of waiting out the drain timeout (10 s by default) — found while building it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { ADMIN_TOKEN, BACKENDS, startComposed } from '../e2e/accounts/helpers.js';

test('closing the server ends an open console stream at once (no wait for the drain timeout)', async () => {
  const db = await BACKENDS[0]!.create();
  const srv = await startComposed(db.url);
  try {
    const r = await fetch(`${srv.url}/admin/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: ADMIN_TOKEN }),
    });
    assert.equal(r.status, 200);
    const cookie = r.headers.get('set-cookie')!.split(';')[0]!;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: srv.port, path: '/admin/events', headers: { cookie } }, resolve)
        .once('error', reject);
    });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/);
    const ended = new Promise<void>((resolve) => res.once('close', resolve));
    res.resume();
    assert.ok(srv.composed.server.config.drainTimeoutMs >= 5000, 'a drain timeout long enough to notice');
    const started = Date.now();
    await srv.composed.close();
    assert.ok(Date.now() - started < 2000, `close took ${Date.now() - started} ms`);
    await ended;
  } finally {
    await srv.composed.close();
    await db.cleanup();
  }
});
