import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatDuration, formatProgress } from '../../../src/client/pipe/progress-format.js';
import {
  canonicalPath,
  isTargetError,
  parseReceiverCount,
  parseTarget,
  queryFlag,
} from '../../../src/wire/pipe/target.js';
import { resolvePipeOptions, PipeOptionsError } from '../../../src/adapters/pipe/options.js';

void describe('pipe: pure helpers', () => {
  void test('progress line: bar, percent, rate and ETA with a total; bytes, rate and time without', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatDuration(75), '1m15s');
    assert.equal(formatDuration(3725), '1h02m');
    const half = formatProgress({
      bytes: 50 * 1024 * 1024,
      total: 100 * 1024 * 1024,
      elapsedMs: 5000,
      columns: 80,
      label: 'send',
    });
    assert.equal(half, 'send  [##########----------]   50%  50.0 MiB / 100.0 MiB  10.0 MiB/s  ETA 5s');
    assert.equal(formatProgress({ bytes: 2048, total: undefined, elapsedMs: 2000 }), '2.0 KiB  1.0 KiB/s  2s');
  });

  void test('targets: prefix, canonical spelling, limits', () => {
    const t = parseTarget('/api/v1/pipe/a%62c?n=2', 1024);
    assert.ok(!isTargetError(t));
    assert.equal(t.path, '/abc');
    assert.equal(t.prefixed, true);
    assert.equal(t.base, '/api/v1/pipe/');
    const bare = parseTarget('//double/./x', 1024);
    assert.ok(!isTargetError(bare));
    assert.equal(bare.path, '//double/x');
    assert.equal(canonicalPath('/a%2a%7e'), '/a%2A~');
    const idx = parseTarget('/api/v1/pipe', 1024);
    assert.ok(!isTargetError(idx) && idx.path === '/');
    assert.deepEqual(parseTarget('/x\\y', 1024), {
      status: 400,
      message: 'Invalid path: backslashes are not allowed.',
    });
    assert.equal((parseTarget(`/${'a'.repeat(11)}`, 10) as { status: number }).status, 414);
  });

  void test('n and boolean flags', () => {
    const q = (s: string) => new URLSearchParams(s);
    assert.equal(parseReceiverCount(q(''), 256), 1);
    assert.equal(parseReceiverCount(q('n=256'), 256), 256);
    assert.equal(parseReceiverCount(q('n=-1'), 256), 'n should > 0, but n = -1.');
    assert.equal(parseReceiverCount(q('n=1.5'), 256), 'Invalid "n" query parameter');
    assert.equal(queryFlag(q('download'), 'download'), true);
    assert.equal(queryFlag(q('download=no'), 'download'), false);
    assert.equal(queryFlag(q('download=anything'), 'download'), true);
    assert.equal(queryFlag(q(''), 'download'), undefined);
  });

  void test('options are validated all at once', () => {
    assert.throws(
      () => resolvePipeOptions({ maxReceivers: 300, maxPendingPipes: 0, pendingTimeoutMs: 1.5 }),
      (err: unknown) => {
        assert.ok(err instanceof PipeOptionsError);
        assert.equal(err.code, 'BURROW_ERR_INVALID_CONFIG');
        assert.equal(err.problems.length, 3);
        return true;
      },
    );
    assert.equal(resolvePipeOptions().limits.maxActivePipes, 1000);
  });
});
