/**
 * The edges of a cluster that name a node to their clients, for real: three `burrow server
 * --cluster` processes behind HAProxy. The localtunnel handshake's answer names the node that
 * answered (--node-public-host, else the advertise URL's host), so the real `lt` client's pool
 * sockets reach the node holding its tunnel whichever node HAProxy picked. A public TCP port is a
 * lease in Redis: two nodes never hand out one port for two tunnels, and a `burrow tcp` agent that
 * moves to another node (failover) gets its port back there. A tiflis workstation on one node
 * relays with devices on the others (each device carried to the workstation's node). The nodes bind 127.0.0.1, .2 and .3,
 * like three machines whose ports do not clash. Skips with the reason when Redis or HAProxy is
 * missing (.ci/run provides both).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { closeHttp, startOrigin } from '../helpers/harness.js';
import { waitUntil } from '../helpers/wait.js';
import { freePortRange } from '../helpers/net.js';
import { startLt, type Cli } from '../compat/localtunnel/helpers.js';
import { get, kill, skipReason, TestCluster } from './fixture.js';
import { API_KEY, connectMsg, registerMsg, TestClient } from '../compat/tiflis/helpers.js';

const skip = await skipReason();
/** Each node's --node-public-host (undefined: none given, the advertise URL's host is named). */
const PUBLIC_HOSTS = ['localhost', undefined, undefined];
const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
/** Every node's --tcp-ports (the same range: the leases in Redis keep them apart); free ports, picked at start. */
const { from: TCP_FROM, to: TCP_TO } = await freePortRange(20);

/** An echo server's bytes through a public TCP address, whole. */
async function echoes(address: string): Promise<boolean> {
  const u = new URL(address);
  const sock = net.connect(Number(u.port), u.hostname);
  await once(sock, 'connect');
  const payload = randomBytes(64 * 1024);
  const got: Buffer[] = [];
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    sock.on('error', reject);
    sock.on('data', (c: Buffer) => {
      got.push(c);
      n += c.length;
      if (n >= payload.length) resolve();
    });
    sock.write(payload);
  });
  sock.destroy();
  return Buffer.concat(got).equals(payload);
}

