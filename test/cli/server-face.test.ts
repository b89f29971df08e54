/**
 * The server's face (issue 15): `GET /` in a real browser shows what this server is and the command
 * that opens a tunnel to it (its own URL filled in), API clients keep the JSON (no made-up docs link);
 * logs are human lines with --log-format pretty and JSON with json, a tunnel's close is logged like
 * its registration; metric names carry no doubled prefix.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, NO_BROWSER } from '../helpers/browser.js';
import { freePort } from '../helpers/net.js';
import { waitUntil } from '../helpers/wait.js';
import { NOT_BUILT, startCli, type Running } from './dist.js';

const noBrowser = NO_BROWSER;

async function startServer(format: 'pretty' | 'json'): Promise<{ run: Running; url: string }> {
  const port = await freePort();
  const run = startCli(
    ['server', '--port', String(port), '--address', '127.0.0.1', '--db', 'sqlite::memory:', '--log-format', format],
    { boundMs: 60_000 },
  );
  await waitUntil(() => run.stderr().includes('listening on'), { timeoutMs: 20_000, what: `server (${run.stderr()})` });
  return { run, url: `http://127.0.0.1:${port}` };
}

void describe("the server's face", { skip: NOT_BUILT }, () => {
  let json: { run: Running; url: string };
  let browser: Browser | undefined;
  before(async () => {
    json = await startServer('json');
  });
  after(async () => {
    await browser?.close();
    json?.run.child.kill('SIGTERM');
  });

  void it('GET / in a browser: a page with the one-line command for this server', { skip: noBrowser }, async () => {
    browser = await launchBrowser();
    const page = await browser.newPage();
    const res = await page.goto(`${json.url}/`);
    assert.equal(res?.status(), 200);
    assert.match(res?.headers()['content-type'] ?? '', /text\/html/);
    assert.match(await page.title(), /burrow/);
    assert.equal((await page.textContent('#command'))?.trim(), `npx burrow-tunnel http 3000 --server ${json.url}`);
    assert.ok(await page.isVisible('a[href="/admin"]'));
  });

  void it('GET / for an API client stays JSON, without a made-up docs link', async () => {
    const r = await fetch(`${json.url}/`, { headers: { accept: 'application/json' } });
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    const body = (await r.json()) as Record<string, unknown>;
    assert.equal(body['name'], 'burrow');
    assert.equal(body['docs'], undefined);
    assert.equal(body['open'], `npx burrow-tunnel http 3000 --server ${json.url}`);
  });

  void it('metric names have no doubled prefix', async () => {
    const text = await (await fetch(`${json.url}/metrics`)).text();
    assert.match(text, /^burrow_process_cpu_user_seconds_total /m);
    assert.doesNotMatch(text, /process_process/);
  });

  void it('json logs: a tunnel closing is logged like its registration', async () => {
    const client = startCli(['http', '3000', '--server', json.url]);
    await waitUntil(() => client.stdout().includes('Forwarding'), { timeoutMs: 10_000, what: 'a tunnel' });
    client.child.kill('SIGINT');
    assert.equal((await client.ended).code, 0);
    await waitUntil(() => /"msg":"tunnel closed"/.test(json.run.stdout()), {
      timeoutMs: 10_000,
      what: `a "tunnel closed" line (stdout: ${json.run.stdout()})`,
    });
    assert.match(json.run.stdout(), /"msg":"tunnel registered"/);
  });

  void it('--log-format pretty: human lines, not JSON', async () => {
    const pretty = await startServer('pretty');
    try {
      const client = startCli(['http', '3000', '--server', pretty.url]);
      await waitUntil(() => client.stdout().includes('Forwarding'), { timeoutMs: 10_000, what: 'a tunnel' });
      client.child.kill('SIGINT');
      await client.ended;
      await waitUntil(() => pretty.run.stdout().includes('tunnel registered'), {
        timeoutMs: 10_000,
        what: `a pretty line (stdout: ${pretty.run.stdout()})`,
      });
      const line = pretty.run
        .stdout()
        .split('\n')
        .find((l) => l.includes('tunnel registered'))!;
      assert.doesNotMatch(line, /^\{/, line);
      assert.match(line, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO/, line);
    } finally {
      pretty.run.child.kill('SIGTERM');
      await pretty.run.ended;
    }
  });
});
