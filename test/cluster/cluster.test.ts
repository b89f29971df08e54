/**
 * Three burrow nodes as one server (issue 21), for real: `burrow server --cluster` processes sharing
 * Redis, HAProxy in front round-robin, `burrow http` agents through HAProxy, visitors on every node.
 * Skips with the reason when Redis or HAProxy is missing (.ci/run provides both).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import WebSocket, { WebSocketServer } from 'ws';
import { closeHttp, startOrigin } from '../helpers/harness.js';
import { openTunnel, type Tunnel } from '../../src/client/burrow/open-tunnel.js';
import { isBurrowError } from '../../src/core/errors.js';
import { waitUntil } from '../helpers/wait.js';
import { get, kill, skipReason, TestCluster } from './fixture.js';

const skip = await skipReason();
const host = (name: string): string => `${name}.localhost`;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('a cluster of three nodes behind HAProxy', { skip }, () => {
  let cluster: TestCluster;
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  const BIG = randomBytes(8 * 1024 * 1024);

  before(async () => {
    origin = await startOrigin((req, res) => {
      if (req.url === '/echo') {
        const h = createHash('sha256');
        let n = 0;
        req.on('data', (c: Buffer) => {
          h.update(c);
          n += c.length;
        });
        req.on('end', () => res.end(`${n} ${h.digest('hex')}`));
        return;
      }
      if (req.url === '/big') {
        res.end(BIG);
        return;
      }
      if (req.url === '/chunked') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('one,');
        setImmediate(() => res.end('two'));
        return;
      }
      if (req.url === '/events') {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write('data: first\n\n');
        setImmediate(() => res.end('data: second\n\n'));
        return;
      }
      res.end(`hello from ${req.url} via ${String(req.headers['x-forwarded-host'])}`);
    });
    const wss = new WebSocketServer({ server: origin.server });
    wss.on('connection', (s) => s.on('message', (m, binary) => s.send(m, { binary })));
    cluster = await new TestCluster({ nodes: 3 }).start();
  });

  after(async () => {
    await cluster?.stop();
    if (origin) await closeHttp(origin.server);
  });

  test('any node serves any tunnel: HTTP, large bodies both ways, chunked, SSE and WebSocket', async () => {
    await cluster.agent(origin.port, 'anynode');
    const owner = await cluster.ownerOf('anynode');
    assert.ok(owner, 'the name has a lease in Redis');
    for (const n of cluster.nodes) {
      const small = await get(n.url, '/x', host('anynode'));
      assert.equal(small.status, 200, `node ${n.id}: ${small.body.toString()}`);
      assert.equal(small.body.toString(), 'hello from /x via anynode.localhost');
      const down = await get(n.url, '/big', host('anynode'));
      assert.equal(sha(down.body), sha(BIG), `node ${n.id}: 8 MiB download intact`);
      const up = await get(n.url, '/echo', host('anynode'), { method: 'POST', body: BIG });
      assert.equal(up.body.toString(), `${BIG.length} ${sha(BIG)}`, `node ${n.id}: 8 MiB upload intact`);
      const chunked = await get(n.url, '/chunked', host('anynode'));
      assert.equal(chunked.body.toString(), 'one,two');
      assert.equal(chunked.headers['transfer-encoding'], 'chunked');
      const sse = await get(n.url, '/events', host('anynode'));
      assert.equal(sse.headers['content-type'], 'text/event-stream');
      assert.equal(sse.body.toString(), 'data: first\n\ndata: second\n\n');
      const ws = new WebSocket(`ws://127.0.0.1:${n.port}/ws`, { headers: { host: host('anynode') } });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => ws.send(`ping ${n.id}`));
        ws.once('message', (m: Buffer) => {
          assert.equal(m.toString(), `ping ${n.id}`);
          ws.close();
          resolve();
        });
        ws.once('error', reject);
      });
    }
    // the view: every node sees the three nodes, the owner counts the tunnel
    const s = JSON.parse((await get(cluster.nodes[0]!.url, '/api/status')).body.toString()) as {
      cluster: { node: string; redis: { state: string }; nodes: { id: string; tunnels: number }[] };
    };
    assert.equal(s.cluster.node, 'n1');
    assert.equal(s.cluster.redis.state, 'up');
    assert.deepEqual(
      s.cluster.nodes.map((n) => n.id),
      ['n1', 'n2', 'n3'],
    );
    const metrics = (await get(cluster.nodes[1]!.url, '/metrics')).body.toString();
    assert.match(metrics, /^burrow_cluster_node_info\{node="n2"\} 1$/m);
    assert.match(metrics, /^burrow_cluster_redis_up 1$/m);
    assert.match(metrics, /^burrow_cluster_nodes 3$/m);
    const health = JSON.parse((await get(cluster.nodes[2]!.url, '/health')).body.toString()) as {
      cluster: { node: string; ready: boolean };
    };
    assert.deepEqual([health.cluster.node, health.cluster.ready], ['n3', true]);
    // a name nobody holds is a 404 on every node
    for (const n of cluster.nodes) assert.equal((await get(n.url, '/', host('nobody-here'))).status, 404);
  });

  test('a name is never held by two agents: two agents race for one name on two nodes, 100 times', async () => {
    const [a, b] = [cluster.nodes[0]!, cluster.nodes[1]!];
    const open = (server: string, name: string): Promise<Tunnel | Error> =>
      openTunnel({ port: origin.port, server, subdomain: name, reconnect: false, requestEvents: false }).then(
        (t) => t,
        (err: unknown) => err as Error,
      );
    const ROUNDS = 100;
    const BATCH = 10;
    let winsA = 0;
    for (let i = 0; i < ROUNDS; i += BATCH) {
      await Promise.all(
        Array.from({ length: BATCH }, async (_, j) => {
          const name = `race-${i + j}-${randomBytes(3).toString('hex')}`;
          const [ta, tb] = await Promise.all([open(a.url, name), open(b.url, name)]);
          const won = [ta, tb].filter((t) => !(t instanceof Error)) as Tunnel[];
          const lost = [ta, tb].filter((t): t is Error => t instanceof Error);
          assert.equal(
            won.length,
            1,
            `${name}: exactly one agent holds the name (${lost.map((e) => e.message).join('; ')})`,
          );
          assert.ok(isBurrowError(lost[0]) && lost[0].code === 'BURROW_ERR_NAME_TAKEN', String(lost[0]));
          const winner = ta instanceof Error ? 'n2' : 'n1';
          if (winner === 'n1') winsA++;
          assert.equal(await cluster.ownerOf(name), winner, `${name}: Redis names the winner's node`);
          won[0]!.close();
          await won[0]!.whenClosed();
        }),
      );
    }
    // both nodes won some: the race was real (not one node always first)
    assert.ok(winsA > 0 && winsA < ROUNDS, `node 1 won ${winsA} of ${ROUNDS}`);
  });

  test('SIGKILL a node: its agent comes back through HAProxy on another node with the same name within 5 s', async () => {
    // agents until one sits on node 3 (round-robin spreads them)
    let name = '';
    for (let i = 0; i < 6 && !name; i++) {
      const n = `failover-${i}`;
      await cluster.agent(origin.port, n);
      if ((await cluster.ownerOf(n)) === 'n3') name = n;
    }
    assert.ok(name, 'an agent landed on node 3');
    const dead = cluster.nodes[2]!;
    const killedAt = Date.now();
    await kill(dead.proc.child);
    // a visitor in the gap gets an answer (the tunnel after the handover, or 502/503 + Retry-After), never a hang
    const gap = await get(cluster.url, '/gap', host(name), { timeoutMs: 10_000 });
    assert.ok(
      gap.status === 200 || ((gap.status === 502 || gap.status === 503) && gap.headers['retry-after']),
      `gap answer ${gap.status} ${gap.body.toString()}`,
    );
    await waitUntil(
      async () => {
        const owner = await cluster.ownerOf(name);
        if (owner === undefined || owner === 'n3') return false;
        return (await get(cluster.url, '/back', host(name))).status === 200;
      },
      { timeoutMs: 10_000, intervalMs: 50, what: `${name} serving again from another node` },
    );
    const took = Date.now() - killedAt;
    assert.ok(took <= 5_000, `serving again ${took} ms after the kill (target ≤ 5000)`);
    // every live node serves it
    for (const n of cluster.nodes.slice(0, 2)) {
      assert.equal((await get(n.url, '/again', host(name))).body.toString(), `hello from /again via ${name}.localhost`);
    }
  });
});
