/**
 * A rolling restart loses nothing (issue 21): three nodes behind HAProxy, three `burrow http`
 * agents through it, steady visitor load through it, and each node in turn gets SIGTERM (it says
 * it is draining, lets the streams of other nodes finish, sends its agents GOAWAY, drains, exits)
 * and is started again. Every request is answered by the origin; every agent keeps its name.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeHttp, startOrigin } from '../helpers/harness.js';
import { waitUntil } from '../helpers/wait.js';
import { get, skipReason, status, TestCluster } from './fixture.js';

const skip = await skipReason();
const NAMES = ['roll-a', 'roll-b', 'roll-c'];
/** Visitors sending requests one after another, each on a fresh connection through HAProxy. */
const VISITORS = 6;

describe('rolling restart of three nodes under load', { skip }, () => {
  let cluster: TestCluster;
  let origin: Awaited<ReturnType<typeof startOrigin>>;

  before(async () => {
    origin = await startOrigin((req, res) => res.end(`ok ${req.url}`));
    cluster = await new TestCluster({ nodes: 3 }).start();
    for (const name of NAMES) await cluster.agent(origin.port, name);
  });

  after(async () => {
    await cluster?.stop();
    if (origin) await closeHttp(origin.server);
  });

  test('SIGTERM and restart each node in turn: no request lost, names kept', async () => {
    let running = true;
    let sent = 0;
    const failures: string[] = [];
    const load = Array.from({ length: VISITORS }, async (_, v) => {
      for (let i = 0; running; i++) {
        const name = NAMES[(v + i) % NAMES.length]!;
        const path = `/v${v}/${i}`;
        sent++;
        try {
          const r = await get(cluster.url, path, `${name}.localhost`, { timeoutMs: 20_000 });
          if (r.status !== 200 || r.body.toString() !== `ok ${path}`) {
            failures.push(`${name}${path}: ${r.status} ${r.body.toString().slice(0, 200)}`);
          }
        } catch (err) {
          failures.push(`${name}${path}: ${(err as Error).message}`);
        }
      }
    });
    try {
      await waitUntil(() => sent > 30, { what: 'load running' });
      for (const node of cluster.nodes) {
        const exited = node.proc.exited;
        node.proc.child.kill('SIGTERM');
        assert.equal(await exited, 0, `${node.id} exits 0 after its drain`);
        const before = sent;
        await cluster.startNode(node);
        // HAProxy sees it again (its /readyz), and the load went on meanwhile
        await waitUntil(async () => (await status(cluster.url, '/readyz')) === 200, { what: 'haproxy ready' });
        await waitUntil(() => sent > before + 20, { what: `load going on after ${node.id} restarted` });
      }
    } finally {
      running = false;
      await Promise.all(load);
    }
    assert.deepEqual(failures, [], `${failures.length} of ${sent} requests failed`);
    assert.ok(sent > 100, `${sent} requests sent`);
    for (const name of NAMES) {
      assert.ok(await cluster.ownerOf(name), `${name} is still held`);
      assert.equal((await get(cluster.url, '/last', `${name}.localhost`)).body.toString(), 'ok /last');
    }
  });
});
