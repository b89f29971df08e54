/**
 * --cluster with every kind of Redis ioredis supports, against real servers this file starts on
 * free loopback ports (picked at random, see freeRedisPorts): a password, TLS (rediss://), Sentinel discovery
 * (redis+sentinel://host:port/master) and Redis Cluster (redis+cluster://host:port,…; three masters
 * made with `redis-cli --cluster create`). For each: the cluster store's every script and read
 * (claims, details, holds, renewals, the full view over every master, ports, rendezvous, events),
 * then — for Redis Cluster and Sentinel — two burrow nodes serving one agent's tunnel to each
 * other's visitors. Skips with the reason when redis-server is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ClusterStore, type ClusterEvent } from '../../src/cluster/store.js';
import { parseRedisUrl, describeRedisUrl } from '../../src/cluster/redis-url.js';
import { createLogger } from '../../src/core/logger.js';
import { closeHttp, startOrigin } from '../helpers/harness.js';
import { waitUntil } from '../helpers/wait.js';
import { get, kill, listening, TestCluster } from './fixture.js';

const hasRedis = spawnSync('sh', ['-c', 'command -v redis-server && command -v redis-cli']).status === 0;
const skip = hasRedis ? false : 'redis-server / redis-cli are not installed (apt-get install -y redis-server)';
const PASSWORD = 'pw-' + randomBytes(8).toString('hex');

/** Lowest and highest port this file may start a redis-server on (a cluster's bus port, +10000, stays below Linux's ephemeral range). */
const PORT_FLOOR = 15_000;
const PORT_CEILING = 22_000;

/** Can this process listen on 127.0.0.1:port right now? */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * `n` ports free now, each with its cluster bus port (+10000) free too, picked at random in
 * PORT_FLOOR-PORT_CEILING: two suites on one machine (a CI run beside a local `npm test`) do not
 * collide the way the fixed ports 47001-47012 did.
 */
async function freeRedisPorts(n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const p = PORT_FLOOR + Math.floor(Math.random() * (PORT_CEILING - PORT_FLOOR));
    if (out.includes(p) || !(await canListen(p)) || !(await canListen(p + 10_000))) continue;
    out.push(p);
  }
  return out;
}

const ports = await freeRedisPorts(7);
/** Ports of this file's redis-servers. */
const P = {
  password: ports[0]!,
  tls: ports[1]!,
  master: ports[2]!,
  sentinel: ports[3]!,
  cluster: [ports[4]!, ports[5]!, ports[6]!],
};

const dir = mkdtempSync(join(tmpdir(), 'burrow-redis-modes-'));
const servers: ChildProcess[] = [];

