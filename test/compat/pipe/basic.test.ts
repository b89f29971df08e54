import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPipe, open, fetchText, type TestPipe } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

void describe('pipe: rendezvous and messages', () => {
  let p: TestPipe;
  before(async () => {
    p = await startPipe();
  });
  after(async () => {
    await p.close();
  });

  void test('receiver first, then sender: body and [INFO] lines', async () => {
    const r = open(`${p.url}/one`);
    await waitUntil(() => p.handler.stats().pending === 1, { what: 'receiver to wait' });
    const s = await fetchText(`${p.url}/one`, {
      method: 'PUT',
      body: 'hello pipe!',
      headers: { 'content-type': 'text/plain' },
    });
    const got = await r.reply;
    assert.equal(got.status, 200);
    assert.equal(got.text, 'hello pipe!');
    assert.equal(got.headers['content-length'], '11');
    assert.equal(got.headers['content-type'], 'text/plain');
    assert.equal(got.headers['x-robots-tag'], 'none');
    assert.equal(got.headers['x-content-type-options'], 'nosniff');
    assert.equal(got.headers['access-control-allow-origin'], '*');
    assert.equal(got.headers['access-control-expose-headers'], undefined);
    assert.equal(s.status, 200);
    assert.equal(s.headers['content-type'], 'text/plain');
    assert.equal(
      s.text,
      '[INFO] Waiting for 1 receiver(s) to connect...\n' +
        '[INFO] 1 receiver(s) already connected.\n' +
        '[INFO] Streaming to 1 receiver(s)...\n' +
        '[INFO] Upload complete.\n' +
        '[INFO] Transfer complete.\n',
    );
    assert.equal(p.handler.stats().pending, 0);
    assert.equal(p.handler.stats().active, 0);
  });

  void test('sender first (POST), then receiver; absent Content-Type stays absent', async () => {
    const s = open(`${p.url}/two`, { method: 'POST', keepOpen: true });
    const sres = await s.response;
    assert.equal(sres.statusCode, 200);
    s.req.end('payload');
    const got = await fetchText(`${p.url}/two`);
    assert.equal(got.text, 'payload');
    assert.equal(got.headers['content-type'], undefined);
    const log = (await s.reply).text;
    assert.match(
      log,
      /^\[INFO\] Waiting for 1 receiver\(s\) to connect\.\.\.\n\[INFO\] A receiver connected \(1\/1\)\.\n\[INFO\] Streaming to 1 receiver\(s\)\.\.\.\n/,
    );
    assert.match(log, /\[INFO\] Transfer complete\.\n$/);
  });

  void test('/api/v1/pipe/<path> is the same pipe as /<path>', async () => {
    const r = open(`${p.url}/api/v1/pipe/same`);
    await waitUntil(() => p.handler.stats().pending === 1);
    await fetchText(`${p.url}/same`, { method: 'PUT', body: 'x' });
    assert.equal((await r.reply).text, 'x');
  });

  void test('one spelling per pipe and per reserved page (alias-hardened)', async () => {
    const r = open(`${p.url}/a%62c`);
    await waitUntil(() => p.handler.stats().pending === 1);
    await fetchText(`${p.url}/abc`, { method: 'PUT', body: 'same pipe' });
    assert.equal((await r.reply).text, 'same pipe');
    assert.match((await fetchText(`${p.url}/%68elp`)).text, /^burrow pipe cheat sheet for /);
    assert.match((await fetchText(`${p.url}/api/v1/pipe/help/`)).text, /^burrow pipe cheat sheet for/);
    const put = await fetchText(`${p.url}/%6Eoscript/`, { method: 'PUT', body: 'x' });
    assert.equal(put.status, 400);
    assert.match(put.text, /Cannot send to the reserved path/);
  });

  void test('a waiting receiver that leaves frees the path at once', async () => {
    const r = open(`${p.url}/leave`);
    await waitUntil(() => p.handler.stats().pending === 1);
    r.req.destroy();
    await waitUntil(() => p.handler.stats().pending === 0, { what: 'pending to be freed' });
  });

  void test('a waiting sender that leaves frees the path at once', async () => {
    const s = open(`${p.url}/leave2`, { method: 'PUT', keepOpen: true });
    await s.response;
    assert.equal(p.handler.stats().pending, 1);
    s.req.destroy();
    await waitUntil(() => p.handler.stats().pending === 0, { what: 'pending to be freed' });
  });
});

