/**
 * The admin web console (issue 17) in a real browser: headless Debian chromium through
 * playwright-core, against a composed server (accounts on SQLite, --admin-token), with `burrow http`
 * run as a user runs it (dist/cli.js: `npm run build` first). Skipped when /usr/bin/chromium is absent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, NO_BROWSER } from '../helpers/browser.js';
import { composeServer } from '../../src/app/compose.js';
import { exposeTcp } from '../../src/client/burrow/expose-tcp.js';
import { connectTcp } from '../../src/client/tcp-ws/tcp-tunnel.js';
import { closeHttp } from '../helpers/harness.js';
import { waitUntil } from '../helpers/wait.js';
import { runDistCli, type DistCli } from '../reliability/dist-cli.js';
import {
  ADMIN_TOKEN,
  BACKENDS,
  admin,
  startComposed,
  startEchoOrigin,
  tunnel,
  visit,
  type EchoOrigin,
  type Running,
  type TestDb,
} from '../e2e/accounts/helpers.js';

/** What the functions run in the page touch of the DOM (the project compiles without lib.dom). */
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  documentElement: { scrollWidth: number; clientWidth: number };
  body: unknown;
};
declare const location: { hash: string };
declare function getComputedStyle(element: unknown): { backgroundColor: string };

const skip = NO_BROWSER;
/** Screenshots land here (BURROW_CONSOLE_SCREENSHOTS=docs/img refreshes the documentation's). */
const SHOTS = process.env['BURROW_CONSOLE_SCREENSHOTS'] ?? '/tmp/burrow-console-shots';
const BUILD_CONSOLE = fileURLToPath(new URL('../../scripts/build-console.mjs', import.meta.url));
const PAGES = ['overview', 'tunnels', 'tokens', 'names', 'pipes', 'tcp'];
const SQLITE = BACKENDS[0]!;

interface Refused {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: { error?: { code: string; fix: string } } & Record<string, unknown>;
}

/** A request to /admin/… from outside the browser (a forger, or a stolen cookie replayed). */
function consoleCall(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Refused> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: `/admin${path}`,
        headers: {
          host: `127.0.0.1:${port}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(text || '{}') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body !== undefined ? JSON.stringify(body) : undefined);
  });
}

async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/admin`);
  await page.fill('#admin-token', token);
  await page.click('button[type=submit]');
}

const text = async (page: Page, selector: string): Promise<string> => (await page.textContent(selector)) ?? '';

