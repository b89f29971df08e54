/**
 * A node that (re)starts while a name is between two owners — its agent dropped, the name held in
 * Redis for its return — learns that hold from its first view of the cluster. Its visitors of the
 * name must wait for the name to come back (HANDOVER_WAIT_MS) as visitors of the nodes that saw the
 * hold begin do, not get an immediate 502: the rolling restart's lost requests. Skips with the
 * reason when Redis is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeHttp, startOrigin } from '../helpers/harness.js';
import { get, skipReason, TestCluster } from './fixture.js';

const skip = await skipReason({ haproxy: false });

describe('a node started during a hand-over', { skip }, () => {
  let cluster: TestCluster;
  let origin: Awaited<ReturnType<typeof startOrigin>>;

  before(async () => {
    origin = await startOrigin((req, res) => res.end(`ok ${req.url}`));
    cluster = await new TestCluster({ nodes: 2, haproxy: false }).start();
  });

  after(async () => {
    await cluster?.stop();
    if (origin) await closeHttp(origin.server);
  });

  test('regression (a hold learned at start was never waited for): its visitors wait for the name', async () => {
    const [n0, n1] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    const agent = await cluster.agent(origin.port, 'handover', n0.url);
    assert.equal((await get(n1.url, '/a', 'handover.localhost')).body.toString(), 'ok /a');
    // n1 goes away; then the agent drops without a goodbye: n0 holds its name for its return
    const exited = n1.proc.exited;
    n1.proc.child.kill('SIGTERM');
    await exited;
    const dropped = agent.exited;
    agent.child.kill('SIGKILL');
    await dropped;
    // n1 starts again and learns the hold from its first view of the cluster
    await cluster.startNode(n1);
    const t0 = Date.now();
    const r = await get(n1.url, '/b', 'handover.localhost', { timeoutMs: 20_000 });
    const waited = Date.now() - t0;
    // nobody takes the name back here: after the wait the answer is the held name's 502
    assert.equal(r.status, 502, r.body.toString());
    assert.match(r.body.toString(), /BURROW_ERR_AGENT_GONE/);
    // HANDOVER_WAIT_MS is 5 s; the old code answered at once (a hold learned from the view had begun at 0)
    assert.ok(waited >= 2_000, `answered after ${waited} ms: the visitor did not wait for the name to come back`);
  });
});
