/**
 * A real cluster for the tests: N `burrow server --cluster` processes (the built CLI when
 * BURROW_TEST_CLI=dist) on loopback ports sharing Redis (BURROW_TEST_REDIS_URL) under a key prefix
 * of their own, accounts in PostgreSQL (BURROW_TEST_DATABASE_URL) when set, and HAProxy in front
 * (round-robin, /readyz health checks) for visitors and agents. Everything is torn down by stop().
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { freePort } from '../helpers/net.js';
import { waitUntil } from '../helpers/wait.js';

export const REDIS_URL = process.env['BURROW_TEST_REDIS_URL'];
export const DATABASE_URL = process.env['BURROW_TEST_DATABASE_URL'];
export const SECRET = randomBytes(24).toString('hex');

/** Why the cluster suites cannot run here (undefined: they can). */
export async function skipReason(options: { haproxy?: boolean } = {}): Promise<string | undefined> {
  if (!REDIS_URL) return 'BURROW_TEST_REDIS_URL is not set (a Redis for the cluster tests; .ci/run starts one)';
  const r = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    retryStrategy: () => null,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
  } catch {
    return `Redis at ${REDIS_URL} does not answer (start redis-server; .ci/run does)`;
  } finally {
    r.disconnect();
  }
  if (options.haproxy !== false && spawnSync('sh', ['-c', 'command -v haproxy']).status !== 0) {
    return 'haproxy is not installed (apt-get install -y haproxy; .ci/run installs it)';
  }
  return undefined;
}

export interface Node {
  readonly id: string;
  /** The loopback address the node binds and is reached at (127.0.0.1 unless ClusterOptions.hosts says). */
  readonly host: string;
  readonly port: number;
  readonly url: string;
  proc: CliProcess;
}

export interface ClusterOptions {
  nodes: number;
  haproxy?: boolean;
  redisUrl?: string;
  /** Extra server flags for every node. */
  flags?: string[];
  /**
   * The loopback address of each node (default 127.0.0.1 for all): nodes on 127.0.0.1, .2, .3 are
   * like three machines whose ports do not clash.
   */
  hosts?: string[];
  /** Extra environment of every node process (e.g. NODE_EXTRA_CA_CERTS for a TLS Redis). */
  env?: Record<string, string>;
  /** Extra server flags of one node (after `flags`). */
  nodeFlags?: (n: Node, index: number) => string[];
}

