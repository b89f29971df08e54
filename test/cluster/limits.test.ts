/**
 * Limits and the operator's view across a cluster, for real: two `burrow server --cluster` nodes
 * sharing Redis. `--max-tunnels` counts the whole cluster's tunnels (a lease-like entry per name in
 * Redis), not each node's; the admin API of any node lists every node's tunnels and closes a
 * tunnel another node holds (forwarded to its node over the peer link). Skips with the reason when
 * Redis is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeHttp, startOrigin } from '../helpers/harness.js';
import { runCli } from '../helpers/cli.js';
import { waitUntil } from '../helpers/wait.js';
import { get, skipReason, TestCluster, type Got } from './fixture.js';

const skip = await skipReason({ haproxy: false });
const ADMIN = 'admin-token-' + 'x'.repeat(24);
const MAX = 2;

function admin(url: string, method: string, path: string): Promise<Got> {
  return get(url, path, undefined, { method, headers: { authorization: `Bearer ${ADMIN}` } });
}

describe('limits and the admin API across two nodes', { skip }, () => {
  let cluster: TestCluster;
  let origin: Awaited<ReturnType<typeof startOrigin>>;

  before(async () => {
    origin = await startOrigin((req, res) => res.end(`ok ${req.url}`));
    cluster = await new TestCluster({
      nodes: 2,
      haproxy: false,
      flags: ['--max-tunnels', String(MAX), '--admin-token', ADMIN],
    }).start();
  });

  after(async () => {
    await cluster?.stop();
    if (origin) await closeHttp(origin.server);
  });

  test('--max-tunnels counts the cluster: one tunnel on each node of a cluster of max 2, a third on either is refused', async () => {
    const [n1, n2] = [cluster.nodes[0]!, cluster.nodes[1]!];
    await cluster.agent(origin.port, 'lim-a', n1.url);
    await cluster.agent(origin.port, 'lim-b', n2.url);
    // node 1 holds one tunnel of its own: only the cluster-wide count refuses this one
    const c = runCli(['http', String(origin.port), '--server', n1.url, '--subdomain', 'lim-c', '--json']);
    cluster.track(c.child);
    await waitUntil(async () => /tunnel limit/.test(c.stderr()) || c.lines.some((l) => l.includes('"ready"')), {
      timeoutMs: 20_000,
      what: 'lim-c refused or ready',
    });
    assert.ok(!c.lines.some((l) => l.includes('"ready"')), 'lim-c was refused');
    assert.match(c.stderr(), /the cluster holds its maximum of 2 tunnels \(--max-tunnels, counted across every node\)/);
    c.child.kill();
    // the localtunnel edge counts the same way
    const lt = await get(n2.url, '/lim-lt');
    assert.notEqual(lt.status, 200, lt.body.toString());
    assert.match(lt.body.toString(), /BURROW_ERR_TUNNEL_LIMIT|maximum of 2/);
  });

  test("the admin API of node 2 lists both nodes' tunnels and closes the one node 1 holds", async () => {
    const [n1, n2] = [cluster.nodes[0]!, cluster.nodes[1]!];
    const listed = await admin(n2.url, 'GET', '/api/admin/live');
    assert.equal(listed.status, 200, listed.body.toString());
    const live = (JSON.parse(listed.body.toString()) as { live: { id: string; name: string }[] }).live;
    assert.deepEqual(live.map((t) => t.name).sort(), ['lim-a', 'lim-b']);
    const a = live.find((t) => t.name === 'lim-a')!;
    assert.match(a.id, /^n1\//, 'a tunnel of node 1 is named by its node');
    const closed = await admin(n2.url, 'DELETE', `/api/admin/live/${encodeURIComponent(a.id)}`);
    assert.equal(closed.status, 200, closed.body.toString());
    assert.equal((JSON.parse(closed.body.toString()) as { closed: { name: string } }).closed.name, 'lim-a');
    // node 1 closed it: gone from its own list, its visitors get no answer from the agent
    await waitUntil(
      async () => {
        const l = JSON.parse((await admin(n1.url, 'GET', '/api/admin/live')).body.toString()) as {
          live: { name: string }[];
        };
        return !l.live.some((t) => t.name === 'lim-a');
      },
      { timeoutMs: 5_000, what: 'lim-a gone from node 1' },
    );
    assert.notEqual((await get(n2.url, '/x', 'lim-a.localhost')).status, 200);
    // an id no node has is 404
    const none = await admin(n2.url, 'DELETE', '/api/admin/live/n1%2Fnope');
    assert.equal(none.status, 404, none.body.toString());
  });
});

describe('--new-tunnels-per-minute across two nodes', { skip }, () => {
  let cluster: TestCluster;
  const PER_MINUTE = 3;

  before(async () => {
    cluster = await new TestCluster({
      nodes: 2,
      haproxy: false,
      flags: ['--new-tunnels-per-minute', String(PER_MINUTE)],
    }).start();
  });

  after(async () => {
    await cluster?.stop();
  });

  test('a client spreading new tunnels over two nodes is refused by the cluster-wide count (each node alone is under it)', async () => {
    const [n1, n2] = [cluster.nodes[0]!, cluster.nodes[1]!];
    // localtunnel handshakes from one address, alternating nodes: each node sees two
    const statuses: number[] = [];
    for (const n of [n1, n2, n1, n2]) statuses.push((await get(n.url, '/?new')).status);
    assert.deepEqual(statuses.slice(0, PER_MINUTE), [200, 200, 200], `first ${PER_MINUTE}: ${statuses.join(' ')}`);
    // node 1 has made two tunnels for this address, below its own limit of 3: only the cluster's count refuses
    const refused = await get(n1.url, '/?new');
    assert.equal(refused.status, 429, refused.body.toString());
    assert.match(refused.body.toString(), /across the cluster's nodes/);
    assert.ok(Number(refused.headers['retry-after']) > 0, 'Retry-After');
    assert.equal((await get(n2.url, '/?new')).status, 429);
  });
});
