import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPipe, open, fetchText, raw, type TestPipe } from './helpers.js';
import { sanitizeContentType, stripControl } from '../../../src/adapters/pipe/headers.js';
import { attachmentFor, receiverDisposition, sanitizeFilename } from '../../../src/adapters/pipe/disposition.js';
import { waitUntil } from '../../helpers/wait.js';

void describe('pipe: header sanitising (unit)', () => {
  void test('dangerous content types become text/plain, parameters kept', () => {
    assert.equal(sanitizeContentType('text/html'), 'text/plain');
    assert.equal(sanitizeContentType('TEXT/HTML; charset=utf-8'), 'text/plain; charset=utf-8');
    assert.equal(sanitizeContentType('image/svg+xml'), 'text/plain');
    assert.equal(sanitizeContentType('application/javascript'), 'text/plain');
    assert.equal(sanitizeContentType('text/javascript;charset=UTF-8'), 'text/plain;charset=UTF-8');
    assert.equal(sanitizeContentType('application/xhtml+xml'), 'text/plain');
    assert.equal(sanitizeContentType('image/png'), 'image/png');
    assert.equal(sanitizeContentType('video/webm; codecs="vp8"'), 'video/webm; codecs="vp8"');
  });
  void test('CR, LF and control characters are stripped', () => {
    assert.equal(stripControl('a\r\nb\u0000c\td'), 'abc\td');
  });
  void test('filenames: quotes, slashes, leading dots, control chars, length, non-ASCII', () => {
    assert.equal(sanitizeFilename('../../etc/"passwd"'), 'etcpasswd');
    assert.equal(sanitizeFilename('a\\b/c.txt'), 'abc.txt');
    assert.equal(sanitizeFilename('...hidden'), 'hidden');
    assert.equal(sanitizeFilename('x\r\ny'), 'xy');
    assert.equal(sanitizeFilename('z'.repeat(300)).length, 255);
    assert.equal(attachmentFor('report.bin'), 'attachment; filename="report.bin"');
    assert.equal(attachmentFor('..'), 'attachment');
    assert.equal(
      attachmentFor('résumé 日本.pdf'),
      `attachment; filename="r_sum_ __.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E6%97%A5%E6%9C%AC.pdf`,
    );
  });
  void test('per-receiver disposition rules', () => {
    const q = (s: string) => new URLSearchParams(s);
    const sender = 'attachment; filename="leaked.txt"';
    assert.equal(receiverDisposition(sender, q(''), '/p', undefined), sender);
    assert.equal(receiverDisposition(sender, q('download=0'), '/p', false), undefined);
    assert.equal(receiverDisposition(sender, q('download'), '/p', true), 'attachment; filename="leaked.txt"');
    assert.equal(
      receiverDisposition(undefined, q('download'), '/dir/file.tar', true),
      'attachment; filename="file.tar"',
    );
    assert.equal(
      receiverDisposition(sender, q('filename=report.bin'), '/p', undefined),
      'attachment; filename="report.bin"',
    );
    assert.equal(
      receiverDisposition('form-data; name="f"; filename="a.txt"', q(''), '/p', undefined),
      'attachment; filename="a.txt"',
    );
    assert.equal(receiverDisposition(undefined, q('filename=%2F..%2F'), '/p', undefined), 'attachment');
  });
});

void describe('pipe: forwarded headers (HTTP)', () => {
  let p: TestPipe;
  before(async () => {
    p = await startPipe();
  });
  after(async () => {
    await p.close();
  });

  async function transfer(path: string, senderHeaders: Record<string, string | string[]>, receiverQuery = '') {
    const r = open(`${p.url}/${path}${receiverQuery}`);
    await waitUntil(() => p.handler.stats().pending === 1);
    const s = await fetchText(`${p.url}/${path}`, {
      method: 'PUT',
      headers: senderHeaders,
      body: 'body',
    });
    assert.equal(s.status, 200);
    return r.reply;
  }

  for (const type of ['text/html', 'image/svg+xml', 'application/javascript']) {
    void test(`sender ${type} → receiver text/plain + nosniff`, async () => {
      const got = await transfer('ct', { 'content-type': `${type}; charset=utf-8` });
      assert.equal(got.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(got.headers['x-content-type-options'], 'nosniff');
    });
  }

  void test('X-Piping lines in order, X-Hoody-Pipe, expose headers name only what is forwarded', async () => {
    const got = await transfer('xp', {
      'x-piping': ['first', 'second'],
      'x-hoody-pipe': 'build-id=42; commit=abc1234',
      'content-type': 'application/octet-stream',
    });
    const lines: string[] = [];
    for (let i = 0; i < got.rawHeaders.length; i += 2)
      if (got.rawHeaders[i]!.toLowerCase() === 'x-piping') lines.push(got.rawHeaders[i + 1]!);
    assert.deepEqual(lines, ['first', 'second']);
    assert.equal(got.headers['x-hoody-pipe'], 'build-id=42; commit=abc1234');
    assert.equal(got.headers['access-control-expose-headers'], 'X-Piping, X-Hoody-Pipe');
    const plain = await transfer('xp2', { 'x-piping': 'only' });
    assert.equal(plain.headers['access-control-expose-headers'], 'X-Piping');
  });

  void test('a header over 8 KiB is refused with 400', async () => {
    const r = await fetchText(`${p.url}/big-header`, {
      method: 'PUT',
      headers: { 'x-piping': 'a'.repeat(8193) },
      body: 'x',
    });
    assert.equal(r.status, 400);
    assert.equal(r.text, '[ERROR] Header X-Piping is too large (max 8192 bytes).\n');
    const ok = await transfer('ok-header', { 'x-piping': 'a'.repeat(8192) });
    assert.equal(String(ok.headers['x-piping']).length, 8192);
  });

  void test('?download=0 drops the sender disposition; ?filename sets one (non-ASCII via RFC 5987)', async () => {
    const inline = await transfer('dl0', { 'content-disposition': 'attachment; filename="leaked.txt"' }, '?download=0');
    assert.equal(inline.headers['content-disposition'], undefined);
    const named = await transfer('dl1', {}, `?filename=${encodeURIComponent('"../ré port".bin')}`);
    assert.equal(
      named.headers['content-disposition'],
      `attachment; filename="r_ port.bin"; filename*=UTF-8''r%C3%A9%20port.bin`,
    );
    assert.equal(named.headers['access-control-expose-headers'], 'Content-Disposition');
    const dl = await transfer('dir/file.tgz', {}, '?download');
    assert.equal(dl.headers['content-disposition'], 'attachment; filename="file.tgz"');
  });

  void test('CRLF cannot be smuggled into a receiver header (raw obs-fold and bare CR are refused or stripped)', async () => {
    const r = open(`${p.url}/crlf`);
    await waitUntil(() => p.handler.stats().pending === 1);
    // Node's parser rejects CR inside a header value; the connection gets a 400 and the pipe stays pending.
    const out = await raw(
      p.port,
      'PUT /crlf HTTP/1.1\r\nHost: x\r\nX-Piping: a\rInjected: yes\r\nContent-Length: 1\r\n\r\nx',
    );
    assert.match(out, /^HTTP\/1\.1 400/);
    await fetchText(`${p.url}/crlf`, { method: 'PUT', headers: { 'x-piping': 'a\tb' }, body: 'x' });
    const got = await r.reply;
    assert.equal(got.headers['x-piping'], 'a\tb');
    assert.equal(got.headers['injected'], undefined);
  });
});
