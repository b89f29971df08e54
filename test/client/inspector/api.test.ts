/**
 * The inspector's JSON API and its guards, through a real server + openTunnel({ inspect }) + origin:
 * list, detail, replay (as it was, edited, refused), clear; a password off loopback; a foreign Host
 * or a cross-origin POST refused; events for a status panel; a page that stops reading misses
 * updates (and is told to resync) while the tunnel runs on.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { startInspector, type InspectorEvents } from '../../../src/client/inspector/inspector.js';
import { MAX_LIVE_QUEUE_BYTES } from '../../../src/client/inspector/limits.js';
import { startStack } from '../../helpers/stack.js';
import { waitUntil } from '../../helpers/wait.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const echo: http.RequestListener = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString() }));
  });
};

// the API's JSON, read loosely (each test checks the fields it needs)
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function api(
  base: string,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(base + path, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const post = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

test('the JSON API: list, detail, replay as it was and edited, bad edits, unknown ids, clear', async (t) => {
  const s = await startStack(t, echo, { tunnel: { inspect: { port: 0 } } });
  const base = s.tunnel.inspector!.url;
  assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
  const r = await s.visit('/items?x=1', { method: 'PUT', body: 'payload', headers: { 'content-type': 'text/plain' } });
  assert.equal(r.status, 200);
  await waitUntil(async () => (await api(base, '/api/requests')).body.requests[0]?.state === 'complete');
  const list = (await api(base, '/api/requests')).body;
  assert.equal(list.keep, 500);
  assert.equal(list.bodyLimit, 1024 * 1024);
  const [summary] = list.requests;
  assert.equal(summary.method, 'PUT');
  assert.equal(summary.path, '/items?x=1');
  assert.equal(summary.status, 200);
  assert.equal(summary.tunnel, s.tunnel.name);
  assert.equal(summary.clientIp, '127.0.0.1');
  assert.equal(summary.size, r.body.length);
  const detail = (await api(base, `/api/requests/${summary.id}`)).body;
  assert.equal(detail.requestBody.data, 'payload');
  assert.deepEqual(JSON.parse(detail.responseBody.data), { method: 'PUT', url: '/items?x=1', body: 'payload' });
  assert.ok(detail.requestHeaders.some(([k, v]: [string, string]) => k.toLowerCase() === 'x-forwarded-for' && v));

  const again = await api(base, `/api/requests/${summary.id}/replay`, post({}));
  assert.equal(again.status, 200);
  assert.equal(again.body.replayOf, summary.id);
  assert.deepEqual(JSON.parse(again.body.responseBody.data), { method: 'PUT', url: '/items?x=1', body: 'payload' });
  const edited = await api(
    base,
    `/api/requests/${summary.id}/replay`,
    post({
      method: 'POST',
      path: '/other',
      headers: { 'Content-Type': 'text/plain' },
      body: 'bmV3',
      bodyEncoding: 'base64',
    }),
  );
  assert.deepEqual(JSON.parse(edited.body.responseBody.data), { method: 'POST', url: '/other', body: 'new' });

  const bad = await api(base, `/api/requests/${summary.id}/replay`, post({ path: 'no slash' }));
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'BURROW_ERR_BAD_REQUEST');
  assert.match(bad.body.error.message, /not a request path/);
  assert.ok(bad.body.error.fix);
  const badHeader = await api(base, `/api/requests/${summary.id}/replay`, post({ headers: [['X-Bad', 'a\r\nb']] }));
  assert.equal(badHeader.status, 400);
  const notJson = await api(base, `/api/requests/${summary.id}/replay`, { method: 'POST', body: '{}' });
  assert.equal(notJson.status, 400, 'a replay needs Content-Type: application/json');
  const missing = await api(base, '/api/requests/99999');
  assert.equal(missing.status, 404);
  assert.match(missing.body.error.message, /no request 99999/);
  assert.equal((await api(base, '/api/requests', { method: 'PUT' })).status, 405);

  assert.equal((await api(base, '/api/requests')).body.requests.length, 3, 'the two replays are recorded too');
  assert.equal((await api(base, '/api/requests', { method: 'DELETE' })).status, 204);
  assert.equal((await api(base, '/api/requests')).body.requests.length, 0);
  // the page itself, with its strict CSP
  const page = await fetch(`${base}/`);
  assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  assert.match(await page.text(), /burrow inspector/);
});

test('a large response under the inspector: the visitor gets every byte, the inspector keeps the first body-limit bytes exactly (the local side read into reused buffers)', async (t) => {
  // random, so a buffer read into again too early could not hold the same bytes by chance
  const body = randomBytes(3 * 1024 * 1024 + 5);
  const s = await startStack(
    t,
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    },
    { tunnel: { inspect: { port: 0 } } },
  );
  const base = s.tunnel.inspector!.url;
  const r = await s.visit('/big');
  assert.equal(r.status, 200);
  assert.equal(sha(r.body), sha(body), 'the visitor got the body byte-exact');
  await waitUntil(async () => (await api(base, '/api/requests')).body.requests[0]?.state === 'complete');
  const [summary] = (await api(base, '/api/requests')).body.requests;
  const detail = (await api(base, `/api/requests/${summary.id}`)).body;
  assert.equal(detail.responseBody.size, body.length);
  assert.equal(detail.responseBody.truncated, true);
  assert.equal(detail.responseBody.encoding, 'base64');
  const kept = Buffer.from(detail.responseBody.data, 'base64');
  assert.equal(kept.length, 1024 * 1024);
  assert.ok(kept.equals(body.subarray(0, kept.length)), 'the kept bytes are the first bytes of the body');
});

test('events for a status panel: request, then exchange with method, path, status and ms', async (t) => {
  const s = await startStack(t, echo, { tunnel: { inspect: { port: 0 } } });
  const seen: InspectorEvents['exchange'][0][] = [];
  const started: string[] = [];
  s.tunnel.inspector!.on('request', (r) => started.push(r.path));
  s.tunnel.inspector!.on('exchange', (r) => seen.push(r));
  await s.visit('/a');
  await s.visit('/b', { method: 'POST', body: 'x' });
  await waitUntil(() => seen.length === 2);
  assert.deepEqual(started, ['/a', '/b']);
  assert.deepEqual(
    seen.map((e) => [e.method, e.path, e.status, e.state]),
    [
      ['GET', '/a', 200, 'complete'],
      ['POST', '/b', 200, 'complete'],
    ],
  );
  assert.ok(seen.every((e) => typeof e.durationMs === 'number' && e.durationMs >= 0));
});

test('off loopback the inspector needs a password; with one, every request must carry it', async (t) => {
  await assert.rejects(startInspector({ host: '0.0.0.0', port: 0 }), /without a password/);
  await assert.rejects(startInspector({ port: 0, auth: 'nocolon' }), /user:pass/);
  await assert.rejects(startInspector({ port: 0, keep: 0 }), /keep 0/);
  const inspector = await startInspector({ host: '0.0.0.0', port: 0, auth: 'me:s3cret' });
  t.after(() => inspector.close());
  const base = `http://127.0.0.1:${inspector.address.port}`;
  const anon = await api(base, '/api/requests');
  assert.equal(anon.status, 401);
  assert.match(anon.headers.get('www-authenticate') ?? '', /^Basic/);
  const wrong = await api(base, '/api/requests', {
    headers: { authorization: `Basic ${Buffer.from('me:wrong').toString('base64')}` },
  });
  assert.equal(wrong.status, 401);
  const ok = await api(base, '/api/requests', {
    headers: { authorization: `Basic ${Buffer.from('me:s3cret').toString('base64')}` },
  });
  assert.equal(ok.status, 200);
});

test('on loopback without a password: a foreign Host (DNS rebinding) and a cross-origin POST are refused', async (t) => {
  const inspector = await startInspector({ port: 0 });
  t.after(() => inspector.close());
  const { port } = inspector.address;
  const raw = (headers: Record<string, string>, method = 'GET', path = '/api/requests'): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
  assert.equal(await raw({ host: `localhost:${port}` }), 200);
  assert.equal(await raw({ host: `evil.example:${port}` }), 403);
  assert.equal(await raw({ host: `127.0.0.1:${port}`, origin: 'http://evil.example' }, 'DELETE'), 403);
  assert.equal(await raw({ host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` }, 'DELETE'), 204);
});

test('a page that stops reading misses updates, never holds the tunnel, and is told to resync', async (t) => {
  const s = await startStack(t, echo, { tunnel: { inspect: { port: 0 } } });
  const { port } = s.tunnel.inspector!.address;
  // a live stream whose reader never reads: only the kernel's buffers and MAX_LIVE_QUEUE_BYTES fill
  const sock = net.connect(port, '127.0.0.1');
  t.after(() => sock.destroy());
  await once(sock, 'connect');
  sock.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  await once(sock, 'data');
  sock.pause();
  // 16 KB a summary, 600 requests: more than the socket buffers and the queue limit hold
  const longPath = `/${'p'.repeat(16_000)}`;
  const REQUESTS = 600;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < REQUESTS) {
      const r = await s.visit(`${longPath}?${next++}`);
      assert.equal(r.status, 200, 'every request is answered while the page does not read');
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  // let the feed flush what it would, then read everything: a resync follows the drain
  let text = '';
  sock.on('data', (c: Buffer) => (text += c.toString('latin1')));
  sock.resume();
  await waitUntil(() => text.includes('event: resync'), { what: 'a resync event once the page reads again' });
  const updates = (text.match(/event: requests/g) ?? []).length;
  assert.ok(updates > 0, 'updates were sent before the page fell behind');
  assert.ok(
    text.length < REQUESTS * 16_000,
    `${text.length} bytes reached the page: fewer than one update per request (the rest were dropped)`,
  );
  assert.ok(text.length > MAX_LIVE_QUEUE_BYTES, 'it fell behind only past the queue limit');
});
