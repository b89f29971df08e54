/**
 * src/cli/young-generation.ts: start-up's survivors no longer grow V8's young generation for good
 * (an idle `burrow server` kept 8 MiB of empty semi-spaces), and it grows again with the load once the
 * command has started.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NOT_BUILT, ROOT, startCli } from './dist.js';

const MiB = 1024 * 1024;

test('held, survivors do not grow the young generation; released, they do', () => {
  // a child process: the flag is V8's, process-wide
  const code = `
    import v8 from 'node:v8';
    import { holdYoungGeneration, releaseYoungGeneration } from './src/cli/young-generation.ts';
    const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    const kept = [];
    const survive = () => { for (let i = 0; i < 400_000; i++) kept.push({ i, s: 'x' + i }); };
    const before = young();
    const held = holdYoungGeneration({}, []);
    survive();
    const whileHeld = young();
    releaseYoungGeneration();
    survive();
    console.log(JSON.stringify({ held, before, whileHeld, released: young() }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const { held, before, whileHeld, released } = JSON.parse(r.stdout) as Record<string, number>;
  assert.equal(held, true);
  // (tsx's own loading has grown it already in this child: the hold keeps it where it was)
  assert.equal(whileHeld, before, `young generation ${before} before the hold, ${whileHeld} while held`);
  assert.ok(released! > whileHeld!, `young generation after release: ${released}`);
});

test("an operator's own semi-space flags are left alone", () => {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import { holdYoungGeneration } from './src/cli/young-generation.ts';
       console.log(holdYoungGeneration({ NODE_OPTIONS: '--max-semi-space-size=32' }, []), holdYoungGeneration({}, ['--semi-space-growth-factor=4']));`,
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(r.stdout.trim(), 'false false', r.stderr);
});

test('an idle burrow server keeps the initial young generation (2 MiB, not 8)', { skip: NOT_BUILT }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-young-'));
  try {
    const out = join(dir, 'young.txt');
    const preload = join(dir, 'preload.cjs');
    writeFileSync(
      preload,
      `const v8 = require('node:v8');\nprocess.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, String(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size)));\n`,
    );
    const run = startCli(['server', '--port', '0', '--address', '127.0.0.1', '--db', 'sqlite:./b.db'], {
      cwd: dir,
      env: { NODE_OPTIONS: `--require ${preload}` },
    });
    for (let i = 0; !/listening on/.test(run.stderr()); i++) {
      if (i > 300) throw new Error(`not ready: ${run.stdout()}${run.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    run.child.kill('SIGTERM');
    await run.ended;
    const young = Number(readFileSync(out, 'utf8'));
    assert.ok(young <= 2 * MiB, `young generation of an idle server: ${(young / MiB).toFixed(1)} MiB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
