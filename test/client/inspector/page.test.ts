/**
 * The inspector page in a real browser (headless Debian chromium through playwright-core), against a
 * real burrow server, the real `burrow http` CLI (its --inspect flags) and a local origin: requests
 * show live, the detail renders JSON, an image and binary, replay with edits reaches the origin and
 * shows beside the original, copy as curl runs with curl, WebSocket messages and SSE events appear,
 * the oldest requests go past --inspect-keep while memory stays flat, and the page fits 1280 px
 * and 375 px without horizontal scrolling. One browser, one page; skipped without chromium.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import type http from 'node:http';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import WebSocket, { WebSocketServer } from 'ws';
import type { BurrowServer } from '../../../src/app/server.js';
import { launchBrowser, NO_BROWSER } from '../../helpers/browser.js';
import { runCli, type CliProcess } from '../../helpers/cli.js';
import { closeHttp, request, startOrigin, startServer } from '../../helpers/harness.js';
import { waitUntil } from '../../helpers/wait.js';

const SHOTS = process.env['BURROW_INSPECTOR_SCREENSHOTS'] ?? '/tmp/burrow-inspector-shots';
const KEEP = 25;

/** A 2×2 RGB PNG, built here (signature, IHDR, IDAT, IEND). */
function png(): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2, 0);
  ihdr.writeUInt32BE(2, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const raw = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const BINARY = Buffer.from(Array.from({ length: 600 }, (_, i) => i % 256));

/** What the origin received, in order. */
const seen: { method: string; url: string; body: string; test: string | undefined }[] = [];

const handler: http.RequestListener = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString();
    seen.push({ method: req.method!, url: req.url!, body, test: req.headers['x-test'] as string | undefined });
    if (req.url === '/json') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ hello: 'world', list: [1, 2, 3] }));
    } else if (req.url === '/image.png') {
      res.setHeader('content-type', 'image/png');
      res.end(png());
    } else if (req.url === '/binary') {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(BINARY);
    } else if (req.url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 1; i <= 3; i++) res.write(`event: tick\ndata: tick-${i}\nid: ${i}\n\n`);
      res.end();
    } else {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url, body, test: req.headers['x-test'] ?? null }));
    }
  });
};

