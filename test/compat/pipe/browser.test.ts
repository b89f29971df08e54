/**
 * The pipe's pages in a real browser (headless Debian chromium through playwright-core): upload from
 * the index page to a curl receiver, a dashboard that moves, and a WebM stream (recorded in the
 * browser with MediaRecorder) playing in the ?video player. Skipped when /usr/bin/chromium is absent.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { once } from 'node:events';
import type { Browser } from 'playwright-core';
import { launchBrowser, NO_BROWSER } from '../../helpers/browser.js';
import { startPipe, open, type TestPipe } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

const skip = NO_BROWSER;
/** Screenshots land here for a human to look at (not asserted on). */
const SHOTS = process.env.BURROW_PIPE_SCREENSHOTS ?? '/tmp/burrow-pipe-shots';

/** Receives with curl when it is installed (the "curl receiver"), else with Node. */
function curlReceive(url: string): Promise<{ body: Buffer; headers: string }> {
  if (!existsSync('/usr/bin/curl')) {
    const r = open(url);
    return r.reply.then((rep) => ({
      body: rep.body,
      headers: Object.entries(rep.headers)
        .map(([k, v]) => `${k}: ${String(v)}`)
        .join('\n'),
    }));
  }
  // -i: head and body on stdout (curl 7.88 crashes writing -D /dev/stderr into a pipe).
  const child = spawn('/usr/bin/curl', ['-sS', '-i', '--noproxy', '*', url], { stdio: ['ignore', 'pipe', 'inherit'] });
  const out: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  return once(child, 'close').then(() => {
    const all = Buffer.concat(out);
    const split = all.indexOf('\r\n\r\n');
    return { headers: all.subarray(0, split).toString('latin1'), body: all.subarray(split + 4) };
  });
}