describe('edges across a cluster of three nodes behind HAProxy', { skip }, () => {
  let cluster: TestCluster;
  let plain: Awaited<ReturnType<typeof startOrigin>>;
  let echo: net.Server;
  let echoPort = 0;
  const clients: Cli[] = [];

  const tcpAgent = (server: string, name: string, extra: string[] = []): CliProcess => {
    const a = runCli(['tcp', `127.0.0.1:${echoPort}`, '--server', server, '--name', name, '--json', ...extra]);
    cluster.track(a.child);
    return a;
  };

  before(async () => {
    echo = net.createServer((c) => c.pipe(c)).listen(0, '127.0.0.1');
    await once(echo, 'listening');
    echoPort = (echo.address() as net.AddressInfo).port;
    plain = await startOrigin((req, res) => {
      let n = 0;
      req.on('data', (b: Buffer) => (n += b.length));
      req.on('end', () => res.end(`lt ${req.method} ${req.url} ${n}`));
    });
    cluster = await new TestCluster({
      nodes: 3,
      hosts: HOSTS,
      flags: ['--tcp-ports', `${TCP_FROM}-${TCP_TO}`, '--registration-key', API_KEY],
      nodeFlags: (_n, i) => (PUBLIC_HOSTS[i] ? ['--node-public-host', PUBLIC_HOSTS[i]] : []),
    }).start();
  });

  after(async () => {
    for (const c of clients) await c.kill();
    await cluster?.stop();
    if (plain) await closeHttp(plain.server);
    echo?.close();
  });

  const expectedHost = (node: string): string => {
    const i = cluster.nodes.findIndex((n) => n.id === node);
    return PUBLIC_HOSTS[i] ?? HOSTS[i]!;
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

  test('tiflis across nodes: a workstation on node 1, devices on nodes 2 and 3 relay both ways', async () => {
    const [n1, n2, n3] = [cluster.nodes[0]!, cluster.nodes[1]!, cluster.nodes[2]!];
    const ws = (n: typeof n1): string => `ws://${n.host}:${n.port}/ws`;
    const station = await TestClient.open(ws(n1));
    const registered = await station.request(registerMsg(), 'workstation.registered');
    const tunnelId = registered.payload.tunnel_id as string;
    const a = await TestClient.open(ws(n2));
    const b = await TestClient.open(ws(n3));
    try {
      const ca = await a.request(connectMsg(tunnelId, 'dev-a'), undefined);
      assert.equal(ca.type, 'connected', JSON.stringify(ca));
      assert.equal((await b.request(connectMsg(tunnelId, 'dev-b'), undefined)).type, 'connected');
      // device → workstation, with device_id set by the workstation's node
      a.send({ type: 'session.execute', id: 1, payload: { text: 'hi' } });
      const got = await station.next('session.execute');
      assert.equal(got.device_id, 'dev-a');
      // workstation → every device, on both other nodes
      station.send({ type: 'session.output', payload: { text: 'out' } });
      assert.deepEqual((await a.next('session.output')).payload, { text: 'out' });
      assert.deepEqual((await b.next('session.output')).payload, { text: 'out' });
      // workstation → one device
      station.send({ type: 'forward.to_device', device_id: 'dev-b', payload: JSON.stringify({ type: 'only-b' }) });
      assert.deepEqual(await b.next('only-b'), { type: 'only-b' });
      // a device that leaves is announced to the workstation; a wrong auth key is refused by its node
      await a.close();
      const left = await station.next('client.disconnected');
      assert.equal(left.payload.device_id, 'dev-a', JSON.stringify(left));
      const bad = await TestClient.open(ws(n2));
      const refused = await bad.request(connectMsg(tunnelId, 'dev-x', { auth_key: 'wrong-key-0123456789abc' }));
      assert.equal(refused.type, 'error');
      assert.equal(refused.payload.code, 'INVALID_AUTH_KEY', JSON.stringify(refused));
      await bad.close();
      // the workstation going offline reaches the devices of other nodes
      await station.close();
      assert.equal((await b.next('connection.workstation_offline')).type, 'connection.workstation_offline');
    } finally {
      await b.close();
    }
  });

  test('public TCP ports are leased cluster-wide: two agents on two nodes ask for one port, the second is refused', async () => {
    const [n1, n2] = [cluster.nodes[0]!, cluster.nodes[1]!];
    const port = TCP_FROM + 1;
    const a = tcpAgent(n1.url, 'tcplease-a', ['--remote-port', String(port)]);
    const ready = JSON.parse(await a.nextLine((l) => l.includes('"ready"'))) as { tcpAddress: string };
    assert.equal(
      ready.tcpAddress,
      `tcp://${expectedHost('n1')}:${port}`,
      'the address names the node holding the port',
    );
    assert.ok(await echoes(ready.tcpAddress));
    // node 2 could bind the port on its own address: only the lease stops it
    const b = tcpAgent(n2.url, 'tcplease-b', ['--remote-port', String(port)]);
    const outcome = await Promise.race([
      b.exited.then((code) => `exited ${code}`),
      b
        .nextLine((l) => l.includes('"ready"'), 30_000)
        .then(
          (l) => `got the port: ${l}`,
          () => 'no answer',
        ),
    ]);
    assert.match(outcome, /^exited [1-9]/, 'the second agent is refused');
    const said = `${b.lines.join('\n')}\n${b.stderr()}`;
    assert.match(said, new RegExp(`TCP port ${port} is held by another tunnel of the cluster`), said);
    // a free port on node 2 is never one another node leased
    const c = tcpAgent(n2.url, 'tcplease-c');
    const other = JSON.parse(await c.nextLine((l) => l.includes('"ready"'))) as { tcpAddress: string };
    assert.match(other.tcpAddress, new RegExp(`^tcp://${HOSTS[1]!.replace(/\./g, '\\.')}:\\d+$`));
    assert.notEqual(new URL(other.tcpAddress).port, String(port));
    assert.ok(await echoes(other.tcpAddress));
    // the first agent says goodbye: its port is released, and node 2 may hand it out now
    await kill(a.child, 'SIGTERM');
    const d = tcpAgent(n2.url, 'tcplease-d', ['--remote-port', String(port)]);
    const got = JSON.parse(await d.nextLine((l) => l.includes('"ready"'), 20_000)) as { tcpAddress: string };
    assert.equal(got.tcpAddress, `tcp://${expectedHost('n2')}:${port}`);
    assert.ok(await echoes(got.tcpAddress));
  });

  test('failover keeps the public TCP port: SIGKILL the node holding it, the agent gets the same port on another node', async (t) => {
    const a = tcpAgent(cluster.url, 'tcpmove');
    const ready = JSON.parse(await a.nextLine((l) => l.includes('"ready"'))) as { tcpAddress: string };
    const port = new URL(ready.tcpAddress).port;
    const owner = await cluster.ownerOf('tcpmove');
    const dead = cluster.nodes.find((n) => n.id === owner)!;
    assert.equal(new URL(ready.tcpAddress).hostname, expectedHost(dead.id));
    assert.ok(await echoes(ready.tcpAddress));
    const killedAt = Date.now();
    await kill(dead.proc.child);
    const again = JSON.parse(await a.nextLine((l) => l.includes('"reconnected"'), 20_000)) as { tcpAddress: string };
    t.diagnostic(`tcpmove back on another node ${Date.now() - killedAt} ms after the SIGKILL: ${again.tcpAddress}`);
    const moved = new URL(again.tcpAddress);
    assert.equal(moved.port, port, 'the same public port');
    assert.notEqual(moved.hostname, expectedHost(dead.id), 'on another node');
    assert.ok(await echoes(again.tcpAddress));
    // the node comes back for the tests after this one
    await cluster.startNode(dead);
  });
});
