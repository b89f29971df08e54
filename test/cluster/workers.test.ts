/**
 * `burrow server --workers 2`: two node processes of one cluster sharing one port (node:cluster).
 * Both join the cluster view, an agent on the shared port serves visitors whichever worker they
 * reach, and SIGTERM to the primary drains both workers and exits 0. Skips without Redis.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { closeHttp, startOrigin } from '../helpers/harness.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { waitUntil } from '../helpers/wait.js';
import { get, kill, REDIS_URL, SECRET, skipReason } from './fixture.js';

void test('--workers 2: two nodes on one port, visitors served by either, SIGTERM drains both', async (t) => {
  const skip = await skipReason({ haproxy: false });
  if (skip) {
    t.skip(skip);
    return;
  }
  const port = await freePort();
  const prefix = `burrow-test-${process.pid}-${randomBytes(4).toString('hex')}:`;
  const origin = await startOrigin((req, res) => res.end(`w ${req.url}`));
  const server = runCli(
    [
      'server',
      '--port',
      String(port),
      '--address',
      '127.0.0.1',
      '--workers',
      '2',
      '--cluster',
      REDIS_URL!,
      '--cluster-prefix',
      prefix,
      '--node-id',
      'wk',
      '--advertise-url',
      `http://127.0.0.1:${port}`,
      '--db',
      'sqlite::memory:',
      '--log-level',
      'warn',
    ],
    { BURROW_CLUSTER_SECRET: SECRET },
  );
  let agent: ReturnType<typeof runCli> | undefined;
  try {
    // both workers are in the view (each /api/status is answered by one of them)
    const seen = new Set<string>();
    await waitUntil(
      async () => {
        const r = await get(`http://127.0.0.1:${port}`, '/api/status').catch(() => undefined);
        if (r?.status !== 200) return false;
        const s = JSON.parse(r.body.toString()) as { cluster: { node: string; nodes: { id: string }[] } };
        seen.add(s.cluster.node);
        return seen.size === 2 && s.cluster.nodes.length === 2;
      },
      {
        timeoutMs: 30_000,
        intervalMs: 50,
        what: `both workers answering (seen ${[...seen].join(', ')}; server stderr: ${server.stderr().slice(-1500)})`,
      },
    );
    assert.deepEqual([...seen].sort(), ['wk-w0', 'wk-w1']);
    agent = runCli([
      'http',
      String(origin.port),
      '--server',
      `http://127.0.0.1:${port}`,
      '--subdomain',
      'wkrs',
      '--json',
    ]);
    await agent.nextLine((l) => l.includes('"ready"'), 30_000);
    // connections are spread over the workers: one holds the agent, the other forwards to it
    for (let i = 0; i < 10; i++) {
      const r = await get(`http://127.0.0.1:${port}`, `/n${i}`, 'wkrs.localhost');
      assert.equal(r.body.toString(), `w /n${i}`);
    }
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, server.stderr());
  } finally {
    await kill(agent?.child);
    await kill(server.child);
    await closeHttp(origin.server);
    const r = new Redis(REDIS_URL!);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
  }
});
