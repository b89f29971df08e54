/**
 * Regression (the pipe across nodes got refilled buffers): a pipe sender on the node where its
 * receivers meet has its body read into reused buffers (src/core/direct-body.ts), each handed back
 * once every receiver's write of it called back. A receiver on another node is written through a
 * peer-link stream (src/wire/mux), whose write callback came as soon as the link took more, while the
 * link's socket still held the bytes; the buffer was refilled under them and that receiver got
 * other bytes (CI, test/cluster/cluster.test.ts, fan-out across nodes). Here three real
 * `burrow server --cluster` nodes share Redis, and the node with two receivers stops for a second
 * once the bytes flow, so the meeting node's link to it fills. Skips with the reason when Redis is
 * missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { waitUntil } from '../helpers/wait.js';
import { get, skipReason, TestCluster } from './fixture.js';

const skip = await skipReason({ haproxy: false });
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
/** How long the receivers' node is stopped (SIGSTOP) once the bytes flow. */
const STALL_MS = 1000;

describe('the pipe across nodes with reused read buffers', { skip }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await new TestCluster({ nodes: 3, haproxy: false }).start();
  });

  after(async () => {
    await cluster?.stop();
  });

  test('regression (pipe sender on the meeting node): receivers on other nodes get its bytes, not a read buffer refilled before the peer link wrote it', async () => {
    const [n1, n2, n3] = cluster.nodes as [
      (typeof cluster.nodes)[0],
      (typeof cluster.nodes)[0],
      (typeof cluster.nodes)[0],
    ];
    const name = `/sender-first-${randomBytes(4).toString('hex')}`;
    const path = `/api/v1/pipe${name}?n=3`;
    const body = randomBytes(48 * 1024 * 1024);
    // The sender first: node 1 is the meeting node and reads the body into reused buffers; every
    // receiver gets it over a peer link (none on node 1, whose socket's honest write callbacks
    // would hold the buffers long enough by themselves).
    const sent = get(n1.url, path, undefined, { method: 'PUT', body, timeoutMs: 60_000 });
    await waitUntil(async () => (await cluster.pipeNodeOf(name)) === n1.id, {
      what: 'node 1 is the meeting node',
      intervalMs: 20,
    });
    let stalled = false;
    const onNode2 = new Promise<string>((resolve, reject) => {
      const req = http.get({ host: n2.host, port: n2.port, path, agent: false }, (res) => {
        const h = createHash('sha256');
        res.on('data', (c: Buffer) => {
          h.update(c);
          if (stalled) return;
          // the bytes flow: node 3 (two receivers) stops reading its link for a while
          stalled = true;
          n3.proc.child.kill('SIGSTOP');
          setTimeout(() => n3.proc.child.kill('SIGCONT'), STALL_MS);
        });
        res.on('end', () => resolve(h.digest('hex')));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    const onNode3 = await Promise.all([n3, n3].map((n) => get(n.url, path, undefined, { timeoutMs: 60_000 })));
    assert.ok(stalled, 'node 3 was stopped while the bytes flowed');
    assert.equal(await onNode2, sha(body), "the receiver on node 2 got the sender's bytes");
    for (const [i, r] of onNode3.entries()) {
      assert.equal(r.status, 200, `receiver ${i} on node 3: ${r.body.toString().slice(0, 200)}`);
      assert.equal(sha(r.body), sha(body), `receiver ${i} on node 3 got the sender's bytes`);
    }
    assert.equal((await sent).status, 200);
  });
});
