import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startPipe, open, type TestPipe } from './helpers.js';
import { FakeClock } from '../../helpers/clock.js';
import { waitUntil } from '../../helpers/wait.js';

void describe('pipe: multipart senders', () => {
  let p: TestPipe;
  before(async () => {
    p = await startPipe();
  });
  after(async () => {
    await p.close();
  });

  void test('the first file part is forwarded with its type and an attachment disposition', async () => {
    const r = open(`${p.url}/form`);
    await waitUntil(() => p.handler.stats().pending === 1);
    const fd = new FormData();
    fd.append('field1', 'ignored-form-field');
    fd.append('file', new Blob(['first-file-content'], { type: 'text/plain' }), 'a.txt');
    fd.append('extra', new Blob(['second-file-content'], { type: 'text/plain' }), 'b.txt');
    const s = await fetch(`${p.url}/form`, { method: 'POST', body: fd });
    assert.equal(s.status, 200);
    assert.match(await s.text(), /Transfer complete/);
    const got = await r.reply;
    assert.equal(got.text, 'first-file-content');
    assert.equal(got.headers['content-type'], 'text/plain');
    assert.equal(got.headers['content-disposition'], 'attachment; filename="a.txt"');
    assert.equal(got.headers['content-length'], undefined, 'never guess a Content-Length');
  });

  void test('non-ASCII file names and HTML parts are sanitised', async () => {
    const r = open(`${p.url}/form2`);
    await waitUntil(() => p.handler.stats().pending === 1);
    const fd = new FormData();
    fd.append('f', new Blob(['<script>x</script>'], { type: 'text/html' }), 'páge.html');
    await (await fetch(`${p.url}/form2`, { method: 'POST', body: fd })).text();
    const got = await r.reply;
    assert.equal(got.headers['content-type'], 'text/plain');
    assert.equal(
      got.headers['content-disposition'],
      `attachment; filename="p_ge.html"; filename*=UTF-8''p%C3%A1ge.html`,
    );
  });

  void test('with no file part, the first field is the body', async () => {
    const r = open(`${p.url}/form3`);
    await waitUntil(() => p.handler.stats().pending === 1);
    const fd = new FormData();
    fd.append('input_text', 'typed text');
    fd.append('other', 'second');
    await (await fetch(`${p.url}/form3`, { method: 'POST', body: fd })).text();
    const got = await r.reply;
    assert.equal(got.text, 'typed text');
    assert.equal(got.headers['content-disposition'], undefined);
  });

  void test('no part before the deadline: sender [ERROR], receiver released (fake clock)', async () => {
    const clock = new FakeClock();
    const q = await startPipe({ clock, multipartDeadlineMs: 30_000 });
    try {
      const r = open(`${q.url}/slowform`);
      await waitUntil(() => q.handler.stats().pending === 1);
      const req = request(`${q.url}/slowform`, {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
      });
      req.on('error', () => {});
      let log = '';
      const ended = new Promise<void>((resolve) =>
        req.on('response', (res) => {
          res.setEncoding('utf8');
          res.on('data', (c: string) => (log += c));
          res.on('end', resolve);
          res.on('close', resolve);
        }),
      );
      req.write('--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n');
      await waitUntil(() => q.handler.stats().active === 1, { what: 'transfer to start' });
      clock.advance(30_000);
      await ended;
      assert.match(log, /\[ERROR\] No file part arrived within 30 s\.\n$/);
      const got = await r.reply;
      assert.equal(got.status, 400);
      assert.equal(got.text, '[ERROR] No file part arrived within 30 s.\n');
    } finally {
      await q.close();
    }
  });
});
