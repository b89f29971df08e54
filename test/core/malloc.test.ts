/**
 * src/core/malloc.ts: the CLI's long-running commands move glibc's trim/mmap thresholds once at
 * start (the speed it buys is measured in bench/RESULTS.md, not here); an operator's own
 * MALLOC_TRIM_THRESHOLD_/MALLOC_MMAP_THRESHOLD_ wins, and nothing leaks into the process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { settleMallocThresholds } from '../../src/core/malloc.js';

const linux = process.platform === 'linux';

test('runs once on Linux without the operator\'s own malloc settings, and leaves no global gc behind', () => {
  assert.equal(settleMallocThresholds({}), linux);
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
});

test('an operator\'s MALLOC_TRIM_THRESHOLD_ or MALLOC_MMAP_THRESHOLD_ is left alone', () => {
  assert.equal(settleMallocThresholds({ MALLOC_TRIM_THRESHOLD_: '131072' }), false);
  assert.equal(settleMallocThresholds({ MALLOC_MMAP_THRESHOLD_: '131072' }), false);
});

test('the CLI settles them for the commands that move bytes, not for --version', { skip: !linux }, () => {
  // the primer's GC shows in --trace-gc as a full collection before anything else ran
  const run = (args: string[]): string =>
    spawnSync(process.execPath, ['--trace-gc', '--import', 'tsx', 'src/cli.ts', ...args], {
      encoding: 'utf8',
      env: { ...process.env, MALLOC_TRIM_THRESHOLD_: undefined, MALLOC_MMAP_THRESHOLD_: undefined },
      timeout: 30_000,
    }).stdout;
  assert.match(run(['pipe', 'serve', '--port', '70000']), /Mark-Compact.*testing/);
  assert.doesNotMatch(run(['--version']), /Mark-Compact.*testing/);
});
