import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { startPipe, open, fetchText, raw, type TestPipe } from './helpers.js';
import { createPipeHandler } from '../../../src/app/pipe.js';
import { waitUntil } from '../../helpers/wait.js';

void describe('pipe: HTTP/1.0 clients', () => {
  let p: TestPipe;
  before(async () => {
    p = await startPipe();
  });
  after(async () => {
    await p.close();
  });

  void test('HTTP/1.0 sender gets an HTTP/1.0 status line and a Content-Length reply', async () => {
    const r = open(`${p.url}/old`);
    await waitUntil(() => p.handler.stats().pending === 1);
    const out = await raw(p.port, 'POST /old HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello');
    assert.match(out, /^HTTP\/1\.0 200 OK\r\n/);
    const [head, body] = out.split('\r\n\r\n') as [string, string];
    const len = /content-length: (\d+)/i.exec(head)?.[1];
    assert.equal(Number(len), Buffer.byteLength(body));
    assert.match(body, /^\[INFO\] Waiting for 1 receiver\(s\) to connect\.\.\.\n/);
    assert.match(body, /\[INFO\] Transfer complete\.\n$/);
    assert.doesNotMatch(head, /transfer-encoding/i);
    assert.equal((await r.reply).text, 'hello');
  });

  void test('HTTP/1.0 receiver and errors get HTTP/1.0 status lines', async () => {
    const recv = raw(p.port, 'GET /old2 HTTP/1.0\r\n\r\n');
    await waitUntil(() => p.handler.stats().pending === 1);
    await fetchText(`${p.url}/old2`, { method: 'PUT', body: 'data!' });
    const out = await recv;
    assert.match(out, /^HTTP\/1\.0 200 OK\r\n/);
    assert.ok(out.endsWith('\r\n\r\ndata!'));
    const err = await raw(p.port, 'GET /x?n=0 HTTP/1.0\r\n\r\n');
    assert.match(err, /^HTTP\/1\.0 400 Bad Request\r\n/);
    assert.match(err, /\[ERROR\] n should > 0, but n = 0\.\n$/);
  });
});

void describe('pipe: http2 compatibility API', () => {
  void test('h2c sender and receiver through http2.createServer(handler)', async () => {
    const handler = createPipeHandler();
    const server = http2.createServer(handler);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const client = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const recv = client.request({ ':path': '/h2?n=1', ':method': 'GET' });
      const recvHead = once(recv, 'response') as Promise<[http2.IncomingHttpHeaders]>;
      const chunks: Buffer[] = [];
      recv.on('data', (c: Buffer) => chunks.push(c));
      const recvEnd = once(recv, 'end');
      await waitUntil(() => handler.stats().pending === 1, { what: 'h2 receiver to wait' });
      const send = client.request({
        ':path': '/h2',
        ':method': 'PUT',
        'content-type': 'text/html',
        'x-piping': 'h2meta',
      });
      const sendHead = once(send, 'response') as Promise<[http2.IncomingHttpHeaders]>;
      let log = '';
      send.setEncoding('utf8');
      send.on('data', (c: string) => (log += c));
      const sendEnd = once(send, 'end');
      send.end('over h2');
      const [rh] = await recvHead;
      await recvEnd;
      assert.equal(rh[':status'], 200);
      assert.equal(rh['content-type'], 'text/plain');
      assert.equal(rh['x-piping'], 'h2meta');
      assert.equal(Buffer.concat(chunks).toString(), 'over h2');
      const [sh] = await sendHead;
      await sendEnd;
      assert.equal(sh[':status'], 200);
      assert.equal(sh['content-type'], 'text/plain');
      assert.match(log, /Transfer complete/);
      const bad = client.request({ ':path': '/x?n=300' });
      const [bh] = (await once(bad, 'response')) as [http2.IncomingHttpHeaders];
      let badBody = '';
      bad.setEncoding('utf8');
      bad.on('data', (c: string) => (badBody += c));
      await once(bad, 'end');
      assert.equal(bh[':status'], 400);
      assert.equal(badBody, '[ERROR] n should be at most 256, but n = 300.\n');
    } finally {
      client.close();
      await handler.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
