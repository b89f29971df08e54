/**
 * The console's HTTP side without a browser: hashed assets with a year-long cache, the sign-in's
 * body rules, and the Secure cookie when the server speaks HTTPS.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selfSignedCert } from '../helpers/tls.js';
import { ADMIN_TOKEN, BACKENDS, request, startComposed, type Running, type TestDb } from '../e2e/accounts/helpers.js';

const BUILD_CONSOLE = fileURLToPath(new URL('../../scripts/build-console.mjs', import.meta.url));

void describe('console over HTTP', () => {
  let db: TestDb;
  let srv: Running;
  before(async () => {
    execFileSync(process.execPath, [BUILD_CONSOLE]);
    db = await BACKENDS[0]!.create();
    srv = await startComposed(db.url);
  });
  after(async () => {
    await srv?.composed.close();
    await db?.cleanup();
  });

  void test('the page names hashed assets, served with a year-long immutable cache and the security headers', async () => {
    const page = await fetch(`${srv.url}/admin`);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    const html = await page.text();
    const names = [...html.matchAll(/\/admin\/assets\/(app-[A-Z0-9]+\.(?:js|css))/g)].map((m) => m[1]!);
    assert.equal(names.length, 2, html);
    assert.doesNotMatch(html, /<script>|<style|style=/, 'no inline script or style');
    for (const name of names) {
      const r = await fetch(`${srv.url}/admin/assets/${name}`);
      assert.equal(r.status, 200, name);
      assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      assert.ok((await r.arrayBuffer()).byteLength > 1000);
    }
    const manifest = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../dist/console/assets/manifest.json', import.meta.url)), 'utf8'),
    ) as { js: string; css: string };
    assert.deepEqual(names.sort(), [manifest.css, manifest.js].sort());
    for (const bad of ['app.js', '..%2fmanifest.json', 'manifest.json']) {
      assert.notEqual((await fetch(`${srv.url}/admin/assets/${bad}`)).status, 200, bad);
    }
  });

  void test('sign-in wants a JSON body with the token; nothing else opens a session', async () => {
    const post = (body: string, type = 'application/json') =>
      fetch(`${srv.url}/admin/session`, { method: 'POST', headers: { 'content-type': type }, body });
    for (const [body, type] of [
      [`token=${ADMIN_TOKEN}`, 'application/x-www-form-urlencoded'],
      ['{"token": 5}', 'application/json'],
      ['not json', 'application/json'],
      [JSON.stringify({ token: 'x'.repeat(5000) }), 'application/json'],
    ] as const) {
      const r = await post(body, type);
      assert.equal(r.status, 400, body.slice(0, 40));
      assert.equal(r.headers.get('set-cookie'), null);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'BURROW_ERR_BAD_REQUEST');
    }
    const ok = await post(JSON.stringify({ token: ADMIN_TOKEN }));
    assert.equal(ok.status, 200);
    assert.match(
      ok.headers.get('set-cookie') ?? '',
      /^burrow_console=[A-Za-z0-9_-]{43}; Path=\/admin; HttpOnly; SameSite=Strict$/,
    );
  });

  void test('on a --pipe-host every path is a pipe: /admin there is the pipe, not the console', async () => {
    const db2 = await BACKENDS[0]!.create();
    const piped = await startComposed(db2.url, { pipeHosts: ['pipes.localhost'] });
    try {
      const own = await request(piped.port, `127.0.0.1:${piped.port}`, '/admin');
      assert.equal(own.status, 200);
      assert.match(own.body.toString(), /burrow admin/);
      const onPipeHost = await request(piped.port, 'pipes.localhost', '/admin');
      assert.doesNotMatch(onPipeHost.body.toString(), /burrow admin/);
      assert.match(String(onPipeHost.headers['www-authenticate']), /burrow pipe/, 'the pipe (token-gated) answered');
    } finally {
      await piped.composed.close();
      await db2.cleanup();
    }
  });

  void test('over HTTPS the session cookie is Secure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-console-tls-'));
    const db2 = await BACKENDS[0]!.create();
    const files = selfSignedCert(dir, 'localhost', ['DNS:localhost', 'IP:127.0.0.1']);
    const tlsSrv = await startComposed(db2.url, {
      tls: { cert: readFileSync(files.cert), key: readFileSync(files.key) },
    });
    try {
      const cookie = await new Promise<string>((resolve, reject) => {
        const req = https.request(
          {
            host: '127.0.0.1',
            port: tlsSrv.port,
            method: 'POST',
            path: '/admin/session',
            rejectUnauthorized: false,
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            res.resume();
            resolve(String(res.headers['set-cookie'] ?? ''));
          },
        );
        req.once('error', reject);
        req.end(JSON.stringify({ token: ADMIN_TOKEN }));
      });
      assert.match(cookie, /; HttpOnly; SameSite=Strict; Secure$/);
    } finally {
      await tlsSrv.composed.close();
      await db2.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
