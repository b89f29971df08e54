/**
 * The pipe's large uploads read past Node's HTTP parser (src/core/direct-body.ts), on both of
 * burrow's pipe paths: `burrow pipe serve`'s listener and a whole server's /api/v1/pipe/.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { startPipe, fetchText, type TestPipe } from './helpers.js';
import { receiver, sender, sha, source } from './streams.js';
import { waitUntil } from '../../helpers/wait.js';
import { rawExchange } from '../../helpers/net.js';
import { startComposed } from '../../helpers/harness.js';
import type { ComposedServer } from '../../../src/app/compose.js';
import type { PipeHandler } from '../../../src/app/pipe.js';

const MiB = 1024 * 1024;

function raw(path: string, body: Uint8Array, extra: Uint8Array = new Uint8Array(0)): Uint8Array[] {
  const head = Buffer.from(`PUT ${path} HTTP/1.1\r\nHost: pipe\r\nContent-Length: ${body.length}\r\n\r\n`);
  const pieces: Uint8Array[] = [Buffer.concat([head, body.subarray(0, 5000)])];
  for (let at = 5000; at < body.length; at += 100_003)
    pieces.push(body.subarray(at, Math.min(body.length, at + 100_003)));
  pieces.push(extra);
  return pieces;
}

for (const where of ['pipe serve', 'a whole server'] as const) {
  void describe(`pipe, large uploads read directly (${where})`, () => {
    let p: TestPipe | undefined;
    let s: ComposedServer | undefined;
    let base = '';
    let port = 0;
    let pipe: PipeHandler;
    before(async () => {
      if (where === 'pipe serve') {
        const tp = await startPipe();
        p = tp;
        base = tp.url;
        port = tp.port;
        pipe = tp.handler;
      } else {
        const { composed, url, port: mainPort } = await startComposed();
        s = composed;
        port = mainPort;
        base = `${url}/api/v1/pipe`;
        pipe = composed.pipe!.handler;
      }
    });
    after(async () => {
      await p?.close();
      await s?.close();
    });

    void test('8 MiB to 3 receivers byte-exact; the sender is answered Connection: close, a 100 KiB one is not', async () => {
      const size = 8 * MiB + 99;
      const rs = [receiver(`${base}/d3?n=3`), receiver(`${base}/d3?n=3`, { slow: true }), receiver(`${base}/d3?n=3`)];
      const snd = sender(`${base}/d3?n=3`, source(size), size);
      for (const r of await Promise.all(rs)) {
        assert.equal(r.bytes, size);
        assert.equal(r.hash, sha(size));
        assert.equal(r.complete, true);
      }
      const out = await snd;
      assert.equal(out.headers.connection, 'close');
      assert.match(out.text, /\[INFO\] Transfer complete\.\n$/);
      const small = 100 * 1024;
      const r = receiver(`${base}/small`);
      const smallOut = await sender(`${base}/small`, source(small), small, { connection: 'keep-alive' });
      assert.equal((await r).hash, sha(small));
      assert.notEqual(smallOut.headers.connection, 'close');
    });

    void test('head and body in one write, odd pieces, bytes after the body: the receiver gets the body only', async () => {
      const body = randomBytes(3 * MiB + 17);
      const r = receiver(`${base}/raw1`);
      await waitUntil(() => pipe.stats().pending > 0, { what: 'the receiver to wait' });
      const prefix = where === 'pipe serve' ? '' : '/api/v1/pipe';
      const out = await rawExchange(
        port,
        raw(`${prefix}/raw1`, body, Buffer.from('GET /next HTTP/1.1\r\nHost: pipe\r\n\r\n')),
      );
      const got = await r;
      assert.equal(got.bytes, body.length);
      assert.equal(got.hash, createHash('sha256').update(body).digest('hex'));
      assert.match(out, /^HTTP\/1\.1 100 Continue|^HTTP\/1\.1 200 OK/);
      assert.match(out, /Transfer complete\./);
      assert.equal(out.match(/HTTP\/1\.1 200/g)?.length, 1, 'the bytes after the body are not a request');
    });

    void test('35 of 36 receivers leave mid-body: the last one gets every byte (no read buffer is lost)', async () => {
      const size = 32 * MiB;
      const url = `${base}/many?n=36`;
      const leaving = Array.from({ length: 35 }, (_, i) => receiver(url, { abortAfter: (i + 1) * 128 * 1024 }));
      const staying = receiver(url, { slow: true });
      const snd = sender(url, source(size), size);
      for (const r of await Promise.all(leaving)) assert.equal(r.complete, false);
      const got = await staying;
      assert.equal(got.bytes, size);
      assert.equal(got.hash, sha(size));
      assert.match((await snd).text, /Transfer complete\.\n$/);
    });

    void test('the sender leaves mid-body: receivers are cut, the path works again', async () => {
      const r = receiver(`${base}/gone`);
      await waitUntil(() => pipe.stats().pending > 0, { what: 'the receiver to wait' });
      const prefix = where === 'pipe serve' ? '' : '/api/v1/pipe';
      const sock = connect(port, '127.0.0.1');
      sock.on('error', () => {});
      await once(sock, 'connect');
      sock.write(`PUT ${prefix}/gone HTTP/1.1\r\nHost: pipe\r\nContent-Length: ${64 * MiB}\r\n\r\n`);
      for (let i = 0; i < 16; i++) sock.write(Buffer.alloc(64 * 1024, i));
      await waitUntil(() => pipe.pipes().some((x) => x.path === '/gone' && x.bytes >= MiB), {
        what: 'the first MiB to reach the receiver',
      });
      sock.destroy();
      const got = await r;
      assert.equal(got.complete, false);
      assert.ok(got.bytes > 0 && got.bytes < 64 * MiB, `${got.bytes} bytes`);
      await waitUntil(() => pipe.stats().active === 0 && pipe.stats().transfersFailed >= 1, {
        what: 'the transfer to fail',
      });
      const size = 2 * MiB;
      const again = receiver(`${base}/gone`);
      await sender(`${base}/gone`, source(size), size);
      assert.equal((await again).hash, sha(size));
      const health = where === 'pipe serve' ? `${base}/api/v1/pipe/health` : `${base}/health`;
      assert.equal((await fetchText(health)).status, 200);
    });
  });
}
