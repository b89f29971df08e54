/**
 * Three burrow nodes as one server (issue 21), for real: `burrow server --cluster` processes sharing
 * Redis, HAProxy in front round-robin, `burrow http` agents through HAProxy, visitors on every node;
 * the other edges across nodes (the real `lt` and `tunely` CLIs on node 1, visitors on node 2); a
 * peer link with a wrong secret; SIGKILL of a node (failover); a rolling restart of all three
 * under steady load (each node in turn gets SIGTERM: it says it is draining, lets the streams of
 * other nodes finish, sends its agents GOAWAY, drains, exits 0, and is started again). Skips with the reason when Redis or HAProxy is missing (.ci/run
 * provides both).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import WebSocket, { WebSocketServer } from 'ws';
import { closeHttp, startOrigin } from '../helpers/harness.js';
import { openTunnel, type Tunnel } from '../../src/client/burrow/open-tunnel.js';
import { isBurrowError } from '../../src/core/errors.js';
import { waitUntil } from '../helpers/wait.js';
import { startLt } from '../compat/localtunnel/helpers.js';
import { connectTunely, type Agent } from '../compat/tunely/helpers.js';
import { runCli } from '../helpers/cli.js';
import { once } from 'node:events';
import net from 'node:net';
import { get, kill, skipReason, status, TestCluster, type Got } from './fixture.js';

const skip = await skipReason();
const NAMES = ['roll-a', 'roll-b', 'roll-c'];
/** Visitors sending requests one after another, each on a fresh connection through HAProxy. */
const VISITORS = 6;
const host = (name: string): string => `${name}.localhost`;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Run one request of a node, naming the node and path when it fails. */
async function step<T>(node: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new Error(`${node} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** GET with Basic credentials (`user:pass`). */
function getWithAuth(url: string, path: string, host: string, credentials: string): Promise<Got> {
  return get(url, path, host, { headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` } });
}