void describe('admin console in headless Chromium', { skip }, () => {
  let db: TestDb;
  let srv: Running;
  let origin: EchoOrigin;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cwd: string;
  const clis: DistCli[] = [];
  const pageErrors: string[] = [];
  /** The token created in the console and its tunnel (tests below run in order). */
  let created: { id: string; secret: string; name: string; cli: DistCli } | undefined;

  before(async () => {
    execFileSync(process.execPath, [BUILD_CONSOLE]);
    mkdirSync(SHOTS, { recursive: true });
    cwd = mkdtempSync(join(tmpdir(), 'burrow-console-cli-'));
    db = await SQLITE.create();
    srv = await startComposed(db.url);
    origin = await startEchoOrigin();
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
  });

  after(async () => {
    for (const c of clis) c.child.kill();
    await browser?.close();
    await srv?.composed.close();
    if (origin) await closeHttp(origin.server);
    await db?.cleanup();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  void test('without --admin-token, /admin is a 404 that says how to turn it on', async () => {
    const off = await SQLITE.create();
    const c = await composeServer({
      db: off.url,
      address: '127.0.0.1',
      port: 0,
      logLevel: 'silent',
      processMetrics: false,
    });
    try {
      const { main } = await c.listen();
      for (const path of ['/admin', '/admin/api/tokens', '/admin/session']) {
        const r = await fetch(`http://127.0.0.1:${main.port}${path}`);
        assert.equal(r.status, 404, path);
        assert.match(await r.text(), /--admin-token/);
      }
    } finally {
      await c.close();
      await off.cleanup();
    }
  });

  void test('bad sign-ins are refused with the code and its fix, then limited (429 + Retry-After) like the admin API', async () => {
    const otherDb = await SQLITE.create();
    const other = await startComposed(otherDb.url);
    const p = await browser.newPage();
    try {
      await signIn(p, other.url, 'not-the-admin-token-at-all');
      await p.waitForSelector('.error');
      assert.match(await text(p, '.error'), /BURROW_ERR_UNAUTHORIZED/);
      assert.match(await text(p, '.error'), /Pass a valid token/);
      assert.equal(await p.$('nav'), null, 'no console after a bad token');
      for (let i = 0; i < 9; i++) {
        const r = await consoleCall(other.port, 'POST', '/session', {}, { token: `wrong-${i}` });
        assert.equal(r.status, 401);
        assert.equal(r.headers['set-cookie'], undefined);
      }
      await p.click('button[type=submit]');
      await p.waitForFunction(() => document.querySelector('.error')?.textContent?.includes('BURROW_ERR_RATE_LIMITED'));
      assert.match(await text(p, '.error'), /try again in \d+ s/);
      const right = await consoleCall(other.port, 'POST', '/session', {}, { token: ADMIN_TOKEN });
      assert.equal(right.status, 429, 'the right token waits too, as on the admin API');
      assert.ok(Number(right.headers['retry-after']) > 0);
      const api = await admin(other.port, 'GET', '/tokens');
      assert.equal(api.status, 429, 'one limiter: the admin API is locked for this address too');
    } finally {
      await p.close();
      await other.composed.close();
      await otherDb.cleanup();
    }
  });

  void test('the admin token signs in: a strict session cookie, CSP and frame headers, the overview', async () => {
    const r = await page.goto(`${srv.url}/admin`);
    const h = r!.headers();
    assert.match(h['content-security-policy'] ?? '', /default-src 'self'/);
    assert.match(h['content-security-policy'] ?? '', /frame-ancestors 'none'/);
    assert.doesNotMatch(h['content-security-policy'] ?? '', /unsafe-inline/);
    assert.equal(h['x-frame-options'], 'DENY');
    assert.equal(h['referrer-policy'], 'no-referrer');
    // from the keyboard alone: type the token, Enter
    await page.focus('#admin-token');
    await page.keyboard.type(ADMIN_TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForSelector('nav');
    const cookie = (await context.cookies()).find((c) => c.name === 'burrow_console');
    assert.ok(cookie, 'session cookie set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.path, '/admin');
    assert.equal(cookie.secure, false, 'plain HTTP here; Secure over HTTPS');
    assert.ok(cookie.value.length >= 40, 'a long random id');
    assert.notEqual(cookie.value, ADMIN_TOKEN);
    await page.waitForFunction(() => document.querySelector('#stat-tunnels')?.textContent === '0');
    assert.match(await text(page, 'h1'), /Overview/);
  });

  void test('a token created in the console works at once with `burrow http --token`; the tunnel shows within 2 s and its counter moves', async () => {
    await page.click('a[href="#/tokens"]');
    await page.fill('#token-label', 'cli laptop');
    await page.click('#create-token');
    await page.waitForSelector('#new-secret');
    const secret = await page.inputValue('#new-secret');
    assert.match(secret, /^brw_/);
    const id = await page.getAttribute('#tokens tbody tr:first-child', 'data-token');
    assert.ok(id);
    const cli = runDistCli(
      ['http', String(origin.port), '--server', srv.url, '--token', secret, '--local-host', '127.0.0.1', '--json'],
      { cwd },
    );
    clis.push(cli);
    const m = await cli.waitFor(/"url":"http:\/\/([a-z0-9-]+)\./);
    const ready = Date.now();
    const name = m[1]!;
    created = { id, secret, name, cli };
    await page.click('a[href="#/overview"]');
    await page.waitForFunction(() => document.querySelector('#stat-tunnels')?.textContent === '1', undefined, {
      timeout: 2000,
    });
    assert.ok(Date.now() - ready < 2000, 'the overview shows the tunnel within 2 s');
    await page.click('a[href="#/tunnels"]');
    const cell = `tr[data-tunnel="${name}"] .requests`;
    await page.waitForSelector(cell);
    assert.match(await text(page, `tr[data-tunnel="${name}"] .agent`), /127\.0\.0\.1/, "the agent's address");
    const before = Number(await text(page, cell));
    // the counters are pushed over the one event stream: the page asks nothing while they move
    const asked: string[] = [];
    const onRequest = (r: { url(): string }): void => void asked.push(r.url());
    page.on('request', onRequest);
    for (let i = 0; i < 3; i++) assert.equal((await visit(srv.port, `${name}.localhost`, `/hit-${i}`)).status, 200);
    await page.waitForFunction(
      ({ sel, n }) => Number(document.querySelector(sel)?.textContent) >= n,
      { sel: cell, n: before + 3 },
      { timeout: 3000 },
    );
    page.off('request', onRequest);
    assert.deepEqual(asked, [], 'no polling');
    // filter and sort
    await page.fill('#tunnel-filter', 'no-such-tunnel');
    await page.waitForSelector('#no-tunnels');
    await page.fill('#tunnel-filter', name.slice(0, 4));
    await page.waitForSelector(cell);
    await page.click('#tunnels th:has-text("Requests") button');
    assert.equal(await page.getAttribute('#tunnels th:has-text("Requests")', 'aria-sort'), 'ascending');
    await page.click('#tunnels th:has-text("Requests") button');
    assert.equal(await page.getAttribute('#tunnels th:has-text("Requests")', 'aria-sort'), 'descending');
    await page.fill('#tunnel-filter', '');
  });

  void test('revoking that token in the console disconnects its agent at once', async () => {
    assert.ok(created, 'the previous test created a token');
    await page.click('a[href="#/tokens"]');
    const row = `#tokens tr[data-token="${created.id}"]`;
    await page.waitForSelector(row);
    // by keyboard: Enter on "Revoke", and the confirmation takes the focus, Enter again
    await page.focus(`${row} button.danger`);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`${row} .confirm button.danger:focus`);
    await page.keyboard.press('Enter');
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.includes('revoked'), row);
    const code = await Promise.race([
      created.cli.exited,
      new Promise<string>((r) => setTimeout(() => r('still running'), 5000).unref()),
    ]);
    assert.notEqual(code, 'still running', 'the agent was disconnected and gave up');
    const v = await visit(srv.port, `${created.name}.localhost`, '/after');
    assert.notEqual(v.status, 200);
    await page.click('a[href="#/overview"]');
    await page.waitForFunction(() => document.querySelector('#stat-tunnels')?.textContent === '0');
  });

  void test('disconnecting one tunnel on the tunnels page ends it: its `burrow http` exits 1 saying why', async () => {
    const { secret } = await srv.composed.accounts.tokens.create({ label: 'disconnect me' });
    const cli = runDistCli(
      ['http', String(origin.port), '--server', srv.url, '--token', secret, '--local-host', '127.0.0.1', '--json'],
      { cwd },
    );
    clis.push(cli);
    const name = (await cli.waitFor(/"url":"http:\/\/([a-z0-9-]+)\./))[1]!;
    await page.click('a[href="#/tunnels"]');
    const row = `#tunnels tr[data-tunnel="${name}"]`;
    await page.waitForSelector(row);
    await page.click(`${row} button.danger`);
    await page.click(`${row} .confirm button.danger`);
    assert.equal(await cli.exited, 1, 'the agent stopped (no reconnect)');
    assert.match(cli.output(), /BURROW_ERR_TUNNEL_CLOSED/);
    await page.waitForSelector(row, { state: 'detached', timeout: 3000 });
    assert.equal((await visit(srv.port, `${name}.localhost`, '/gone')).status, 404, 'the name is free at once');
  });

  void test('names: reserve one, edit its visitor rules (a visitor is refused), release it; API errors show code and fix', async () => {
    const owner = await srv.composed.accounts.tokens.create({ label: 'names owner' });
    await page.click('a[href="#/names"]');
    await page.waitForSelector('#reserve-token option', { state: 'attached' });
    await page.fill('#reserve-name', 'Not A Name!');
    await page.selectOption('#reserve-token', owner.token.id);
    // a refused call shows the error table's code and fix (in a second tab, to keep this one's log clean)
    const p2 = await context.newPage();
    try {
      await p2.goto(`${srv.url}/admin#/names`);
      await p2.waitForSelector('#reserve-token option', { state: 'attached' });
      await p2.fill('#reserve-name', 'Not A Name!');
      await p2.selectOption('#reserve-token', owner.token.id);
      await p2.click('#reserve');
      await p2.waitForSelector('.error');
      assert.match(await text(p2, '.error'), /BURROW_ERR_INVALID_NAME/);
    } finally {
      await p2.close();
    }
    await page.fill('#reserve-name', 'console-app');
    await page.click('#reserve');
    const row = 'tr[data-name="console-app"]';
    await page.waitForSelector(row);
    const listed = (await admin(srv.port, 'GET', '/names')).json as { names: { name: string; tokenId: string }[] };
    assert.deepEqual(
      listed.names.map((n) => [n.name, n.tokenId]),
      [['console-app', owner.token.id]],
    );

    await page.click(`${row} button:has-text("Edit rules")`);
    await page.fill('#rule-deny', '127.0.0.1');
    await page.click('#save-rules');
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent?.includes('deny 127.0.0.1'),
      `${row} .rules-summary`,
    );
    const t = await tunnel(srv.url, origin.port, { token: owner.secret, subdomain: 'console-app' });
    try {
      const refused = await visit(srv.port, t);
      assert.equal(refused.status, 403, 'the stored rule refuses this visitor');
      assert.notEqual(refused.body.toString(), 'origin:/');
    } finally {
      t.close();
    }

    await page.click(`${row} button.danger`);
    await page.click(`${row} .confirm button.danger`);
    await page.waitForSelector(row, { state: 'detached' });
    assert.equal((await admin(srv.port, 'GET', '/names/console-app')).status, 404);
  });

  void test("a pipe transfer's progress moves on the pipes page", async () => {
    const { secret } = await srv.composed.accounts.tokens.create({ label: 'pipe' });
    await page.click('a[href="#/pipes"]');
    await page.waitForSelector('#pipe-bytes');
    const auth = { authorization: `Bearer ${secret}`, host: `127.0.0.1:${srv.port}` };
    const received: number[] = [0];
    const receiver = http.get(
      { host: '127.0.0.1', port: srv.port, path: '/api/v1/pipe/console-progress', headers: auth },
      (res) => res.on('data', (c: Buffer) => (received[0]! += c.length)),
    );
    const sender = http.request({
      host: '127.0.0.1',
      port: srv.port,
      method: 'POST',
      path: '/api/v1/pipe/console-progress',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
    });
    sender.on('response', (r) => r.resume());
    try {
      const chunk = Buffer.alloc(256 * 1024, 7);
      sender.write(chunk);
      await page.waitForFunction(() => document.querySelector('#pipe-active')?.textContent === '1');
      const first = await text(page, '#pipe-bytes');
      sender.write(chunk);
      await waitUntil(() => received[0]! >= 2 * chunk.length, { what: 'the receiver to get both chunks' });
      await page.waitForFunction((was) => document.querySelector('#pipe-bytes')?.textContent !== was, first);
      const second = await text(page, '#pipe-bytes');
      sender.write(chunk);
      await page.waitForFunction((was) => document.querySelector('#pipe-bytes')?.textContent !== was, second);
      // the pipe itself is listed: its path, streaming, one receiver of one, bytes moving
      const row = '#pipes tr[data-item="/console-progress"]';
      await page.waitForSelector(row);
      assert.match(await text(page, row), /streaming/);
      assert.match(await text(page, row), /receivers 1 of 1/);
      await page
        .locator(`${row} .bytes-in`)
        .filter({ hasText: /768(\.0)? KiB/ })
        .waitFor({ timeout: 3000 });
    } finally {
      sender.end();
      receiver.destroy();
    }
  });

  void test('TCP sessions: a WebSocket session to a `burrow tcp` tunnel is listed with its target and moving bytes', async () => {
    const { secret } = await srv.composed.accounts.tokens.create({ label: 'tcp session' });
    const echo = net.createServer((c) => c.pipe(c));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const exposed = await exposeTcp({
      server: srv.url,
      port: (echo.address() as net.AddressInfo).port,
      localHost: '127.0.0.1',
      token: secret,
      publicPort: false,
      reconnect: false,
    });
    const client = await connectTcp({
      url: exposed.wsUrl!,
      token: exposed.accessToken!,
      port: 0,
      mode: 'multiplexed',
      logLevel: 'none',
    });
    const sock = net.connect(client.address.port, '127.0.0.1');
    try {
      await page.click('a[href="#/tcp"]');
      let echoed = 0;
      sock.on('data', (c: Buffer) => (echoed += c.length));
      sock.write(Buffer.alloc(64 * 1024, 7));
      await waitUntil(() => echoed === 64 * 1024, { what: 'the echo came back' });
      const row = `#tcp-sessions tr:has(code:text-is("${exposed.name}"))`;
      await page.waitForSelector(row, { timeout: 3000 });
      await page
        .locator(`${row} .bytes-in`)
        .filter({ hasText: /64(\.0)? KiB/ })
        .waitFor({ timeout: 3000 });
      assert.match(await text(page, row), /multiplexed/);
    } finally {
      sock.destroy();
      client.close();
      exposed.close();
      echo.close();
    }
    await page.waitForSelector('#tcp-sessions-none', { timeout: 5000 });
  });

  void test('a forged or missing CSRF token, another origin, and a request after sign-out are refused', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'burrow_console')!;
    const jar = { cookie: `burrow_console=${cookie.value}` };
    const session = await consoleCall(srv.port, 'GET', '/session', jar);
    const csrf = session.json['csrf'] as string;
    assert.ok(csrf);
    const count = async (): Promise<number> =>
      ((await admin(srv.port, 'GET', '/tokens')).json as { tokens: unknown[] }).tokens.length;
    const tokensBefore = await count();
    for (const headers of [
      jar,
      { ...jar, 'x-csrf-token': 'forged' },
      { ...jar, 'x-csrf-token': `${csrf.slice(1)}x` },
    ]) {
      const r = await consoleCall(srv.port, 'POST', '/api/tokens', headers, { label: 'forged' });
      assert.equal(r.status, 403);
      assert.equal(r.json.error?.code, 'BURROW_ERR_CONSOLE_CSRF');
    }
    const crossSite = await consoleCall(
      srv.port,
      'POST',
      '/api/tokens',
      { ...jar, 'x-csrf-token': csrf, origin: 'http://evil.example' },
      { label: 'cross' },
    );
    assert.equal(crossSite.status, 403);
    assert.equal(await count(), tokensBefore, 'nothing was created');
    const real = await consoleCall(
      srv.port,
      'POST',
      '/api/tokens',
      { ...jar, 'x-csrf-token': csrf },
      { label: 'real' },
    );
    assert.equal(real.status, 201, 'the same call with the session and its token passes');

    await page.click('button.signout');
    await page.waitForSelector('#admin-token');
    for (const [method, path] of [
      ['GET', '/api/tokens'],
      ['GET', '/events'],
    ] as const) {
      const r = await consoleCall(srv.port, method, path, jar);
      assert.equal(r.status, 401, `${method} ${path} after sign-out`);
      assert.equal(r.json.error?.code, 'BURROW_ERR_CONSOLE_SIGNED_OUT');
    }
    const after = await consoleCall(
      srv.port,
      'POST',
      '/api/tokens',
      { ...jar, 'x-csrf-token': csrf },
      { label: 'late' },
    );
    assert.equal(after.status, 401);
    assert.equal((await consoleCall(srv.port, 'GET', '/session', jar)).json['signedIn'], false);
  });

  void test('every page at 1280 and 375 px wide: screenshots, no horizontal overflow, no console error', async () => {
    await page.fill('#admin-token', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('nav');
    // a live tunnel with some traffic, so the pages have rows to lay out
    const { secret } = await srv.composed.accounts.tokens.create({ label: 'screenshots' });
    const t = await tunnel(srv.url, origin.port, { token: secret, subdomain: 'demo-app' });
    for (let i = 0; i < 5; i++) await visit(srv.port, t, `/page-${i}`);
    await page.click('a[href="#/overview"]');
    await page.waitForFunction(() => document.querySelector('#stat-tunnels')?.textContent === '1');
    try {
      await screenshotsAt(page);
      // dark by the system's setting
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.click('a[href="#/overview"]');
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(bg, 'rgb(13, 17, 23)', 'the dark palette');
      await page.screenshot({ path: join(SHOTS, 'console-overview-dark-1280.png') });
      await page.emulateMedia({ colorScheme: 'light' });
    } finally {
      t.close();
    }
    assert.deepEqual(pageErrors, [], 'no console errors in the page');
  });
});

/** Every page at 1280 and 375 px: a screenshot each, and no wider than the window. */
async function screenshotsAt(page: Page): Promise<void> {
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: width > 400 ? 900 : 800 });
    for (const id of PAGES) {
      await page.click(`a[href="#/${id}"]`);
      await page.waitForFunction((h) => location.hash === `#/${h}`, id);
      await page.waitForSelector('.live.on');
      const overflow = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
      }));
      assert.ok(overflow.scroll <= overflow.client, `${id} at ${width} px: ${overflow.scroll} > ${overflow.client}`);
      await page.screenshot({ path: join(SHOTS, `console-${id}-${width}.png`), fullPage: true });
    }
  }
}