export class TestCluster {
  readonly prefix = `burrow-test-${process.pid}-${randomBytes(4).toString('hex')}:`;
  readonly nodes: Node[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'burrow-cluster-'));
  readonly redisUrl: string;
  lbPort = 0;
  #haproxy: ChildProcess | undefined;
  readonly #o: ClusterOptions;
  readonly #extra: { child: ChildProcess }[] = [];

  constructor(o: ClusterOptions) {
    this.#o = o;
    this.redisUrl = o.redisUrl ?? REDIS_URL!;
  }

  /** The load balancer's URL (or node 1's without HAProxy). */
  get url(): string {
    return this.lbPort ? `http://127.0.0.1:${this.lbPort}` : this.nodes[0]!.url;
  }

  async start(): Promise<this> {
    if (this.#o.haproxy !== false) this.lbPort = await freePort();
    for (let i = 1; i <= this.#o.nodes; i++) {
      const port = await freePort();
      const host = this.#o.hosts?.[i - 1] ?? '127.0.0.1';
      this.nodes.push({ id: `n${i}`, host, port, url: `http://${host}:${port}`, proc: undefined! });
    }
    await Promise.all(this.nodes.map((n) => this.startNode(n)));
    if (this.lbPort) await this.#startHaproxy();
    return this;
  }

  startNode(n: Node): Promise<void> {
    const args = [
      'server',
      '--port',
      String(n.port),
      '--address',
      n.host,
      '--cluster',
      this.redisUrl,
      '--node-id',
      n.id,
      '--advertise-url',
      n.url,
      '--cluster-prefix',
      this.prefix,
      '--log-format',
      'json',
      '--log-level',
      'warn',
      // the tests open many tunnels from one address (the race: 200 in a few seconds)
      '--new-tunnels-per-minute',
      '100000',
      '--db',
      this.dbOf(n),
      ...(this.lbPort ? ['--public-url', `http://localhost:${this.lbPort}`] : []),
      ...(this.#o.flags ?? []),
      ...(this.#o.nodeFlags?.(n, this.nodes.indexOf(n)) ?? []),
    ];
    n.proc = runCli(args, { BURROW_CLUSTER_SECRET: SECRET, ...this.#o.env });
    return waitUntil(async () => (await status(n.url, '/readyz')) === 200, {
      timeoutMs: 30_000,
      intervalMs: 50,
      what: `node ${n.id} ready (stderr: ${n.proc.stderr().slice(-500)})`,
    });
  }

  async #startHaproxy(): Promise<void> {
    const servers = this.nodes
      .map((n) => `    server ${n.id} ${n.host}:${n.port} check inter 300 fall 2 rise 1`)
      .join('\n');
    const cfg = `global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    # one request per connection to a node (docs/cluster.md): a node's drain never meets a
    # kept-alive connection that a request is racing on
    option http-server-close
    option redispatch
    retries 3
frontend visitors
    bind 127.0.0.1:${this.lbPort}
    default_backend burrow
backend burrow
    balance roundrobin
    option httpchk GET /readyz
${servers}
`;
    const file = join(this.dir, 'haproxy.cfg');
    writeFileSync(file, cfg);
    const child = spawn('haproxy', ['-f', file, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    this.#haproxy = child;
    await waitUntil(async () => (await status(this.url, '/readyz')) === 200, {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: `haproxy up (${err})`,
    });
  }

  /** An agent: `burrow http <port> --subdomain <name>` through the load balancer. Resolves with its URL. */
  async agent(port: number, name: string, server = this.url, extra: string[] = []): Promise<CliProcess> {
    const a = runCli(['http', String(port), '--server', server, '--subdomain', name, '--json', ...extra]);
    this.#extra.push(a);
    await a.nextLine((l) => l.includes('"ready"'), 30_000);
    return a;
  }

  track(child: ChildProcess): void {
    this.#extra.push({ child });
  }

  /** The --db of a node (PostgreSQL shared by all when BURROW_TEST_DATABASE_URL is set). */
  dbOf(n: Node): string {
    return DATABASE_URL ?? `sqlite:${join(this.dir, `${n.id}.db`)}`;
  }

  /** Which node holds a name now (from Redis). */
  async ownerOf(name: string): Promise<string | undefined> {
    const r = new Redis(this.redisUrl);
    try {
      const v = await r.get(`${this.prefix}t:{${name}}`);
      return v ? (JSON.parse(v) as { node: string }).node : undefined;
    } finally {
      r.disconnect();
    }
  }

  /** The node where a pipe path's participants meet (the first arrival's), once one arrived; `path` without /api/v1/pipe. */
  async pipeNodeOf(path: string): Promise<string | undefined> {
    const r = new Redis(this.redisUrl);
    try {
      return (await r.get(`${this.prefix}p:${path}`)) ?? undefined;
    } finally {
      r.disconnect();
    }
  }

  async stop(): Promise<void> {
    const all = [...this.#extra.map((e) => e.child), ...this.nodes.map((n) => n.proc?.child), this.#haproxy];
    await Promise.all(all.map((c) => kill(c)));
    // a test's own Redis (Sentinel, Cluster, TLS) is stopped by the test: nothing to clean there
    if (this.redisUrl && this.redisUrl === REDIS_URL) {
      const r = new Redis(this.redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => null });
      r.on('error', () => {});
      try {
        const keys = await r.keys(`${this.prefix}*`);
        if (keys.length) await r.del(...keys);
      } catch {
        // a test's own Redis is gone already
      } finally {
        r.disconnect();
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** SIGKILL a child (if it runs) and wait until it is gone. */
export async function kill(c: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill(signal);
  await gone;
}

/** The status of GET url+path (0 when nothing answers). */
export function status(url: string, path: string, host?: string): Promise<number> {
  return get(url, path, host).then(
    (r) => r.status,
    () => 0,
  );
}

export interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request (a fresh connection each: the load balancer spreads them). */
export function get(
  url: string,
  path: string,
  host?: string,
  o: { method?: string; body?: Buffer; timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<Got> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, url);
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: o.method ?? 'GET',
        headers: { ...(host ? { host } : {}), connection: 'close', ...o.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(o.timeoutMs ?? 15_000, () => req.destroy(new Error(`no answer from ${url}${path} in time`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

/** Is something listening on this loopback port? */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
