/**
 * The edges of a cluster that name a node to their clients, for real: three `burrow server
 * --cluster` processes behind HAProxy. The localtunnel handshake's answer names the node that
 * answered (--node-public-host, else the advertise URL's host), so the real `lt` client's pool
 * sockets reach the node holding its tunnel whichever node HAProxy picked. Skips with the reason
 * when Redis or HAProxy is missing (.ci/run provides both).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeHttp, startOrigin } from '../helpers/harness.js';
import { waitUntil } from '../helpers/wait.js';
import { startLt, type Cli } from '../compat/localtunnel/helpers.js';
import { get, skipReason, TestCluster } from './fixture.js';

const skip = await skipReason();
/** Each node's --node-public-host (undefined: none given, the advertise URL's host is named). */
const PUBLIC_HOSTS = ['localhost', undefined, 'localhost'];

describe('edges across a cluster of three nodes behind HAProxy', { skip }, () => {
  let cluster: TestCluster;
  let plain: Awaited<ReturnType<typeof startOrigin>>;
  const clients: Cli[] = [];

  before(async () => {
    plain = await startOrigin((req, res) => {
      let n = 0;
      req.on('data', (b: Buffer) => (n += b.length));
      req.on('end', () => res.end(`lt ${req.method} ${req.url} ${n}`));
    });
    cluster = await new TestCluster({
      nodes: 3,
      nodeFlags: (_n, i) => (PUBLIC_HOSTS[i] ? ['--node-public-host', PUBLIC_HOSTS[i]] : []),
    }).start();
  });

  after(async () => {
    for (const c of clients) await c.kill();
    await cluster?.stop();
    if (plain) await closeHttp(plain.server);
  });

  const expectedHost = (node: string): string => {
    const i = cluster.nodes.findIndex((n) => n.id === node);
    return PUBLIC_HOSTS[i] ?? '127.0.0.1';
  };

  test('lt handshake names the node holding the pool: the answer of each node through HAProxy has its own public host', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r = await get(cluster.url, '/?new');
      assert.equal(r.status, 200, r.body.toString());
      const answer = JSON.parse(r.body.toString()) as { id: string; ip?: string; port: number };
      let owner: string | undefined;
      await waitUntil(async () => (owner = await cluster.ownerOf(answer.id)) !== undefined, {
        timeoutMs: 5000,
        what: `${answer.id} claimed in Redis`,
      });
      seen.add(owner!);
      assert.equal(answer.ip, expectedHost(owner!), `node ${owner} answered for ${answer.id}`);
    }
    // HAProxy's round-robin spread the three handshakes: more than one node answered
    assert.ok(seen.size >= 2, `answered by ${[...seen].join(', ')}`);
  });

  test('the real lt client through HAProxy: three tunnels on different nodes, each served to visitors of every node', async () => {
    const names = ['ltlb-a', 'ltlb-b', 'ltlb-c'];
    const owners = new Set<string>();
    for (const name of names) {
      const lt = await startLt(cluster.url, plain.port, ['--subdomain', name]);
      clients.push(lt);
      const owner = await cluster.ownerOf(name);
      assert.ok(owner, `${name} is claimed`);
      owners.add(owner);
    }
    assert.ok(owners.size >= 2, `the tunnels landed on ${[...owners].join(', ')}`);
    const body = Buffer.alloc(1024 * 1024, 5);
    for (const name of names) {
      for (const n of cluster.nodes) {
        const r = await get(n.url, `/from-${n.id}`, `${name}.localhost`);
        assert.equal(r.body.toString(), `lt GET /from-${n.id} 0`, `${name} via ${n.id}: ${r.status}`);
      }
      const up = await get(cluster.url, '/up', `${name}.localhost`, { method: 'POST', body });
      assert.equal(up.body.toString(), `lt POST /up ${body.length}`);
    }
  });
});