void describe('pipe: status codes and messages', () => {
  let p: TestPipe;
  before(async () => {
    p = await startPipe({ maxPendingPipes: 3 });
  });
  after(async () => {
    await p.close();
  });

  const cases: [string, { method?: string; headers?: Record<string, string>; body?: string }, number, string][] = [
    ['/x?n=abc', {}, 400, '[ERROR] Invalid "n" query parameter\n'],
    ['/x?n=0', { method: 'PUT', body: '' }, 400, '[ERROR] n should > 0, but n = 0.\n'],
    ['/x?n=257', {}, 400, '[ERROR] n should be at most 256, but n = 257.\n'],
    ['/x', { method: 'DELETE' }, 405, '[ERROR] Unsupported method: DELETE.\n'],
    ['/x', { method: 'HEAD' }, 405, ''],
    ['/x', { headers: { 'service-worker': 'script' } }, 400, '[ERROR] Service Worker registration is rejected.\n'],
    [
      '/x',
      { method: 'PUT', headers: { 'content-range': 'bytes 0-1/2' }, body: 'ab' },
      400,
      '[ERROR] Content-Range is not supported for now in PUT\n',
    ],
    [
      '/noscript',
      { method: 'POST', body: 'a' },
      400,
      "[ERROR] Cannot send to the reserved path '/noscript'. (e.g. '/mypath123')\n",
    ],
    [
      '/api/v1/pipe/help',
      { method: 'PUT', body: 'a' },
      400,
      "[ERROR] Cannot send to the reserved path '/help'. (e.g. '/mypath123')\n",
    ],
    ['/a%2fb', {}, 400, '[ERROR] Invalid path: encoded slashes are not allowed.\n'],
    ['/a%5Cb', {}, 400, '[ERROR] Invalid path: backslashes are not allowed.\n'],
    ['/a%0Ab', {}, 400, '[ERROR] Invalid path: control characters are not allowed.\n'],
    [`/${'a'.repeat(1025)}`, {}, 414, '[ERROR] Path too long (max 1024 characters).\n'],
  ];
  for (const [path, opts, status, body] of cases) {
    void test(`${opts.method ?? 'GET'} ${path.slice(0, 40)} → ${status}`, async () => {
      const r = await fetchText(p.url + path, opts);
      assert.equal(r.status, status);
      assert.equal(r.text, body);
      assert.equal(r.headers['access-control-allow-origin'], '*');
      if (status !== 405 || opts.method !== 'HEAD') assert.equal(r.headers['content-type'], 'text/plain');
      assert.equal(
        r.headers['content-length'],
        String(Buffer.byteLength(body || '[ERROR] Unsupported method: HEAD.\n')),
      );
      if (status === 405) assert.equal(r.headers.allow, 'GET, HEAD, POST, PUT, OPTIONS');
    });
  }

  void test('a 1024-character path is accepted', async () => {
    const r = open(`${p.url}/${'b'.repeat(1024)}`);
    await waitUntil(() => p.handler.stats().pending === 1);
    r.req.destroy();
    await waitUntil(() => p.handler.stats().pending === 0);
  });

  void test('busy path, second sender, n mismatch, receivers full, established', async () => {
    const s = open(`${p.url}/busy?n=2`, { method: 'PUT', keepOpen: true });
    await s.response;
    const second = await fetchText(`${p.url}/busy?n=2`, { method: 'PUT', body: 'x' });
    assert.equal(second.status, 400);
    assert.equal(second.text, "[ERROR] Another sender has been connected on '/busy'.\n");
    const mismatch = await fetchText(`${p.url}/busy?n=3`);
    assert.equal(mismatch.text, '[ERROR] The number of receivers should be 2 but 3.\n');
    const r1 = open(`${p.url}/busy?n=2`);
    const r2 = open(`${p.url}/busy?n=2`);
    await waitUntil(() => p.handler.stats().active === 1, { what: 'transfer to start' });
    const late = await fetchText(`${p.url}/busy?n=2`);
    assert.equal(late.status, 400);
    assert.equal(late.text, "[ERROR] Connection on '/busy' has been established already.\n");
    s.req.end('both');
    assert.equal((await r1.reply).text, 'both');
    assert.equal((await r2.reply).text, 'both');
    await s.reply;
  });

  void test('receivers full before the sender: 400', async () => {
    const r1 = open(`${p.url}/full`);
    await waitUntil(() => p.handler.stats().pending === 1);
    const r2 = await fetchText(`${p.url}/full`);
    assert.equal(r2.status, 400);
    assert.equal(r2.text, '[ERROR] The number of receivers has reached limits.\n');
    r1.req.destroy();
    await waitUntil(() => p.handler.stats().pending === 0);
  });

  void test('pending cap → 429', async () => {
    const waiting = [open(`${p.url}/c1`), open(`${p.url}/c2`), open(`${p.url}/c3`)];
    await waitUntil(() => p.handler.stats().pending === 3);
    const r = await fetchText(`${p.url}/c4`);
    assert.equal(r.status, 429);
    assert.equal(r.text, '[ERROR] Too many pending pipes (max 3).\n');
    for (const w of waiting) w.req.destroy();
    await waitUntil(() => p.handler.stats().pending === 0);
  });
});

