/**
 * Redis trouble is visible and safe (issue 21): two nodes on a Redis of the test's own (a
 * redis-server process on a free port), which is killed and started again. Open tunnels keep
 * serving, new names fail closed with 503, /readyz says not ready, and the nodes recover by
 * themselves. Skips when redis-server is not installed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeHttp, startOrigin } from '../helpers/harness.js';
import { freePort } from '../helpers/net.js';
import { waitUntil } from '../helpers/wait.js';
import { openTunnel } from '../../src/client/burrow/open-tunnel.js';
import { isBurrowError } from '../../src/core/errors.js';
import { get, kill, listening, TestCluster } from './fixture.js';

const skip =
  spawnSync('sh', ['-c', 'command -v redis-server']).status === 0
    ? undefined
    : 'redis-server is not installed (apt-get install -y redis-server; .ci/run starts Redis)';

describe('Redis goes away and comes back', { skip }, () => {
  let redisPort = 0;
  let redis: ChildProcess | undefined;
  let cluster: TestCluster;
  let origin: Awaited<ReturnType<typeof startOrigin>>;

  const startRedis = async (): Promise<void> => {
    redis = spawn(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    await waitUntil(() => listening(redisPort), { timeoutMs: 10_000, intervalMs: 20, what: 'redis-server listening' });
  };

  before(async () => {
    redisPort = await freePort();
    await startRedis();
    origin = await startOrigin((req, res) => res.end(`ok ${req.url}`));
    cluster = await new TestCluster({ nodes: 2, haproxy: false, redisUrl: `redis://127.0.0.1:${redisPort}` }).start();
  });

  after(async () => {
    await cluster?.stop();
    await kill(redis);
    if (origin) await closeHttp(origin.server);
  });

  test('open tunnels keep serving, new names get 503, /readyz is not ready; all recovers by itself', async () => {
    const [n1, n2] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    const kept = await openTunnel({ port: origin.port, server: n1.url, subdomain: 'kept', requestEvents: false });
    try {
      // node 2 knows the name (and has its link to node 1) before Redis goes
      await waitUntil(async () => (await get(n2.url, '/before', 'kept.localhost')).status === 200, {
        what: 'kept served by node 2',
      });
      await kill(redis);

      for (const n of cluster.nodes) {
        await waitUntil(async () => (await get(n.url, '/readyz')).status === 503, {
          what: `${n.id} /readyz not ready`,
        });
        const ready = JSON.parse((await get(n.url, '/readyz')).body.toString()) as { status: string; reason: string };
        assert.deepEqual(ready, { status: 'not_ready', reason: 'redis_unreachable' });
        const s = JSON.parse((await get(n.url, '/api/status')).body.toString()) as {
          cluster: { redis: { state: string } };
        };
        assert.equal(s.cluster.redis.state, 'down');
        // the tunnel keeps serving on both nodes
        const r = await get(n.url, '/during', 'kept.localhost');
        assert.equal(r.body.toString(), 'ok /during', `${n.id} serves kept while Redis is away`);
      }
      // a new name fails closed
      const refused = await openTunnel({
        port: origin.port,
        server: n2.url,
        subdomain: 'newcomer',
        reconnect: false,
        requestEvents: false,
      }).then(
        (t) => {
          t.close();
          return undefined;
        },
        (err: unknown) => err,
      );
      assert.ok(isBurrowError(refused), String(refused));
      assert.equal(refused.code, 'BURROW_ERR_CLUSTER_UNAVAILABLE');
      assert.equal(refused.status, 503);

      await startRedis();
      for (const n of cluster.nodes) {
        await waitUntil(async () => (await get(n.url, '/readyz')).status === 200, {
          timeoutMs: 15_000,
          what: `${n.id} ready again`,
        });
      }
      // the lease of the tunnel that kept serving is back in Redis, under its node
      await waitUntil(async () => (await cluster.ownerOf('kept')) === 'n1', { timeoutMs: 15_000, what: 'lease back' });
      const late = await openTunnel({ port: origin.port, server: n2.url, subdomain: 'newcomer', requestEvents: false });
      assert.equal((await get(n1.url, '/after', 'newcomer.localhost')).body.toString(), 'ok /after');
      late.close();
      await late.whenClosed();
    } finally {
      kept.close();
      await kept.whenClosed();
    }
  });
});
