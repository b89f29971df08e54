/**
 * The built CLI runs from its bundle (scripts/bundle-cli.mjs): dist/cli.js imports dist/bundle/cli.js,
 * no tsc module of burrow's is loaded beside it, and what modules find beside their own tsc file
 * through `import.meta.url` (the package's version, the console's page assets, the vendored kysely)
 * is found from the bundle's chunks as well.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIST_CLI, NOT_BUILT, ROOT, runCli, startListening } from './dist.js';
import { loopbackServer } from '../helpers/cli.js';

const TRACER = fileURLToPath(new URL('./fixtures/trace-imports.mjs', import.meta.url));
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

test('burrow --version reads package.json beside the tsc build, from the bundle', { skip: NOT_BUILT }, async () => {
  const r = await runCli(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), version);
  const dir = mkdtempSync(join(tmpdir(), 'burrow-bundle-'));
  try {
    const file = join(dir, 'loaded.txt');
    const traced = spawnSync(process.execPath, ['--import', TRACER, DIST_CLI, 'http', '--help'], {
      cwd: ROOT,
      env: { ...process.env, BURROW_TRACE_IMPORTS: file },
      encoding: 'utf8',
    });
    assert.equal(traced.status, 0, traced.stderr);
    const ours = readFileSync(file, 'utf8')
      .split('\n')
      .filter((u) => u.startsWith(`file://${ROOT}dist/`))
      .map((u) => u.slice(`file://${ROOT}`.length));
    assert.ok(ours.includes('dist/bundle/cli.js'), ours.join(', '));
    assert.deepEqual(
      ours.filter((u) => u !== 'dist/cli.js' && !u.startsWith('dist/bundle/')),
      [],
      'only the entry and the bundle of burrow are loaded',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'a bundled burrow server serves the console page assets and opens its SQLite store',
  { skip: NOT_BUILT },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-bundle-'));
    const { run, base } = await startListening(
      loopbackServer(`sqlite:${join(dir, 'b.db')}`, '--admin-token', 'a'.repeat(32)),
      { boundMs: 60_000 },
    );
    t.after(() => {
      run.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
    const html = await (await fetch(`${base}/admin`)).text();
    const assets = [...html.matchAll(/\/admin\/assets\/(app-[A-Z0-9]+\.(?:js|css))/g)].map((m) => m[1]!);
    assert.equal(assets.length, 2, html);
    for (const name of assets) assert.equal((await fetch(`${base}/admin/assets/${name}`)).status, 200, name);
    const status = await fetch(`${base}/api/admin/tokens`, { headers: { authorization: `Bearer ${'a'.repeat(32)}` } });
    assert.equal(status.status, 200, 'the store (kysely, loaded beside the tsc build) answers');
  },
);
