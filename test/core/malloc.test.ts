/**
 * src/core/malloc.ts: the CLI's long-running commands move glibc's trim/mmap thresholds once (the
 * speed it buys is measured in bench/RESULTS.md, not here): the clients at start, the servers at
 * their first traffic; an operator's own MALLOC_TRIM_THRESHOLD_/MALLOC_MMAP_THRESHOLD_ wins, and
 * nothing leaks into the process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { settleMallocThresholds } from '../../src/core/malloc.js';
import { openTunnel } from '../../src/client/burrow/open-tunnel.js';
import { cliArgs, loopbackServer } from '../helpers/cli.js';
import { waitUntil } from '../helpers/wait.js';

const linux = process.platform === 'linux';

test("runs once on Linux without the operator's own malloc settings, and leaves no global gc behind", () => {
  assert.equal(settleMallocThresholds({}), linux);
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
});

test("an operator's MALLOC_TRIM_THRESHOLD_ or MALLOC_MMAP_THRESHOLD_ is left alone", () => {
  assert.equal(settleMallocThresholds({ MALLOC_TRIM_THRESHOLD_: '131072' }), false);
  assert.equal(settleMallocThresholds({ MALLOC_MMAP_THRESHOLD_: '131072' }), false);
});

test('the CLI settles them at start for the clients that move bytes, not for --version', { skip: !linux }, () => {
  // the primer's GC shows in --trace-gc as a full collection before anything else ran
  const run = (args: string[]): string =>
    spawnSync(process.execPath, ['--trace-gc', '--import', 'tsx', 'src/cli.ts', ...args], {
      encoding: 'utf8',
      env: { ...process.env, MALLOC_TRIM_THRESHOLD_: undefined, MALLOC_MMAP_THRESHOLD_: undefined },
      timeout: 30_000,
    }).stdout;
  assert.match(run(['http', '70000']), /Mark-Compact.*testing/);
  assert.doesNotMatch(run(['--version']), /Mark-Compact.*testing/);
});

/**
 * A long-running CLI command under --trace-gc: counts the collections a test asked for (the
 * start-up collection, then the primer's: its 30 MiB block may have started an incremental
 * marking, which the primer's gc() finishes, so it can show as two), and its `listening on` address.
 */
function traced(args: string[]): { base: Promise<string>; testingGcs: () => number; stop: () => void } {
  const child = spawn(process.execPath, ['--trace-gc', ...cliArgs(...args)], {
    env: { ...process.env, MALLOC_TRIM_THRESHOLD_: undefined, MALLOC_MMAP_THRESHOLD_: undefined },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const base = (async () => {
    let m: RegExpExecArray | null = null;
    await waitUntil(() => (m = /listening on (?:http:\/\/)?([\d.]+):(\d+)/.exec(out)) !== null, {
      timeoutMs: 20_000,
      what: () => `listening: ${out}`,
    });
    return `http://${m![1]}:${m![2]}`;
  })();
  return {
    base,
    testingGcs: () => out.match(/Mark-Compact.*testing/g)?.length ?? 0,
    stop: () => child.kill('SIGKILL'),
  };
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test(
  'pipe serve settles them at its first transfer, not at start (an idle server keeps its heap trimmed)',
  { skip: !linux },
  async (t) => {
    const s = traced(['pipe', 'serve', '--port', '0', '--address', '127.0.0.1']);
    t.after(() => s.stop());
    const base = await s.base;
    await pause(300);
    assert.equal(s.testingGcs(), 1, 'only the start-up collection before any transfer');
    const transfer = async (path: string): Promise<void> => {
      const got = fetch(base + path).then((r) => r.text());
      await fetch(base + path, { method: 'PUT', body: 'bytes' });
      assert.equal(await got, 'bytes');
    };
    await transfer('/first');
    await waitUntil(() => s.testingGcs() > 1, { what: 'the primer after the first transfer' });
    const primed = s.testingGcs();
    await transfer('/second');
    await pause(300);
    assert.equal(s.testingGcs(), primed, 'the primer runs once');
  },
);

test(
  'burrow server settles them at its first tunnel stream, not when an agent connects',
  { skip: !linux },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-malloc-'));
    const s = traced(loopbackServer(`sqlite:${join(dir, 'b.db')}`, '--log-level', 'warn'));
    const origin = http.createServer((_req, res) => res.end('hi'));
    origin.listen(0, '127.0.0.1');
    await once(origin, 'listening');
    t.after(() => {
      s.stop();
      origin.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const base = await s.base;
    const tunnel = await openTunnel({
      server: base,
      port: (origin.address() as AddressInfo).port,
      localHost: '127.0.0.1',
      subdomain: 'primed',
      reconnect: false,
    });
    t.after(() => tunnel.close());
    await pause(300);
    assert.equal(s.testingGcs(), 1, 'only the start-up collection with an idle tunnel');
    const got = await new Promise<string>((resolve, reject) => {
      http
        .get(base + '/', { headers: { host: 'primed.localhost' } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
    assert.equal(got, 'hi');
    await waitUntil(() => s.testingGcs() > 1, { what: 'the primer after the first stream' });
  },
);
