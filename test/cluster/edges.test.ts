/**
 * The other edges across nodes (issue 21): a localtunnel client (the real `lt` CLI) and a tunely
 * agent (the real `tunely` CLI) hold their tunnels on node 1; visitors reaching node 2 are carried
 * to them over the node-to-node link. Skips without Redis.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeHttp, startOrigin } from '../helpers/harness.js';
import { startLt } from '../compat/localtunnel/helpers.js';
import { connectTunely, type Agent } from '../compat/tunely/helpers.js';
import { runCli } from '../helpers/cli.js';
import { get, skipReason, TestCluster } from './fixture.js';

const skip = await skipReason({ haproxy: false });

describe('localtunnel across nodes', { skip }, () => {
  let cluster: TestCluster;
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let lt: Awaited<ReturnType<typeof startLt>> | undefined;
  let tunely: Agent | undefined;

  before(async () => {
    origin = await startOrigin((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(`lt ${req.method} ${req.url} ${n}`));
    });
    cluster = await new TestCluster({ nodes: 2, haproxy: false }).start();
  });

  after(async () => {
    await lt?.kill();
    await tunely?.kill();
    await cluster?.stop();
    if (origin) await closeHttp(origin.server);
  });

  test('an lt client on node 1 serves visitors of node 2 (its name is claimed cluster-wide)', async () => {
    const [n1, n2] = [cluster.nodes[0]!, cluster.nodes[1]!];
    lt = await startLt(n1.url, origin.port, ['--subdomain', 'ltcross']);
    assert.equal(await cluster.ownerOf('ltcross'), 'n1');
    for (let i = 0; i < 5; i++) {
      const r = await get(n2.url, `/p${i}`, 'ltcross.localhost');
      assert.equal(r.body.toString(), `lt GET /p${i} 0`);
    }
    const body = Buffer.alloc(2 * 1024 * 1024, 7);
    const up = await get(n2.url, '/up', 'ltcross.localhost', { method: 'POST', body });
    assert.equal(up.body.toString(), `lt POST /up ${body.length}`);
    // the name is taken cluster-wide: a burrow agent on node 2 cannot have it
    const taken = await get(n2.url, '/ltcross', undefined);
    assert.equal(taken.status, 409, taken.body.toString());
    assert.match(taken.body.toString(), /BURROW_ERR_NAME_TAKEN/);
  });

  test('a tunely agent on node 1 (a message tunnel) answers visitors of node 2', async () => {
    const [n1, n2] = [cluster.nodes[0]!, cluster.nodes[1]!];
    const db = cluster.dbOf(n1);
    const created = runCli(['token', 'create', '--format', 'tunely', '--name', 'tunelycross', '--db', db, '--json']);
    const line = await created.nextLine((l) => l.includes('"secret"'));
    const secret = (JSON.parse(line) as { secret: string }).secret;
    tunely = await connectTunely({
      server: `ws://127.0.0.1:${n1.port}/ws/tunnel`,
      token: secret,
      target: `http://127.0.0.1:${origin.port}`,
    });
    assert.equal(await cluster.ownerOf('tunelycross'), 'n1');
    const r = await get(n2.url, '/via-n2', 'tunelycross.localhost');
    assert.equal(r.body.toString(), 'lt GET /via-n2 0', `${r.status} ${r.body.toString()}`);
    const body = Buffer.alloc(64 * 1024, 3);
    const up = await get(n2.url, '/up', 'tunelycross.localhost', { method: 'POST', body });
    assert.equal(up.body.toString(), `lt POST /up ${body.length}`);
  });
});
