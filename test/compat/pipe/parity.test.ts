/**
 * Issue 16's parity details, checked against the real piping-server npm package in the same run:
 * a multipart field with its own Content-Type, and the bare `/` and `/noscript` pages.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type RequestListener } from 'node:http';
import { createRequire } from 'node:module';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fetchText, open, startPipe, type TestPipe } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

/** A form-data body whose only part is a field with its own Content-Type (no filename), as `form-data` sends it. */
function fieldBody(contentType: string, value: string): { body: Buffer; type: string } {
  const b = 'burrowParityBoundary';
  return {
    type: `multipart/form-data; boundary=${b}`,
    body: Buffer.from(
      `--${b}\r\nContent-Disposition: form-data; name="data"\r\nContent-Type: ${contentType}\r\n\r\n${value}\r\n--${b}--\r\n`,
    ),
  };
}

void describe('parity with piping-server', () => {
  let p: TestPipe;
  let piping: { url: string; close(): Promise<void> };
  before(async () => {
    p = await startPipe();
    const require = createRequire(import.meta.url);
    const mod = require('piping-server') as { Server: new () => { generateHandler(https: boolean): RequestListener } };
    const srv = createServer({ requestTimeout: 0 }, mod.Server.prototype.generateHandler.call(new mod.Server(), false));
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    piping = {
      url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
      close: () => new Promise<void>((r) => srv.close(() => r())),
    };
  });
  after(async () => {
    await p.close();
    await piping.close();
  });

  /** Sends one field part to `base/path` and returns what a receiver got. */
  async function viaField(base: string, path: string, contentType: string, value: string) {
    const r = open(`${base}/${path}`);
    if (base === p.url) await waitUntil(() => p.handler.stats().pending === 1);
    else await new Promise((resolve) => setTimeout(resolve, 50)); // piping-server has no stats to wait on
    const { body, type } = fieldBody(contentType, value);
    const s = await fetchText(`${base}/${path}`, { method: 'POST', headers: { 'content-type': type }, body });
    assert.equal(s.status, 200, s.text);
    return r.reply;
  }

  for (const [sent, expected] of [
    ['application/json', 'application/json'],
    ['text/html', 'text/plain'],
    ['text/html; charset=utf-8', 'text/plain; charset=utf-8'],
  ] as const) {
    void test(`a field part's own Content-Type passes to receivers: ${sent} → ${expected}`, async () => {
      const value = '{"a":"<b>x</b>"}';
      const [ours, theirs] = [
        await viaField(p.url, `field-${sent.length}`, sent, value),
        await viaField(piping.url, `field-${sent.length}`, sent, value),
      ];
      assert.equal(theirs.headers['content-type'], expected, 'piping-server does this');
      assert.equal(ours.headers['content-type'], expected);
      assert.equal(ours.text, value);
      assert.equal(ours.text, theirs.text);
    });
  }

  void test('bare / and /noscript answer as piping-server: text/html exactly, Content-Length, utf-8, "Piping"', async () => {
    for (const base of [p.url, piping.url]) {
      for (const page of ['/', '/noscript?path=abc%2Fd%22e']) {
        const r = await fetchText(`${base}${page}`);
        const who = `${base === p.url ? 'burrow' : 'piping-server'} ${page}`;
        assert.equal(r.status, 200, who);
        assert.equal(r.headers['content-type'], 'text/html', who);
        assert.equal(Number(r.headers['content-length']), r.body.length, who);
        assert.match(r.text, /<meta charset="utf-8">/i, who);
        assert.match(r.text, /Piping/, who);
        if (page.startsWith('/noscript')) {
          assert.match(
            String(r.headers['content-security-policy']),
            /^default-src 'none'; style-src 'nonce-[^']+'$/,
            who,
          );
          assert.match(r.text, /<form method="POST" action="abc\/d&quot;e"/, who);
        }
      }
    }
  });

  void test('under /api/v1/pipe/ the richer burrow pages stay (charset in the type, stricter CSP)', async () => {
    const r = await fetchText(`${p.url}/api/v1/pipe/noscript?path=abc`);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(String(r.headers['content-security-policy']), /form-action 'self'/);
    assert.match(r.text, /action="\/api\/v1\/pipe\/abc"/);
  });
});
