/**
 * Start-up (issue 15): `burrow --version` and `burrow http --help` load only the command being run —
 * never the server, the store, a database driver or the WebSocket client — so they start in about
 * the time of Node itself. The modules are traced with a resolve hook (fixtures/trace-imports.mjs);
 * the times are printed, and bounded loosely against a bare `node -e 0` on the same machine.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DIST_CLI, NOT_BUILT, ROOT } from './dist.js';

const TRACER = fileURLToPath(new URL('./fixtures/trace-imports.mjs', import.meta.url));
/** Over a bare `node -e 0`: lazy loading costs tens of ms; loading the server costs hundreds. */
const MAX_EXTRA_MS = 150;
const dir = mkdtempSync(join(tmpdir(), 'burrow-startup-'));

function loaded(args: string[]): string[] {
  const file = join(dir, `${args.join('-')}.txt`);
  const r = spawnSync(process.execPath, ['--import', TRACER, DIST_CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, BURROW_TRACE_IMPORTS: file },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((u) => u.replace(`file://${ROOT}`, ''));
}

/** The best of a few runs, in ms. */
function best(args: string[], runs = 5): number {
  let ms = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
    ms = Math.min(ms, performance.now() - t);
  }
  return ms;
}

const HEAVY =
  /^dist\/(app|server|adapters|store|auth|cluster|console)\/|node_modules\/(ws|pg|better-sqlite3|kysely|pino)\//;

void describe('start-up', { skip: NOT_BUILT }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const args of [['--version'], ['http', '--help']]) {
    void it(`burrow ${args.join(' ')} loads no server, store or driver`, () => {
      const urls = loaded(args);
      assert.ok(urls.includes('dist/cli.js'), `the trace works: ${urls.join(', ')}`);
      if (args[0] === 'http') assert.ok(urls.includes('dist/cli/commands/http.js'));
      assert.deepEqual(
        urls.filter((u) => HEAVY.test(u)),
        [],
      );
      assert.ok(!urls.some((u) => u.includes('/commands/server.js') || u.includes('/commands/pipe')));
    });
  }

  void it('burrow --version and burrow http --help start within MAX_EXTRA_MS of node itself', () => {
    const node = best(['-e', '0']);
    const version = best([DIST_CLI, '--version']);
    const help = best([DIST_CLI, 'http', '--help']);
    console.log(
      `# node -e 0: ${node.toFixed(0)} ms; burrow --version: ${version.toFixed(0)} ms; burrow http --help: ${help.toFixed(0)} ms`,
    );
    assert.ok(version - node < MAX_EXTRA_MS, `--version took ${version.toFixed(0)} ms (node: ${node.toFixed(0)})`);
    assert.ok(help - node < MAX_EXTRA_MS, `http --help took ${help.toFixed(0)} ms (node: ${node.toFixed(0)})`);
  });
});