async function redisServer(port: number, args: string[], sentinel = false): Promise<void> {
  const child = spawn('redis-server', [...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  servers.push(child);
  let exited = '';
  child.once('exit', (code, signal) => (exited = `exited ${code ?? signal}`));
  await waitUntil(
    async () => {
      if (exited) throw new Error(`redis-server on ${port} ${exited}: ${out.slice(-600)}`);
      return listening(port);
    },
    {
      timeoutMs: 10_000,
      intervalMs: 50,
      // a port picked free a moment ago (or its cluster bus port, +10000) may be taken since
      what: `redis-server${sentinel ? ' --sentinel' : ''} on ${port} (${out.slice(-400)})`,
    },
  );
}

const base = (port: number): string[] => [
  '--port',
  String(port),
  '--bind',
  '127.0.0.1',
  '--save',
  '',
  '--appendonly',
  'no',
];

function cli(args: string[]): string {
  const r = spawnSync('redis-cli', args, { encoding: 'utf8', timeout: 20_000 });
  return `${r.stdout}${r.stderr}`;
}

const quiet = createLogger({ level: 'silent' });

/** The store's scripts and reads against one Redis; events arrive on the channel. */
async function storeConformance(url: string): Promise<void> {
  const events: ClusterEvent[] = [];
  const prefix = `modes-${randomBytes(3).toString('hex')}:`;
  const store = await ClusterStore.open({
    url,
    prefix,
    logger: () => quiet,
    onEvent: (e) => events.push(e),
    onState: () => {},
  });
  try {
    assert.equal(store.up, true);
    const lease = { node: 'a', claim: 'c1', ownerKey: 'k1' };
    assert.deepEqual(await store.claim('alpha', lease, 15_000), { ok: true, movedFrom: undefined });
    assert.equal((await store.claim('alpha', { node: 'b', claim: 'c2' }, 15_000)).ok, false, 'held by node a');
    const details = {
      ...lease,
      tunnel: {
        id: 't1',
        kind: 'http' as const,
        protocol: 'burrow',
        url: 'http://alpha.localhost',
        createdAt: Date.now(),
        tokenId: null,
        access: false,
        streamPerConnection: false,
        message: false,
        ports: '',
      },
    };
    assert.equal(await store.detail('alpha', details, 15_000), true);
    assert.deepEqual(await store.renew('a', new Map([['alpha', details]]), 15_000), []);
    await store.putNode({ id: 'a', url: 'http://a', startedAt: 1, tunnels: 1, draining: false }, 10_000, true);
    // the full view reads every server (every master of a Redis Cluster)
    for (const n of ['beta', 'gamma', 'delta', 'epsilon']) {
      assert.equal((await store.claim(n, { node: 'a', claim: `c-${n}` }, 15_000)).ok, true);
    }
    const snap = await store.snapshot();
    assert.deepEqual([...snap.leases.keys()].sort(), ['alpha', 'beta', 'delta', 'epsilon', 'gamma']);
    assert.equal(snap.leases.get('alpha')?.tunnel?.id, 't1');
    assert.deepEqual(
      snap.nodes.map((n) => n.id),
      ['a'],
    );
    // a drop leaves a hold for the same agent: another owner is refused, the same one takes it back
    await store.release('alpha', 'a', 'c1', { reason: 'resume', ownerKey: 'k1' }, 30_000);
    const looked = await store.lookup('alpha');
    assert.equal(looked.lease, undefined);
    assert.equal(looked.hold?.record.reason, 'resume');
    assert.equal((await store.claim('alpha', { node: 'b', claim: 'c3', ownerKey: 'other' }, 15_000)).ok, false);
    assert.deepEqual(await store.claim('alpha', { node: 'b', claim: 'c4', ownerKey: 'k1' }, 15_000), {
      ok: true,
      movedFrom: undefined,
    });
    // public TCP ports: one name per port, the same name takes it over
    assert.deepEqual(await store.claimPort(20001, { node: 'a', name: 'alpha', claim: 'p1' }, 15_000), { ok: true });
    assert.deepEqual(await store.claimPort(20001, { node: 'b', name: 'beta', claim: 'p2' }, 15_000), {
      ok: false,
      node: 'a',
    });
    assert.equal(await store.portOf('alpha'), 20001);
    assert.deepEqual(
      await store.renewPorts('a', new Map([[20001, { node: 'a', name: 'alpha', claim: 'p1' }]]), 15_000),
      [],
    );
    await store.releasePort(20001, { node: 'a', name: 'alpha', claim: 'p1' });
    assert.equal(await store.portOf('alpha'), undefined);
    // the pipe's rendezvous and tiflis workstations
    assert.equal(await store.rendezvous('/x', 'a', 60_000), 'a');
    assert.equal(await store.rendezvous('/x', 'b', 60_000), 'a');
    await store.setWorkstations('a', ['ws1'], 15_000);
    assert.equal(await store.workstationNode('ws1'), 'a');
    await store.clearWorkstation('a', 'ws1');
    assert.equal(await store.workstationNode('ws1'), undefined);
    await waitUntil(async () => events.some((e) => e.op === 'release' && e.name === 'alpha'), {
      timeoutMs: 5_000,
      what: 'the release event on the channel',
    });
    await waitUntil(async () => events.some((e) => e.op === 'claim' && e.name === 'beta'), {
      timeoutMs: 5_000,
      what: `the claim event of beta (heard: ${JSON.stringify(events.map((e) => [e.op, 'name' in e ? e.name : '']))})`,
    });
  } finally {
    await store.close();
  }
}

/** Two burrow nodes on this Redis: an agent on node 1 serves visitors of node 2; its name is taken on node 2. */
async function twoNodes(url: string, env: Record<string, string> = {}): Promise<void> {
  const origin = await startOrigin((req, res) => res.end(`via ${req.url}`));
  const cluster = new TestCluster({ nodes: 2, haproxy: false, redisUrl: url, env });
  try {
    await cluster.start();
    const [n1, n2] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    const name = `modes${randomBytes(3).toString('hex')}`;
    await cluster.agent(origin.port, name, n1.url);
    const r = await get(n2.url, '/through-n2', `${name}.localhost`);
    assert.equal(r.body.toString(), 'via /through-n2', `${r.status} ${r.body.toString()}`);
    const taken = await get(n2.url, `/${name}`);
    assert.equal(taken.status, 409, taken.body.toString());
    const status = JSON.parse((await get(n2.url, '/api/status')).body.toString()) as {
      cluster: { redis: { state: string; url: string }; nodes: unknown[] };
    };
    assert.equal(status.cluster.redis.state, 'up');
    assert.equal(status.cluster.nodes.length, 2);
    assert.equal(status.cluster.redis.url, describeRedisUrl(url));
    assert.doesNotMatch(n1.proc.stderr() + n2.proc.stderr(), new RegExp(PASSWORD));
  } finally {
    await cluster.stop();
    await closeHttp(origin.server);
  }
}

describe('--cluster URLs: password, TLS, Sentinel, Redis Cluster', { skip }, () => {
  let ca = '';

  before(async () => {
    const key = join(dir, 'key.pem');
    ca = join(dir, 'cert.pem');
    spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      ca,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    await Promise.all([
      redisServer(P.password, [...base(P.password), '--requirepass', PASSWORD]),
      redisServer(P.tls, [
        ...base(0),
        '--tls-port',
        String(P.tls),
        '--tls-cert-file',
        ca,
        '--tls-key-file',
        key,
        '--tls-auth-clients',
        'no',
        '--requirepass',
        PASSWORD,
      ]),
      redisServer(P.master, [...base(P.master), '--requirepass', PASSWORD, '--masterauth', PASSWORD]),
      ...P.cluster.map((p) =>
        redisServer(p, [
          ...base(p),
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${p}.conf`),
          '--cluster-node-timeout',
          '2000',
        ]),
      ),
    ]);
    const sentinelConf = join(dir, 'sentinel.conf');
    writeFileSync(
      sentinelConf,
      `port ${P.sentinel}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 ${P.master} 1\nsentinel auth-pass mymaster ${PASSWORD}\nsentinel down-after-milliseconds mymaster 2000\n`,
    );
    await redisServer(P.sentinel, [sentinelConf, '--sentinel'], true);
    const made = cli(['--cluster', 'create', ...P.cluster.map((p) => `127.0.0.1:${p}`), '--cluster-yes']);
    assert.match(made, /All 16384 slots covered/, made);
    await waitUntil(async () => /cluster_state:ok/.test(cli(['-p', String(P.cluster[0]), 'cluster', 'info'])), {
      timeoutMs: 15_000,
      what: 'the Redis Cluster ok',
    });
  });

  after(async () => {
    await Promise.all(servers.map((s) => kill(s)));
    rmSync(dir, { recursive: true, force: true });
  });

  test('the URL forms parse, and a bad one says how to write it', () => {
    assert.deepEqual(parseRedisUrl('redis://:pw@127.0.0.1:6379/2'), {
      kind: 'single',
      url: 'redis://:pw@127.0.0.1:6379/2',
    });
    const s = parseRedisUrl('rediss+sentinel://:pw@h1:26379,h2/mymaster/3?sentinel_password=sp');
    assert.deepEqual(s, {
      kind: 'sentinel',
      tls: true,
      hosts: [
        { host: 'h1', port: 26379 },
        { host: 'h2', port: 26379 },
      ],
      username: undefined,
      password: 'pw',
      master: 'mymaster',
      db: 3,
      sentinelPassword: 'sp',
    });
    const c = parseRedisUrl('redis+cluster://u:p@[::1]:7000,10.0.0.2:7001');
    assert.ok(!('problem' in c) && c.kind === 'cluster');
    assert.deepEqual(c.hosts, [
      { host: '::1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
    ]);
    for (const bad of [
      'http://x',
      'redis://a:1,b:2',
      'redis+sentinel://h:26379',
      'redis+cluster://h:7000/1',
      'redis+cluster://h:99999',
    ]) {
      const r = parseRedisUrl(bad);
      assert.ok('problem' in r, bad);
      assert.match(r.problem, /--cluster/);
    }
    assert.equal(describeRedisUrl('redis+sentinel://:secret@h1:1,h2:2/m'), 'redis+sentinel://h1:1,h2:2/m');
    assert.equal(describeRedisUrl('rediss://:secret@h:6380'), 'rediss://h:6380');
  });

  test('redis://:password@ — the store works, a wrong password is refused', async () => {
    await storeConformance(`redis://:${PASSWORD}@127.0.0.1:${P.password}`);
    await assert.rejects(
      ClusterStore.open({
        url: `redis://:wrong@127.0.0.1:${P.password}`,
        prefix: 'x:',
        logger: () => quiet,
        onEvent: () => {},
        onState: () => {},
      }),
      (err: Error) =>
        err.message.includes(`cannot reach the cluster's Redis at redis://127.0.0.1:${P.password}`) &&
        !err.message.includes('wrong'),
    );
  });

  test('rediss:// — TLS with a password (the CA through NODE_EXTRA_CA_CERTS)', async () => {
    // the store in this process trusts the test CA through ioredis' tls options: via the env of a child
    const url = `rediss://:${PASSWORD}@127.0.0.1:${P.tls}`;
    await twoNodes(url, { NODE_EXTRA_CA_CERTS: ca });
  });

  test('redis+sentinel:// — the store finds the master through the sentinel; two nodes serve each other', async () => {
    const url = `redis+sentinel://:${PASSWORD}@127.0.0.1:${P.sentinel}/mymaster`;
    await storeConformance(url);
    await twoNodes(url);
  });

  test('redis+cluster:// — every script on Redis Cluster (hash tags), the view over three masters; two nodes serve each other', async () => {
    const url = `redis+cluster://127.0.0.1:${P.cluster[0]},127.0.0.1:${P.cluster[1]}`;
    await storeConformance(url);
    await twoNodes(url);
  });
});
