import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { lazyLogger } from '../../src/core/logger.js';

/** A destination that keeps every line written to it. */
function lines(): { dest: Writable; out: string[] } {
  const out: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { dest, out };
}

test('lazyLogger writes through the pino it creates at first use: levels, fields, redaction, children', async () => {
  const { dest, out } = lines();
  const log = lazyLogger({ level: 'info', destination: dest });
  log.debug('below the level');
  log.info({ path: '/x', token: 'secret' }, 'hello');
  log.child({ adapter: 'pipe' }).warn('from a child');
  assert.equal(log.level, 'info');
  log.level = 'debug';
  log.debug('now shown');
  assert.equal(log.isLevelEnabled('debug'), true);
  await new Promise((r) => setImmediate(r));
  const parsed = out.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    parsed.map((p) => p.msg),
    ['hello', 'from a child', 'now shown'],
  );
  assert.equal(parsed[0]!.path, '/x');
  assert.equal(parsed[0]!.token, '[redacted]');
  assert.equal(parsed[1]!.adapter, 'pipe');
});

test('lazyLogger does not create its pino (nor write) before it is used', () => {
  let made = 0;
  const dest = new Writable({
    write(_c, _e, done) {
      done();
    },
  });
  // the destination is read only when the pino is created: a getter counts that moment
  const options = {
    level: 'info' as const,
    get destination() {
      made++;
      return dest;
    },
  };
  const log = lazyLogger(options);
  assert.equal(made, 0);
  log.info('first');
  assert.ok(made > 0);
});
