/**
 * Cluster flags refuse bad input with a clear message and exit 2 (a configuration error), before
 * anything opens; an unreachable Redis is named without its password. (A peer link with a wrong
 * secret: cluster.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';

const GOOD_SECRET = 'x'.repeat(32);

async function fails(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; err: string }> {
  const p = runCli(['server', '--port', '0', '--address', '127.0.0.1', ...args], env);
  const code = await p.exited;
  return { code, err: p.stderr() };
}

void test('a short secret, no --advertise-url, a bad node id: every problem at once, exit 2', async () => {
  const r = await fails(['--cluster', 'redis://127.0.0.1:6379', '--node-id', 'bad id!', '--cluster-secret', 'short']);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /--cluster-secret \(BURROW_CLUSTER_SECRET\) of at least 32 characters/);
  assert.match(r.err, /--advertise-url \(BURROW_ADVERTISE_URL\)/);
  assert.match(r.err, /--node-id must be/);
  assert.doesNotMatch(r.err, /short/, 'the secret is not repeated');
});

void test('cluster flags without --cluster are a usage error naming --cluster', async () => {
  const r = await fails(['--node-id', 'n1'], { BURROW_CLUSTER_SECRET: GOOD_SECRET });
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /need --cluster/);
  const u = await fails(['--cluster', 'http://127.0.0.1:6379', '--advertise-url', 'http://127.0.0.1:1'], {
    BURROW_CLUSTER_SECRET: GOOD_SECRET,
  });
  assert.equal(u.code, 2, u.err);
  assert.match(u.err, /--cluster must be a Redis URL/);
});

void test('an unreachable Redis is named (host and port, never the password) and the start fails', async () => {
  const port = await freePort();
  const r = await fails(
    ['--cluster', `redis://:hunter2-secret@127.0.0.1:${port}`, '--advertise-url', 'http://127.0.0.1:1'],
    { BURROW_CLUSTER_SECRET: GOOD_SECRET },
  );
  assert.notEqual(r.code, 0);
  assert.match(r.err, new RegExp(`cannot reach the cluster's Redis at redis://127\\.0\\.0\\.1:${port}`));
  assert.doesNotMatch(r.err, /hunter2/);
});

void test('one process without --cluster loads no Redis client (ioredis stays unloaded)', async () => {
  const { composeServer } = await import('../../src/app/compose.js');
  const composed = await composeServer({ port: 0, address: '127.0.0.1', db: 'sqlite::memory:', logLevel: 'silent' });
  try {
    await composed.listen();
    assert.equal(composed.cluster, undefined);
    assert.ok(!('describe' in composed.server.registry), 'the in-process registry, as before');
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) =>
      k.includes('/node_modules/ioredis/'),
    );
    assert.deepEqual(loaded, []);
  } finally {
    await composed.close();
  }
});