void describe('pipe: active cap', () => {
  void test('a pipe that would start past maxActivePipes → 429', async () => {
    const p = await startPipe({ maxActivePipes: 1 });
    try {
      const s1 = open(`${p.url}/a1`, { method: 'PUT', keepOpen: true });
      const r1 = open(`${p.url}/a1`);
      await waitUntil(() => p.handler.stats().active === 1);
      const r2 = open(`${p.url}/a2`);
      await waitUntil(() => p.handler.stats().pending === 1);
      const s2 = await fetchText(`${p.url}/a2`, { method: 'PUT', body: 'x' });
      assert.equal(s2.status, 429);
      assert.equal(s2.text, '[ERROR] Too many active pipes (max 1).\n');
      s1.req.end('done');
      assert.equal((await r1.reply).text, 'done');
      r2.req.destroy();
    } finally {
      await p.close();
    }
  });
});

void describe('pipe: reserved pages, CORS, health', () => {
  let p: TestPipe;
  before(async () => {
    p = await startPipe({ version: '9.9.9' });
  });
  after(async () => {
    await p.close();
  });

  for (const base of ['', '/api/v1/pipe']) {
    void test(`reserved pages under '${base || '/'}'`, async () => {
      const index = await fetchText(`${p.url}${base}/`);
      assert.equal(index.status, 200);
      assert.match(String(index.headers['content-type']), /^text\/html/);
      assert.match(String(index.headers['content-security-policy']), /script-src 'nonce-[^']+'/);
      assert.match(index.text, /<title>burrow pipe \(Piping Server compatible\)<\/title>/);
      assert.match(index.text, new RegExp(`data-base="${base}/"`));
      assert.ok(!/[^\x20-\x7e\s]/.test(index.text), 'index page is ASCII');
      const noscript = await fetchText(`${p.url}${base}/noscript?path=%22%3E%3Cscript%3Ex&mode=text`);
      assert.equal(noscript.status, 200);
      assert.ok(!noscript.text.includes('<script>x'), 'path is escaped');
      assert.match(noscript.text, /value="&quot;&gt;&lt;script&gt;x"/);
      assert.match(noscript.text, /name="input_text"/);
      assert.ok(!/script-src/.test(String(noscript.headers['content-security-policy'])));
      const help = await fetchText(`${p.url}${base}/help`, { headers: { host: 'pipe.example.com' } });
      assert.equal(help.headers['content-type'], 'text/plain');
      assert.match(
        help.text,
        new RegExp(`curl -T myfile http://pipe\\.example\\.com${base.replace(/\//g, '\\/')}/mypath`),
      );
      const version = await fetchText(`${p.url}${base}/version`);
      assert.equal(version.text, '9.9.9\n');
      assert.equal((await fetchText(`${p.url}${base}/favicon.ico`)).status, 204);
      assert.equal((await fetchText(`${p.url}${base}/robots.txt`)).status, 404);
      const head = await fetchText(`${p.url}${base}/`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.text, '');
      assert.equal(head.headers['content-length'], index.headers['content-length']);
    });
  }

  void test('OPTIONS preflight', async () => {
    const r = await fetchText(`${p.url}/any`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-hoody-pipe',
        'access-control-request-private-network': 'true',
      },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.equal(r.headers['access-control-allow-methods'], 'GET, HEAD, POST, PUT, OPTIONS');
    assert.equal(
      r.headers['access-control-allow-headers'],
      'Content-Type, Content-Disposition, X-Piping, X-Hoody-Pipe',
    );
    assert.equal(r.headers['access-control-allow-private-network'], 'true');
    assert.equal(r.headers['access-control-max-age'], '86400');
    assert.equal(r.headers['content-length'], '0');
    const plain = await fetchText(`${p.url}/any`, { method: 'OPTIONS' });
    assert.equal(plain.headers['access-control-allow-headers'], 'Content-Type, Content-Disposition, X-Piping');
    assert.equal(plain.headers['access-control-allow-private-network'], undefined);
  });

  void test('GET /api/v1/pipe/health → JSON', async () => {
    const r = await fetchText(`${p.url}/api/v1/pipe/health`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    const h = JSON.parse(r.text) as Record<string, unknown>;
    assert.equal(h.status, 'ok');
    assert.equal(h.version, '9.9.9');
    assert.equal(h.pending, 0);
    assert.equal(h.active, 0);
    assert.equal(h.spectators, 0);
    assert.equal(typeof h.uptime, 'number');
    assert.equal((h.limits as Record<string, number>).maxReceivers, 256);
  });

  void test('after close(): 503 and waiting peers are released', async () => {
    const q = await startPipe();
    const r = open(`${q.url}/w`);
    await waitUntil(() => q.handler.stats().pending === 1);
    await q.handler.close();
    const got = await r.reply;
    assert.equal(got.status, 503);
    assert.equal((await fetchText(`${q.url}/w`)).status, 503);
    await q.close();
  });
});
