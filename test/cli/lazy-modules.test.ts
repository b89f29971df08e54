/**
 * What an idle `burrow server` and `burrow pipe serve` have loaded once they listen (issue 19 item 5,
 * issue 16's idle RSS): the modules a configuration does not use stay unloaded. A static import
 * that brings one back (acme-client, ws before the first agent, pino in pipe serve …) fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundledModules, NOT_BUILT, ROOT, startCli } from './dist.js';

/** Start the built CLI with a preload that lists every module loaded (ESM hook + require cache). */
async function loadedBy(args: string[], ready: RegExp): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-lazy-'));
  try {
    const list = join(dir, 'loaded.txt');
    const hooks = join(dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      `import { appendFileSync } from 'node:fs';\nexport async function load(url, ctx, next) { appendFileSync(${JSON.stringify(list)}, url + '\\n'); return next(url, ctx); }\n`,
    );
    const preload = join(dir, 'preload.cjs');
    writeFileSync(
      preload,
      `const { register } = require('node:module');\nconst { appendFileSync } = require('node:fs');\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\nprocess.on('exit', () => appendFileSync(${JSON.stringify(list)}, Object.keys(require.cache).join('\\n') + '\\n'));\n`,
    );
    const run = startCli(args, { cwd: dir, env: { NODE_OPTIONS: `--require ${preload}` } });
    for (let i = 0; !ready.test(run.stdout() + run.stderr()); i++) {
      if (i > 300) throw new Error(`not ready: ${run.stdout()}${run.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    run.child.kill('SIGTERM');
    await run.ended;
    return bundledModules(
      readFileSync(list, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((u) => u.replace(/^file:\/\//, '').replace(ROOT, '')),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An idle `burrow server` on a free port with a fresh SQLite file. */
const SERVER = ['server', '--port', '0', '--address', '127.0.0.1', '--db', 'sqlite:./b.db'];

const has = (loaded: string[], part: string): string[] => loaded.filter((u) => u.includes(part));

test(
  'an idle burrow server has not loaded acme-client, ws, busboy, pg, ioredis, the cluster or tiflis (switched off)',
  { skip: NOT_BUILT },
  async () => {
    const loaded = await loadedBy(SERVER, /listening on/);
    assert.ok(has(loaded, 'dist/vendor/kysely.cjs').length > 0, 'the list is read (kysely serves the SQLite store)');
    assert.deepEqual(has(loaded, 'node_modules/kysely/'), [], 'kysely is loaded from its one-file build');
    for (const p of [
      'acme-client',
      'node_modules/ws/',
      'busboy',
      'node_modules/pg/',
      'ioredis',
      'dist/cluster/peers',
      'dist/cluster/index',
      // tiflis is on with --registration-key only (its key rule, keys.js, checks the configuration)
      'dist/adapters/tiflis/adapter.js',
      'dist/adapters/tiflis/relay.js',
    ]) {
      assert.deepEqual(has(loaded, p), [], `${p} is loaded by an idle server`);
    }
  },
);

test(
  'burrow server --no-pipe has not loaded the pipe; --registration-key loads tiflis',
  { skip: NOT_BUILT },
  async () => {
    const loaded = await loadedBy([...SERVER, '--no-pipe', '--registration-key', 'k'.repeat(32)], /listening on/);
    assert.deepEqual(has(loaded, 'dist/adapters/pipe/handler.js'), [], 'the pipe handler is loaded with --no-pipe');
    assert.ok(has(loaded, 'dist/adapters/tiflis/adapter.js').length > 0, 'tiflis is loaded when switched on');
  },
);

test(
  'an idle burrow pipe serve has not loaded pino, prom-client, busboy, the pipe pages or the client SDK',
  { skip: NOT_BUILT },
  async () => {
    const loaded = await loadedBy(['pipe', 'serve', '--port', '0', '--address', '127.0.0.1'], /listening on/);
    assert.ok(has(loaded, 'dist/adapters/pipe/handler.js').length > 0, 'the list is read (the handler is loaded)');
    for (const p of [
      'node_modules/pino/',
      'prom-client',
      'busboy',
      '-page.js',
      'dist/client/pipe/sdk',
      'dist/wire/mux/',
      'cli-progress',
      'kysely',
    ]) {
      assert.deepEqual(has(loaded, p), [], `${p} is loaded by an idle pipe serve`);
    }
  },
);
