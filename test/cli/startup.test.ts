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
import { bundledModules, DIST_CLI, NOT_BUILT, ROOT } from './dist.js';

const TRACER = fileURLToPath(new URL('./fixtures/trace-imports.mjs', import.meta.url));
/**
 * The bound, against a bare `node -e 0` measured in between: lazy loading costs tens of ms, loading
 * the server hundreds; twice node's own time leaves room for a machine busy with other tests.
 */
const bound = (nodeMs: number): number => 2 * nodeMs + 100;
const dir = mkdtempSync(join(tmpdir(), 'burrow-startup-'));

function loaded(args: string[]): string[] {
  const file = join(dir, `${args.join('-')}.txt`);
  const r = spawnSync(process.execPath, ['--import', TRACER, DIST_CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, BURROW_TRACE_IMPORTS: file },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return bundledModules(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((u) => u.replace(`file://${ROOT}`, '')),
  );
}

/** The best of a few runs of each command, in ms; the commands take turns (a busy moment hits all). */
function best(commands: string[][], runs = 5): number[] {
  const ms = commands.map(() => Infinity);
  for (let i = 0; i < runs; i++) {
    commands.forEach((args, k) => {
      const t = performance.now();
      spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
      ms[k] = Math.min(ms[k]!, performance.now() - t);
    });
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

  void it('burrow --version and burrow http --help start about as fast as node itself', () => {
    const [node, version, help] = best([
      ['-e', '0'],
      [DIST_CLI, '--version'],
      [DIST_CLI, 'http', '--help'],
    ]) as [number, number, number];
    console.log(
      `# node -e 0: ${node.toFixed(0)} ms; burrow --version: ${version.toFixed(0)} ms; burrow http --help: ${help.toFixed(0)} ms`,
    );
    assert.ok(version < bound(node), `--version took ${version.toFixed(0)} ms (node: ${node.toFixed(0)})`);
    assert.ok(help < bound(node), `http --help took ${help.toFixed(0)} ms (node: ${node.toFixed(0)})`);
  });
});