void describe('pipe pages in headless Chromium', { skip }, () => {
  let p: TestPipe;
  let browser: Browser;
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    p = await startPipe();
    browser = await launchBrowser(['--autoplay-policy=no-user-gesture-required']);
  });
  after(async () => {
    await browser?.close();
    await p?.close();
  });

  void test('index page: pick a file, send it, a curl receiver gets it', async () => {
    const page = await browser.newPage();
    try {
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(`${p.url}/`);
      const recv = curlReceive(`${p.url}/from-browser`);
      await waitUntil(() => p.handler.stats().pending === 1, { what: 'curl to wait' });
      const content = Buffer.from('uploaded from the index page\n'.repeat(1000));
      await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: content });
      await page.fill('#path', 'from-browser');
      assert.match((await page.textContent('#commands')) ?? '', /curl '.*\/from-browser'/);
      await page.click('#send');
      await page.waitForSelector('body[data-state="done"]', { timeout: 20_000 });
      const got = await recv;
      assert.ok(got.body.equals(content), 'curl received the file bytes');
      assert.match(got.headers, /content-type: text\/plain/i);
      assert.match(got.headers, /content-disposition: attachment; filename="notes.txt"/i);
      assert.match((await page.textContent('#log')) ?? '', /Transfer complete/);
      await page.screenshot({ path: `${SHOTS}/index.png`, fullPage: true });
      assert.deepEqual(errors, [], 'no console errors (CSP violations would show here)');
    } finally {
      await page.close();
    }
  });

  void test('index page says "waiting for a receiver" until bytes really move (issue 15)', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${p.url}/`);
      await page.click('#mode-text');
      await page.fill('#text', 'twenty-two bytes here!');
      await page.fill('#path', 'wait-first');
      await page.click('#send');
      await waitUntil(() => p.handler.stats().pending === 1, { what: 'the browser sender to wait' });
      await page.waitForSelector('body[data-state="waiting"]');
      // give the page time to (wrongly) report the buffered upload as sent
      await waitUntil(async () => /Waiting for a receiver/.test((await page.textContent('#status')) ?? ''), {
        what: 'the waiting status',
      });
      assert.doesNotMatch((await page.textContent('#status')) ?? '', /Sent/);
      assert.equal(await page.evaluate<boolean>(`document.getElementById('bar').hasAttribute('value')`), false);
      const got = await curlReceive(`${p.url}/wait-first`);
      assert.equal(got.body.toString(), 'twenty-two bytes here!');
      await page.waitForSelector('body[data-state="done"]', { timeout: 20_000 });
      assert.match((await page.textContent('#status')) ?? '', /Done: 22 B delivered/);
    } finally {
      await page.close();
    }
  });

  void test('?progress dashboard moves with the transfer', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${p.url}/api/v1/pipe/dash?progress`);
      await page.waitForSelector('body[data-state="idle"]');
      const total = 4 * 1024 * 1024;
      const r = open(`${p.url}/dash`);
      const s = request(`${p.url}/dash`, { method: 'PUT', agent: false, headers: { 'content-length': total } });
      s.on('error', () => {});
      s.on('response', (res) => res.resume());
      s.write(Buffer.alloc(total / 4, 1));
      await page.waitForSelector('body[data-state="streaming"]');
      // Functions, not strings: the page's CSP (rightly) forbids eval.
      await page.waitForFunction(() => {
        const doc = (globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } })
          .document;
        return doc.getElementById('bytes').textContent === '1.0 MiB';
      });
      assert.equal(await page.textContent('#total'), '4.0 MiB');
      assert.equal(await page.textContent('#receivers'), '1 / 1');
      await page.screenshot({ path: `${SHOTS}/dashboard-streaming.png`, fullPage: true });
      s.end(Buffer.alloc((total * 3) / 4, 2));
      await page.waitForSelector('body[data-state="complete"]');
      assert.equal(await page.textContent('#bytes'), '4.0 MiB');
      assert.match((await page.textContent('#note')) ?? '', /Transfer complete/);
      assert.equal((await r.reply).body.length, total);
      await page.screenshot({ path: `${SHOTS}/dashboard-complete.png`, fullPage: true });
    } finally {
      await page.close();
    }
  });

  void test('?video plays a WebM stream recorded in the browser', async () => {
    const player = await browser.newPage();
    const recorder = await browser.newPage();
    try {
      await player.goto(`${p.url}/cam?video`);
      await player.waitForSelector('body[data-state="waiting"]');
      await waitUntil(() => p.handler.stats().pending === 1, { what: "the player's fetch to wait as a receiver" });
      await recorder.goto(`${p.url}/`);
      // Browser-side code as a string: this file is type-checked without the DOM library.
      const status = await recorder.evaluate<number>(String.raw`(async () => {
        const canvas = document.createElement('canvas');
        canvas.width = 160;
        canvas.height = 120;
        const ctx = canvas.getContext('2d');
        let frame = 0;
        const draw = setInterval(() => {
          ctx.fillStyle = 'hsl(' + ((frame * 12) % 360) + ' 80% 50%)';
          ctx.fillRect(0, 0, 160, 120);
          ctx.fillStyle = '#fff';
          ctx.fillRect((frame * 4) % 160, 50, 20, 20);
          frame++;
        }, 40);
        const rec = new MediaRecorder(canvas.captureStream(25), { mimeType: 'video/webm;codecs=vp8' });
        const chunks = [];
        // record until 8 chunks of 250 ms (2 s of video) are in, then stop
        const enough = new Promise((r) => {
          rec.ondataavailable = (e) => {
            chunks.push(e.data);
            if (chunks.length === 8) r();
          };
        });
        const stopped = new Promise((r) => (rec.onstop = r));
        rec.start(250);
        await enough;
        rec.stop();
        await stopped;
        clearInterval(draw);
        const res = await fetch('/cam', { method: 'POST', body: new Blob(chunks, { type: 'video/webm' }) });
        return res.status;
      })()`);
      assert.equal(status, 200);
      await player.waitForFunction(
        () => {
          interface Video {
            buffered: { length: number; end(i: number): number };
            currentTime: number;
          }
          const doc = (globalThis as unknown as { document: { getElementById(id: string): Video } }).document;
          const v = doc.getElementById('v');
          return v.buffered.length > 0 && v.buffered.end(0) > 0.5 && v.currentTime > 0;
        },
        undefined,
        { timeout: 20_000 },
      );
      assert.equal(await player.textContent('#kind'), 'WebM');
      await player.screenshot({ path: `${SHOTS}/video.png` });
    } finally {
      await recorder.close();
      await player.close();
    }
  });
});