describe('a cluster of three nodes behind HAProxy', { skip }, () => {
  let cluster: TestCluster;
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  /** An origin that says what it got: method, path, body length. */
  let plain: Awaited<ReturnType<typeof startOrigin>>;
  let lt: Awaited<ReturnType<typeof startLt>> | undefined;
  let tunely: Agent | undefined;
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
    plain = await startOrigin((req, res) => {
      let n = 0;
      req.on('data', (b: Buffer) => (n += b.length));
      req.on('end', () => res.end(`lt ${req.method} ${req.url} ${n}`));
    });
    cluster = await new TestCluster({ nodes: 3 }).start();
  });

  after(async () => {
    await lt?.kill();
    await tunely?.kill();
    await cluster?.stop();
    if (origin) await closeHttp(origin.server);
    if (plain) await closeHttp(plain.server);
  });

  test('any node serves any tunnel: HTTP, large bodies both ways, chunked, SSE and WebSocket', async () => {
    await cluster.agent(origin.port, 'anynode');
    const owner = await cluster.ownerOf('anynode');
    assert.ok(owner, 'the name has a lease in Redis');
    for (const n of cluster.nodes) {
      const small = await step(n.id, '/x', () => get(n.url, '/x', host('anynode')));
      assert.equal(small.status, 200, `node ${n.id}: ${small.body.toString()}`);
      assert.equal(small.body.toString(), 'hello from /x via anynode.localhost');
      const down = await step(n.id, '/big', () => get(n.url, '/big', host('anynode')));
      assert.equal(sha(down.body), sha(BIG), `node ${n.id}: 8 MiB download intact`);
      const up = await step(n.id, '/echo', () => get(n.url, '/echo', host('anynode'), { method: 'POST', body: BIG }));
      assert.equal(up.body.toString(), `${BIG.length} ${sha(BIG)}`, `node ${n.id}: 8 MiB upload intact`);
      const chunked = await step(n.id, '/chunked', () => get(n.url, '/chunked', host('anynode')));
      assert.equal(chunked.body.toString(), 'one,two');
      assert.equal(chunked.headers['transfer-encoding'], 'chunked');
      const sse = await step(n.id, '/events', () => get(n.url, '/events', host('anynode')));
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

  test('an lt client on node 1 serves visitors of node 2 (its name is claimed cluster-wide)', async () => {
    const [n1, n2] = [cluster.nodes[0]!, cluster.nodes[1]!];
    lt = await startLt(n1.url, plain.port, ['--subdomain', 'ltcross']);
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
      target: `http://127.0.0.1:${plain.port}`,
    });
    assert.equal(await cluster.ownerOf('tunelycross'), 'n1');
    const r = await get(n2.url, '/via-n2', 'tunelycross.localhost');
    assert.equal(r.body.toString(), 'lt GET /via-n2 0', `${r.status} ${r.body.toString()}`);
    const body = Buffer.alloc(64 * 1024, 3);
    const up = await get(n2.url, '/up', 'tunelycross.localhost', { method: 'POST', body });
    assert.equal(up.body.toString(), `lt POST /up ${body.length}`);
  });

  test('the pipe across nodes: a sender on node 1, receivers on nodes 2 and 3 (fan-out ?n=3) meet on one node', async () => {
    const [n1, n2, n3] = cluster.nodes as [
      (typeof cluster.nodes)[0],
      (typeof cluster.nodes)[0],
      (typeof cluster.nodes)[0],
    ];
    const path = `/api/v1/pipe/cross-${randomBytes(4).toString('hex')}?n=3`;
    const body = randomBytes(4 * 1024 * 1024);
    // receivers first on nodes 2 and 3 (the first arrival picks the meeting node), then the sender on node 1
    const receivers = [n2, n3, n3].map((n) => get(n.url, path, undefined, { timeoutMs: 30_000 }));
    await new Promise((r) => setImmediate(r));
    const sent = get(n1.url, path, undefined, { method: 'PUT', body, timeoutMs: 30_000 });
    const got = await Promise.all(receivers);
    for (const [i, r] of got.entries()) {
      assert.equal(r.status, 200, `receiver ${i}: ${r.body.toString().slice(0, 200)}`);
      assert.equal(sha(r.body), sha(body), `receiver ${i} got the sender's bytes`);
    }
    assert.equal((await sent).status, 200);
  });

  test('visitor rules hold on every node: Basic auth checked by the owner for visitors of other nodes', async () => {
    const [n1, n2, n3] = cluster.nodes as [
      (typeof cluster.nodes)[0],
      (typeof cluster.nodes)[0],
      (typeof cluster.nodes)[0],
    ];
    await cluster.agent(plain.port, 'guarded', n1.url, ['--basic-auth', 'ann:s3cret-pass']);
    for (const n of [n2, n3]) {
      const refused = await get(n.url, '/secret', 'guarded.localhost');
      assert.equal(refused.status, 401, `${n.id}: ${refused.body.toString()}`);
      assert.match(String(refused.headers['www-authenticate']), /^Basic/);
      const wrong = await getWithAuth(n.url, '/secret', 'guarded.localhost', 'ann:nope');
      assert.equal(wrong.status, 401);
      const ok = await getWithAuth(n.url, '/secret', 'guarded.localhost', 'ann:s3cret-pass');
      assert.equal(ok.body.toString(), 'lt GET /secret 0', `${n.id}: ${ok.status}`);
    }
  });

  test('TCP over WebSocket across nodes: burrow tcp on node 1, burrow connect to /tcp/<name> on node 2', async () => {
    const [n1, n2] = [cluster.nodes[0]!, cluster.nodes[1]!];
    const echo = net.createServer((c) => c.pipe(c)).listen(0, '127.0.0.1');
    await once(echo, 'listening');
    try {
      const port = (echo.address() as net.AddressInfo).port;
      const tcp = runCli([
        'tcp',
        `127.0.0.1:${port}`,
        '--server',
        n1.url,
        '--name',
        'tcpcross',
        '--no-public-port',
        '--json',
      ]);
      cluster.track(tcp.child);
      const ready = JSON.parse(await tcp.nextLine((l) => l.includes('"ready"'))) as { accessToken: string };
      assert.equal(await cluster.ownerOf('tcpcross'), 'n1');
      const wsUrl = `ws://127.0.0.1:${n2.port}/tcp/tcpcross`;
      // a wrong token is refused by the owner (its adapter checks it), through node 2
      const refused = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(wsUrl, { headers: { authorization: 'Bearer not-the-token' } });
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => reject(new Error('a wrong token was let in')));
        ws.once('error', () => {});
      });
      assert.equal(refused, 403, 'BURROW_ERR_FORBIDDEN, as on the node itself');
      const conn = runCli([
        'connect',
        wsUrl,
        '--token',
        ready.accessToken,
        '--local-port',
        '0',
        '--mode',
        'multiplexed',
        '--json',
      ]);
      cluster.track(conn.child);
      const local = JSON.parse(await conn.nextLine((l) => l.includes('"ready"'))) as { port: number };
      const sock = net.connect(local.port, '127.0.0.1');
      await once(sock, 'connect');
      const payload = randomBytes(256 * 1024);
      const got: Buffer[] = [];
      let n = 0;
      const done = new Promise<void>((resolve) =>
        sock.on('data', (c: Buffer) => {
          got.push(c);
          n += c.length;
          if (n >= payload.length) resolve();
        }),
      );
      sock.write(payload);
      await done;
      sock.destroy();
      assert.equal(sha(Buffer.concat(got)), sha(payload), 'the echo came back whole through node 2 → node 1');
    } finally {
      echo.close();
    }
  });

  test('a peer link with a wrong secret is refused with 401, and the node says so without the secret', async () => {
    const n = cluster.nodes[0]!;
    const code = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${n.port}/api/v1/cluster/peer`, {
        headers: { 'x-burrow-cluster-secret': 'y'.repeat(40), 'x-burrow-node': 'intruder' },
      });
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('a wrong secret was let in')));
      ws.once('error', () => {});
    });
    assert.equal(code, 401);
    await n.proc.nextLine((l) => l.includes('a peer link with a wrong secret was refused'), 10_000);
    assert.doesNotMatch(n.proc.lines.join('\n'), /yyyyyyyy/);
  });

  test('SIGKILL a node: its agent comes back through HAProxy on another node with the same name within 5 s', async (t) => {
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
    t.diagnostic(
      `failover: ${name} serving again through HAProxy ${took} ms after the SIGKILL (gap answer ${gap.status})`,
    );
    assert.ok(took <= 5_000, `serving again ${took} ms after the kill (target ≤ 5000)`);
    // every live node serves it
    for (const n of cluster.nodes.slice(0, 2)) {
      assert.equal((await get(n.url, '/again', host(name))).body.toString(), `hello from /again via ${name}.localhost`);
    }
  });

  test('SIGTERM and restart each node in turn: no request lost, names kept', async (t) => {
    // the node the failover test killed comes back first
    const dead = cluster.nodes[2]!;
    if (dead.proc.child.exitCode !== null || dead.proc.child.signalCode !== null) await cluster.startNode(dead);
    for (const name of NAMES) await cluster.agent(plain.port, name);
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
          if (r.status !== 200 || r.body.toString() !== `lt GET ${path} 0`) {
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
    t.diagnostic(`rolling restart: ${sent} requests, ${failures.length} failed`);
    assert.deepEqual(failures, [], `${failures.length} of ${sent} requests failed`);
    assert.ok(sent > 100, `${sent} requests sent`);
    for (const name of NAMES) {
      assert.ok(await cluster.ownerOf(name), `${name} is still held`);
      assert.equal((await get(cluster.url, '/last', `${name}.localhost`)).body.toString(), 'lt GET /last 0');
    }
  });
});