void describe('the inspector page in headless Chromium', { skip: NO_BROWSER }, () => {
  let server: BurrowServer;
  let serverPort: number;
  let origin: http.Server;
  let cli: CliProcess;
  let inspector: string;
  let host: string;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const srv = await startServer();
    server = srv.server;
    serverPort = srv.port;
    const o = await startOrigin(handler);
    origin = o.server;
    const wss = new WebSocketServer({ server: origin });
    wss.on('connection', (ws) =>
      ws.on('message', (m, isBinary) => ws.send(isBinary ? m : `echo: ${(m as Buffer).toString()}`)),
    );
    const launching = launchBrowser();
    cli = runCli([
      'http',
      String(o.port),
      '--server',
      srv.url,
      '--json',
      '--inspect',
      '127.0.0.1:0',
      '--inspect-keep',
      String(KEEP),
    ]);
    const ready = JSON.parse(await cli.nextLine((l) => l.includes('"ready"'))) as { url: string; inspector: string };
    inspector = ready.inspector;
    host = new URL(ready.url).host;
    browser = await launching;
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(inspector);
    await page.waitForSelector('#live.live-live');
  });

  after(async () => {
    await browser?.close();
    cli?.child.kill('SIGINT');
    await cli?.exited;
    await server?.close();
    if (origin) await closeHttp(origin);
  });

  const visit = (path: string, o: Parameters<typeof request>[3] = {}): ReturnType<typeof request> =>
    request(serverPort, host, path, o);
  const row = (path: string): string => `#requests tr[data-id]:has(td.path:text-is("${path}"))`;
  async function open(path: string): Promise<void> {
    await page.click(row(path));
    await page.waitForSelector(`#detail .request-line .path:text-is("${path}")`);
  }

  void test('a request through the tunnel shows within 1 s', async () => {
    const r = await visit('/json');
    assert.equal(r.status, 200);
    const answered = Date.now();
    await page.waitForSelector(`${row('/json')} td.status:text-is("200")`, { timeout: 5000 });
    const took = Date.now() - answered;
    assert.ok(took < 1000, `the row appeared ${took} ms after the answer`);
    const cells = await page.locator(row('/json')).locator('td').allTextContents();
    assert.equal(cells[1], 'GET');
    assert.equal(cells[6], '127.0.0.1', 'the client IP the server saw');
  });

  void test('detail: JSON pretty-printed, an image previewed, binary as size + hex', async () => {
    await open('/json');
    const json = await page.textContent('#response-original .body-json');
    assert.equal(json, JSON.stringify({ hello: 'world', list: [1, 2, 3] }, null, 2));

    await visit('/image.png');
    await page.waitForSelector(row('/image.png'));
    await open('/image.png');
    const img = page.locator('#response-original img.body-image');
    await img.waitFor();
    await waitUntil(
      async () =>
        (await img.evaluate((el) => {
          const loaded = el as unknown as { complete: boolean; naturalWidth: number };
          return loaded.complete ? loaded.naturalWidth : 0;
        })) === 2,
      {
        what: 'the PNG preview to load (2 px wide)',
      },
    );

    await visit('/binary');
    await page.waitForSelector(row('/binary'));
    await open('/binary');
    assert.match((await page.textContent('#response-original .body-binary-size')) ?? '', /Binary, 600 bytes/);
    const hex = (await page.textContent('#response-original .body-hex')) ?? '';
    assert.match(hex, /^000000 {2}00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f/);
    assert.equal(hex.split('\n').length, 16, '256 bytes shown, 16 a line');
  });

  void test('replay with edits reaches the origin and shows the new response beside the old', async () => {
    await visit('/echo?v=1', {
      method: 'POST',
      body: 'original body',
      headers: { 'content-type': 'text/plain', 'x-test': 'a' },
    });
    await page.waitForSelector(row('/echo?v=1'));
    await open('/echo?v=1');
    await page.click('#edit-replay');
    await page.fill('#edit-path', '/echo?v=2');
    await page.fill('#edit-headers', 'Content-Type: text/plain\nX-Test: edited');
    await page.fill('#edit-body', 'edited body');
    const before = seen.length;
    await page.click('#send-edited');
    await page.waitForSelector('#replay-result');
    const got = seen.slice(before).find((s) => s.url === '/echo?v=2');
    assert.deepEqual(got, { method: 'POST', url: '/echo?v=2', body: 'edited body', test: 'edited' });
    const replayed = JSON.parse((await page.textContent('#replay-result .body-json')) ?? '{}');
    assert.equal(replayed.body, 'edited body');
    const original = JSON.parse((await page.textContent('#response-original .body-json')) ?? '{}');
    assert.equal(original.body, 'original body', 'the original response stays beside it');
    // the replay is itself in the list, marked
    await page.waitForSelector(`#requests tr[data-id]:has(td.path:has-text("/echo?v=2")) .tag:text-is("replay")`);
  });

  void test('copy as curl gives a command that works when run', async () => {
    await open('/echo?v=1');
    await page.click('#copy-curl');
    const command = (await page.textContent('#curl-command')) ?? '';
    assert.match(command, /^curl -X POST 'http:\/\/.+\/echo\?v=1'/);
    const before = seen.length;
    // *.localhost does not resolve here: curl is told where the public name is, as DNS would
    const [name, port] = host.split(':');
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        '/bin/sh',
        ['-c', `${command} -sS --resolve ${name}:${port}:127.0.0.1`],
        { timeout: 10_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout)),
      ),
    );
    assert.deepEqual(JSON.parse(out), { method: 'POST', url: '/echo?v=1', body: 'original body', test: 'a' });
    assert.deepEqual(seen.slice(before).at(-1), { method: 'POST', url: '/echo?v=1', body: 'original body', test: 'a' });
  });

  void test("a WebSocket's messages and an SSE stream's events appear", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${serverPort}/socket`, { headers: { host } });
    await once(ws, 'open');
    await page.waitForSelector(`#requests tr[data-id]:has(td.path:has-text("/socket"))`);
    await page.click(`#requests tr[data-id]:has(td.path:has-text("/socket"))`);
    for (const m of ['hello-1', 'hello-2']) {
      ws.send(m);
      await once(ws, 'message');
    }
    await page.waitForSelector('#ws-messages .from-server .msg-data:text-is("echo: hello-2")');
    const texts = await page.locator('#ws-messages .msg-data').allTextContents();
    assert.deepEqual(texts, ['hello-1', 'echo: hello-1', 'hello-2', 'echo: hello-2']);
    ws.close();

    const r = await visit('/events', { headers: { accept: 'text/event-stream' } });
    assert.match(r.body.toString(), /tick-3/);
    await page.waitForSelector(row('/events'));
    await open('/events');
    await page.waitForSelector('#sse-events .sse-event');
    assert.deepEqual(await page.locator('#sse-events .msg-data').allTextContents(), ['tick-1', 'tick-2', 'tick-3']);
  });

  void test('screenshots at 1280 px and 375 px: no horizontal overflow', async () => {
    await open('/json');
    for (const width of [1280, 375]) {
      await page.setViewportSize({ width, height: 800 });
      await page.waitForFunction(`window.innerWidth === ${width}`);
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      await page.screenshot({ path: `${SHOTS}/inspector-${width}.png`, fullPage: true });
      assert.ok(overflow <= 0, `${overflow} px of horizontal overflow at ${width} px`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  void test('past --inspect-keep the oldest requests go and memory stays flat', async () => {
    const list = async (): Promise<{ requests: { id: number; path: string }[]; bytes: number; maxBytes: number }> =>
      (await fetch(`${inspector}/api/requests`)).json() as never;
    const firstIds = (await list()).requests.map((r) => r.id);
    const burst = async (tag: string): Promise<void> => {
      for (let i = 0; i < KEEP; i++) await visit(`/many/${tag}/${i}`, { method: 'POST', body: 'x'.repeat(2000) });
    };
    await burst('a');
    await waitUntil(async () => (await list()).requests.some((r) => r.path === `/many/a/${KEEP - 1}`));
    const afterOne = await list();
    await burst('b');
    await waitUntil(async () => (await list()).requests.some((r) => r.path === `/many/b/${KEEP - 1}`));
    const afterTwo = await list();
    assert.equal(afterTwo.requests.length, KEEP);
    assert.ok(
      afterTwo.requests.every((r) => r.path.startsWith('/many/b/')),
      'only the last KEEP are kept',
    );
    assert.ok(!afterTwo.requests.some((r) => firstIds.includes(r.id)), 'the first requests are gone');
    assert.ok(afterTwo.bytes <= afterTwo.maxBytes);
    assert.ok(
      Math.abs(afterTwo.bytes - afterOne.bytes) < afterOne.bytes * 0.1,
      `held bytes stay flat: ${afterOne.bytes} after ${KEEP} requests, ${afterTwo.bytes} after ${2 * KEEP}`,
    );
    // the page follows: KEEP rows, the oldest gone
    await waitUntil(async () => (await page.locator('#requests tr[data-id]').count()) === KEEP, {
      what: `${KEEP} rows on the page`,
    });
    assert.equal(await page.locator(row('/json')).count(), 0);
  });

  void test('filters and clear', async () => {
    await page.fill('#filter-text', '/many/b/1');
    await waitUntil(async () => (await page.locator('#requests tr[data-id]').count()) === 11, {
      what: '/many/b/1 and /many/b/10…19',
    });
    await page.selectOption('#filter-method', 'GET');
    await page.waitForSelector('#empty');
    await page.fill('#filter-text', '');
    await page.selectOption('#filter-method', '');
    await page.click('#clear');
    await page.waitForSelector('#empty');
    const r = (await (await fetch(`${inspector}/api/requests`)).json()) as { requests: unknown[] };
    assert.equal(r.requests.length, 0);
    assert.deepEqual(consoleErrors, [], 'no console errors (a CSP violation would show here)');
  });
});
