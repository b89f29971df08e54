/**
 * The cluster's shared state in Redis: name leases, name holds, node records and one event channel.
 * Every change that must be atomic is one Lua script, which also publishes the event in the same
 * step (so a node that hears nothing yet has at worst an older view, never a wrong owner).
 *
 *   <prefix>t:{<name>} the name's lease: the owning node, a claim id, what visitors need (JSON), PX
 *   <prefix>h:{<name>} a hold after a drop or a goodbye: who gets the name back (JSON), PX
 *   <prefix>n:<node>   a node: its advertise URL, start time, tunnel count, draining (JSON), PX
 *   <prefix>p:<path>   the node where a pipe path's sender and receivers meet (the first arrival's), PX
 *   <prefix>l:tunnels  the cluster's live tunnels (sorted set: name → until), for --max-tunnels
 *   <prefix>r:<client>  a client address's new tunnels of the last minute (sorted set), --new-tunnels-per-minute
 *   <prefix>w:<tunnel id>  the node where a tiflis tunnel's workstation is online, PX
 *   <prefix>{tcp}:port:<port>  a public TCP port's lease: the node and tunnel name holding it (JSON), PX
 *   <prefix>{tcp}:name:<name>  the public TCP port a tunnel name holds, PX
 *   <prefix>events     the channel: claim / release / node events (JSON)
 *
 * ioredis is loaded here only, and this module only when a server runs with --cluster.
 */
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { BurrowError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { HoldReason, TunnelKind } from '../server/registry.js';
import { REDIS_COMMAND_TIMEOUT_MS, REDIS_MAX_RECONNECT_DELAY_MS } from './limits.js';
import { describeRedisUrl, parseRedisUrl, REDIS_URL_FORMS } from './redis-url.js';

export { describeRedisUrl } from './redis-url.js';

/** What the cluster knows of a name's live tunnel (enough for another node to forward visitors to it). */
export interface LeaseRecord {
  readonly node: string;
  /** Unique per claim: renewals and releases touch only the lease they made. */
  readonly claim: string;
  /** SHA-256 of the agent's resume token: the same agent may take its name over from a dead node. */
  readonly ownerKey?: string | undefined;
  readonly principalKey?: string | undefined;
  /** Absent until the tunnel exists (between claim and add()). */
  readonly tunnel?: TunnelDetails | undefined;
}

export interface TunnelDetails {
  readonly id: string;
  readonly kind: TunnelKind;
  readonly protocol: string;
  readonly url: string;
  readonly createdAt: number;
  readonly tokenId: string | null;
  readonly hostHeader?: string | undefined;
  /** The tunnel has visitor rules: the owner node checks each visitor. */
  readonly access: boolean;
  /** Streams may carry a whole visitor connection (the relay may take it). */
  readonly streamPerConnection: boolean;
  /** A message tunnel (tunely, tiflis): the owner answers HTTP itself. */
  readonly message: boolean;
  /** Other local ports visitors may reach, as the owner formats them ('' for none). */
  readonly ports: string;
}

export interface HoldRecord {
  readonly reason: HoldReason;
  readonly ownerKey?: string | undefined;
  readonly principalKey?: string | undefined;
}

export interface NodeRecord {
  readonly id: string;
  readonly url: string;
  readonly startedAt: number;
  readonly tunnels: number;
  readonly draining: boolean;
}

export type ClusterEvent =
  | { op: 'claim'; name: string; lease: LeaseRecord }
  | { op: 'release'; name: string; node: string; claim: string; hold?: { reason: HoldReason; ms: number } }
  | { op: 'node'; record: NodeRecord; gone?: boolean };

export type ClaimResult =
  { ok: true; movedFrom?: string | undefined } | { ok: false; heldMs?: number | undefined; node?: string | undefined };

export interface Snapshot {
  leases: Map<string, LeaseRecord>;
  holds: Map<string, { record: HoldRecord; ms: number }>;
  nodes: NodeRecord[];
}

// KEYS: lease, hold. ARGV: record (JSON), lease ms, ownerKey, principalKey, channel, name.
// A live lease is taken over only by the same owner key (the same agent, back through another node).
const CLAIM = `
local cur = redis.call('GET', KEYS[1])
local moved = ''
if cur then
  local c = cjson.decode(cur)
  if ARGV[3] == '' or c.ownerKey ~= ARGV[3] then return {'taken', c.node} end
  moved = c.node
else
  local h = redis.call('GET', KEYS[2])
  if h then
    local d = cjson.decode(h)
    local mine = (ARGV[3] ~= '' and d.ownerKey == ARGV[3]) or (ARGV[4] ~= '' and d.principalKey == ARGV[4])
    if not mine then return {'held', tostring(redis.call('PTTL', KEYS[2]))} end
  end
end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[5], '{"op":"claim","name":' .. cjson.encode(ARGV[6]) .. ',"lease":' .. ARGV[1] .. '}')
return {'ok', moved}
`;

// KEYS: lease. ARGV: node, claim, record (JSON), lease ms, channel, name. Fill in a claimed lease's details.
const DETAIL = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local c = cjson.decode(cur)
  if c.node ~= ARGV[1] or c.claim ~= ARGV[2] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
redis.call('PUBLISH', ARGV[5], '{"op":"claim","name":' .. cjson.encode(ARGV[6]) .. ',"lease":' .. ARGV[3] .. '}')
return 1
`;

// KEYS: lease, hold. ARGV: node, claim, hold (JSON or ''), hold ms, channel, event (JSON).
const RELEASE = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local c = cjson.decode(cur)
  if c.node ~= ARGV[1] or c.claim ~= ARGV[2] then return 0 end
  redis.call('DEL', KEYS[1])
end
if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4]) end
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1
`;

// KEYS: a lease. ARGV: node, lease ms, record. A lease that expired (Redis was away) is set again
// when nobody took the name meanwhile; one another node holds now is 'lost'. One key per call: on
// Redis Cluster the names of one node live in many slots.
const RENEW = `
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2])
  return 'ok'
end
local c = cjson.decode(cur)
local want = cjson.decode(ARGV[3])
if c.node == ARGV[1] and c.claim == want.claim then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 'ok'
end
return 'lost'
`;

// KEYS: rendezvous. ARGV: node, ms. The first arrival's node, kept while participants keep coming.
const RENDEZVOUS = `
local v = redis.call('GET', KEYS[1])
if v then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return v
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`;

// KEYS: port lease, the name's port. ARGV: record (JSON), lease ms, name, port. A port is taken by
// its name's tunnel only: the same name takes it over from another node (its agent moved there).
const CLAIM_PORT = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local c = cjson.decode(cur)
  if c.name ~= ARGV[3] then return {'taken', c.node} end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[2])
return {'ok', ''}
`;

// KEYS: port lease, the name's port. ARGV: node, claim, port.
const RELEASE_PORT = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local c = cjson.decode(cur)
if c.node ~= ARGV[1] or c.claim ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
`;

// KEYS: n port leases, then their names' ports. ARGV: node, lease ms, then n records, then n ports.
// Like RENEW: a lease that expired is set again; one another node took over is 'lost'.
const RENEW_PORTS = `
local n = #KEYS / 2
local out = {}
for i = 1, n do
  local rec = ARGV[i + 2]
  local want = cjson.decode(rec)
  local cur = redis.call('GET', KEYS[i])
  local mine = true
  if cur then
    local c = cjson.decode(cur)
    mine = c.node == ARGV[1] and c.claim == want.claim
  end
  if mine then
    redis.call('SET', KEYS[i], rec, 'PX', ARGV[2])
    redis.call('SET', KEYS[n + i], ARGV[n + i + 2], 'PX', ARGV[2])
    out[i] = 'ok'
  else
    out[i] = 'lost'
  end
end
return out
`;

// KEYS: one key. ARGV: value. Delete the key only while it holds this value.
const DEL_IF = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

// KEYS: the live-tunnel set (a sorted set: name → until). ARGV: name, now, until, max. A name counts
// once; entries of a crashed node run out; 'full' with the count when max tunnels are live.
const RESERVE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return {'ok', 0}
end
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[4]) then return {'full', n} end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return {'ok', n + 1}
`;

// KEYS: a client's new tunnels (sorted set: member → time). ARGV: now, window ms, member. Count one
// and answer the count within the window and the oldest one's time.
const NEW_TUNNEL = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {redis.call('ZCARD', KEYS[1]), oldest[2]}
`;

interface Scripts {
  burrowClaim(...args: string[]): Promise<[string, string?]>;
  burrowDetail(...args: string[]): Promise<number>;
  burrowRelease(...args: string[]): Promise<number>;
  burrowRenew(...args: string[]): Promise<string>;
  burrowRendezvous(...args: string[]): Promise<string>;
  burrowClaimPort(...args: string[]): Promise<[string, string]>;
  burrowReleasePort(...args: string[]): Promise<number>;
  burrowRenewPorts(...args: (string | number)[]): Promise<string[]>;
  burrowDelIf(key: string, value: string): Promise<number>;
  burrowReserve(...args: string[]): Promise<[string, number]>;
  burrowNewTunnel(...args: string[]): Promise<[number, string]>;
}

/** A public TCP port's lease: the node and the tunnel name holding it. */
export interface PortRecord {
  readonly node: string;
  readonly name: string;
  readonly claim: string;
}

export interface StoreOptions {
  url: string;
  prefix: string;
  logger: () => Logger;
  onEvent: (e: ClusterEvent) => void;
  /** Redis became reachable (again) or went away. */
  onState: (up: boolean) => void;
}

export class ClusterStore {
  readonly #redis: (Redis | Cluster) & Scripts;
  readonly #sub: Redis | Cluster;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #o: StoreOptions;
  #up = false;
  #closed = false;

  private constructor(redis: Redis | Cluster, sub: Redis | Cluster, o: StoreOptions) {
    this.#redis = redis as (Redis | Cluster) & Scripts;
    this.#sub = sub;
    this.#o = o;
    this.#prefix = o.prefix;
    this.#channel = `${o.prefix}events`;
  }

  /** Connect (both the command and the subscriber connection); a Redis that cannot be reached at start is a configuration error. */
  static async open(o: StoreOptions): Promise<ClusterStore> {
    const target = parseRedisUrl(o.url);
    if ('problem' in target) throw new BurrowError('BURROW_ERR_INVALID_CONFIG', target.problem);
    const { Redis, Cluster } = await import('ioredis');
    const common = {
      lazyConnect: true,
      // fail at once while Redis is away (claims fail closed), never queue commands for later
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      connectTimeout: REDIS_COMMAND_TIMEOUT_MS,
      retryStrategy: (n: number) => Math.min(n * 200, REDIS_MAX_RECONNECT_DELAY_MS),
    } satisfies RedisOptions;
    const make = (subscriber: boolean): Redis | Cluster => {
      const own = subscriber ? { enableOfflineQueue: true, commandTimeout: undefined } : {};
      if (target.kind === 'single') return new Redis(target.url, { ...common, ...own });
      const auth = {
        ...(target.username !== undefined ? { username: target.username } : {}),
        ...(target.password !== undefined ? { password: target.password } : {}),
        ...(target.tls ? { tls: {} } : {}),
      };
      if (target.kind === 'sentinel') {
        return new Redis({
          ...common,
          ...own,
          ...auth,
          sentinels: target.hosts,
          name: target.master!,
          ...(target.db !== undefined ? { db: target.db } : {}),
          ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
          ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
          sentinelRetryStrategy: (n: number) => Math.min(n * 200, REDIS_MAX_RECONNECT_DELAY_MS),
        });
      }
      const { lazyConnect, enableOfflineQueue, maxRetriesPerRequest, retryStrategy, ...perNode } = {
        ...common,
        ...own,
      };
      return new Cluster(target.hosts, {
        lazyConnect,
        enableOfflineQueue,
        maxRedirections: maxRetriesPerRequest + 16,
        clusterRetryStrategy: retryStrategy,
        redisOptions: { ...perNode, ...auth, maxRetriesPerRequest },
      });
    };
    const redis = make(false);
    const sub = make(true);
    const store = new ClusterStore(redis, sub, o);
    redis.defineCommand('burrowClaim', { numberOfKeys: 2, lua: CLAIM });
    redis.defineCommand('burrowDetail', { numberOfKeys: 1, lua: DETAIL });
    redis.defineCommand('burrowRelease', { numberOfKeys: 2, lua: RELEASE });
    redis.defineCommand('burrowRenew', { numberOfKeys: 1, lua: RENEW });
    redis.defineCommand('burrowRendezvous', { numberOfKeys: 1, lua: RENDEZVOUS });
    redis.defineCommand('burrowClaimPort', { numberOfKeys: 2, lua: CLAIM_PORT });
    redis.defineCommand('burrowReleasePort', { numberOfKeys: 2, lua: RELEASE_PORT });
    redis.defineCommand('burrowRenewPorts', { lua: RENEW_PORTS });
    redis.defineCommand('burrowDelIf', { numberOfKeys: 1, lua: DEL_IF });
    redis.defineCommand('burrowReserve', { numberOfKeys: 1, lua: RESERVE });
    redis.defineCommand('burrowNewTunnel', { numberOfKeys: 1, lua: NEW_TUNNEL });
    try {
      await Promise.all([redis.connect(), sub.connect()]);
      await sub.subscribe(store.#channel);
    } catch (err) {
      redis.disconnect();
      sub.disconnect();
      throw new BurrowError(
        'BURROW_ERR_INVALID_CONFIG',
        `cannot reach the cluster's Redis at ${describeRedisUrl(o.url)}: ${(err as Error).message}`,
        {
          fix: `Start Redis, or fix --cluster (BURROW_CLUSTER): ${REDIS_URL_FORMS}.`,
        },
      );
    }
    store.#watch();
    return store;
  }

  #watch(): void {
    const where = describeRedisUrl(this.#o.url);
    this.#up = true;
    const state = (up: boolean): void => {
      if (this.#closed || up === this.#up) return;
      this.#up = up;
      if (up) this.#o.logger().info({ redis: where }, 'cluster: Redis is reachable again');
      else
        this.#o
          .logger()
          .warn({ redis: where }, 'cluster: Redis is unreachable: open tunnels keep serving, new names are refused');
      this.#o.onState(up);
    };
    // the subscriber re-subscribes by itself; a missed event is made up for by the next full view
    this.#redis.on('ready', () => state(true));
    this.#redis.on('close', () => state(false));
    this.#redis.on('error', () => state(false));
    this.#sub.on('error', () => {});
    this.#sub.on('message', (_channel: string, message: string) => {
      let e: ClusterEvent;
      try {
        e = JSON.parse(message) as ClusterEvent;
      } catch {
        return;
      }
      this.#o.onEvent(e);
    });
  }

  get up(): boolean {
    return this.#up && this.#redis.status === 'ready';
  }

  #unavailable(err: unknown): BurrowError {
    if (err instanceof BurrowError) return err;
    return new BurrowError('BURROW_ERR_CLUSTER_UNAVAILABLE', (err as Error).message);
  }

  async claim(name: string, lease: LeaseRecord, leaseMs: number): Promise<ClaimResult> {
    if (!this.up) throw new BurrowError('BURROW_ERR_CLUSTER_UNAVAILABLE');
    let r: [string, string?];
    try {
      r = await this.#redis.burrowClaim(
        this.#key('t', name),
        this.#key('h', name),
        JSON.stringify(lease),
        String(leaseMs),
        lease.ownerKey ?? '',
        lease.principalKey ?? '',
        this.#channel,
        name,
      );
    } catch (err) {
      throw this.#unavailable(err);
    }
    if (r[0] === 'ok') return { ok: true, movedFrom: r[1] || undefined };
    if (r[0] === 'held') return { ok: false, heldMs: Number(r[1]) };
    return { ok: false, node: r[1] };
  }

  /** Fill in the details of a lease this node claimed (false: the lease is not ours any more). */
  async detail(name: string, lease: LeaseRecord, leaseMs: number): Promise<boolean> {
    const n = await this.#redis.burrowDetail(
      this.#key('t', name),
      lease.node,
      lease.claim,
      JSON.stringify(lease),
      String(leaseMs),
      this.#channel,
      name,
    );
    return n === 1;
  }

  async release(
    name: string,
    node: string,
    claim: string,
    hold: HoldRecord | undefined,
    holdMs: number,
  ): Promise<void> {
    const event: ClusterEvent = { op: 'release', name, node, claim };
    if (hold) event.hold = { reason: hold.reason, ms: holdMs };
    await this.#redis.burrowRelease(
      this.#key('t', name),
      this.#key('h', name),
      node,
      claim,
      hold ? JSON.stringify(hold) : '',
      String(holdMs),
      this.#channel,
      JSON.stringify(event),
    );
  }

  /** Renew this node's leases; returns the names another node holds now. */
  async renew(node: string, leases: ReadonlyMap<string, LeaseRecord>, leaseMs: number): Promise<string[]> {
    if (leases.size === 0) return [];
    const names = [...leases.keys()];
    const r = await Promise.all(
      names.map((n) =>
        this.#redis.burrowRenew(this.#key('t', n), node, String(leaseMs), JSON.stringify(leases.get(n))),
      ),
    );
    return names.filter((_, i) => r[i] === 'lost');
  }

  async putNode(record: NodeRecord, ttlMs: number, announce: boolean): Promise<void> {
    const m = this.#redis.multi().set(this.#key('n', record.id), JSON.stringify(record), 'PX', ttlMs);
    if (announce) m.publish(this.#channel, JSON.stringify({ op: 'node', record } satisfies ClusterEvent));
    await m.exec();
  }

  async removeNode(record: NodeRecord): Promise<void> {
    await this.#redis
      .multi()
      .del(this.#key('n', record.id))
      .publish(this.#channel, JSON.stringify({ op: 'node', record, gone: true } satisfies ClusterEvent))
      .exec();
  }

  /** The node where the participants of a pipe path meet: the first arrival's (kept for ms after the last). */
  async rendezvous(path: string, node: string, ms: number): Promise<string> {
    return this.#redis.burrowRendezvous(this.#key('p', path), node, String(ms));
  }

  /** Forget a rendezvous at a node that cannot be reached (only if it still names that node). */
  async forgetRendezvous(path: string, node: string): Promise<void> {
    const key = this.#key('p', path);
    if ((await this.#redis.get(key)) === node) await this.#redis.del(key);
  }

  /** Claim a public TCP port for a tunnel name (ok: false and the holding node when another name has it). */
  async claimPort(port: number, record: PortRecord, leaseMs: number): Promise<{ ok: boolean; node?: string }> {
    if (!this.up) throw new BurrowError('BURROW_ERR_CLUSTER_UNAVAILABLE');
    let r: [string, string];
    try {
      r = await this.#redis.burrowClaimPort(
        this.#portKey(port),
        this.#portNameKey(record.name),
        JSON.stringify(record),
        String(leaseMs),
        record.name,
        String(port),
      );
    } catch (err) {
      throw this.#unavailable(err);
    }
    return r[0] === 'ok' ? { ok: true } : { ok: false, node: r[1] };
  }

  async releasePort(port: number, record: PortRecord): Promise<void> {
    await this.#redis.burrowReleasePort(
      this.#portKey(port),
      this.#portNameKey(record.name),
      record.node,
      record.claim,
      String(port),
    );
  }

  /** Renew this node's port leases; returns the ports another node holds now. */
  async renewPorts(node: string, ports: ReadonlyMap<number, PortRecord>, leaseMs: number): Promise<number[]> {
    if (ports.size === 0) return [];
    const list = [...ports.keys()];
    const r = await this.#redis.burrowRenewPorts(
      list.length * 2,
      ...list.map((p) => this.#portKey(p)),
      ...list.map((p) => this.#portNameKey(ports.get(p)!.name)),
      node,
      String(leaseMs),
      ...list.map((p) => JSON.stringify(ports.get(p))),
      ...list.map(String),
    );
    return list.filter((_, i) => r[i] === 'lost');
  }

  /** The public TCP port a tunnel name holds (on any node), if its lease still names it. */
  async portOf(name: string): Promise<number | undefined> {
    const v = await this.#redis.get(this.#portNameKey(name));
    if (!v) return undefined;
    const port = Number(v);
    const lease = await this.#redis.get(this.#portKey(port));
    return lease && (JSON.parse(lease) as PortRecord).name === name ? port : undefined;
  }

  // every port key shares one hash tag: a port's lease and its name's entry change in one script,
  // on one Redis Cluster slot
  #portKey(port: number): string {
    return `${this.#prefix}{tcp}:port:${port}`;
  }

  #portNameKey(name: string): string {
    return `${this.#prefix}{tcp}:name:${name}`;
  }

  /**
   * Count a name among the cluster's live tunnels (at most max, --max-tunnels across every node);
   * false when the cluster holds max already. Entries last leaseMs unless renewed.
   */
  async reserve(name: string, max: number, leaseMs: number): Promise<boolean> {
    if (!this.up) throw new BurrowError('BURROW_ERR_CLUSTER_UNAVAILABLE');
    const now = Date.now();
    let r: [string, number];
    try {
      r = await this.#redis.burrowReserve(
        this.#key('l', 'tunnels'),
        name,
        String(now),
        String(now + leaseMs),
        String(max),
      );
    } catch (err) {
      throw this.#unavailable(err);
    }
    return r[0] === 'ok';
  }

  /** Renew this node's entries among the live tunnels (names another node took are left alone). */
  async renewReserved(names: string[], leaseMs: number): Promise<void> {
    if (names.length === 0) return;
    const until = Date.now() + leaseMs;
    // set again when absent: a Redis that restarted empty counts this node's tunnels again
    await this.#redis.zadd(this.#key('l', 'tunnels'), ...names.flatMap((n) => [until, n]));
  }

  async unreserve(name: string): Promise<void> {
    await this.#redis.zrem(this.#key('l', 'tunnels'), name);
  }

  /** How many tunnels the cluster holds now. */
  async liveCount(): Promise<number> {
    const key = this.#key('l', 'tunnels');
    await this.#redis.zremrangebyscore(key, '-inf', Date.now());
    return this.#redis.zcard(key);
  }

  /** Count a new tunnel of a client (--new-tunnels-per-minute): its count in the window, the oldest's time. */
  async countNewTunnel(
    client: string,
    member: string,
    now: number,
    windowMs: number,
  ): Promise<{ count: number; oldest: number }> {
    const [count, oldest] = await this.#redis.burrowNewTunnel(
      this.#key('r', client),
      String(now),
      String(windowMs),
      member,
    );
    return { count, oldest: Number(oldest) };
  }

  /** A counted new tunnel was not made after all. */
  async uncountNewTunnel(client: string, member: string): Promise<void> {
    await this.#redis.zrem(this.#key('r', client), member);
  }

  /** A tiflis tunnel's workstation is online on this node (renewed by the heartbeat). */
  async setWorkstations(node: string, tunnelIds: Iterable<string>, ms: number): Promise<void> {
    const m = this.#redis.multi();
    let n = 0;
    for (const id of tunnelIds) {
      m.set(this.#key('w', id), node, 'PX', ms);
      n++;
    }
    if (n > 0) await m.exec();
  }

  /** The workstation left this node (the key is removed only while it still names this node). */
  async clearWorkstation(node: string, tunnelId: string): Promise<void> {
    await this.#redis.burrowDelIf(this.#key('w', tunnelId), node);
  }

  /** The node where a tiflis tunnel's workstation is online, if any. */
  async workstationNode(tunnelId: string): Promise<string | undefined> {
    return (await this.#redis.get(this.#key('w', tunnelId))) ?? undefined;
  }

  /** One name's lease and hold, read now. */
  async lookup(name: string): Promise<{ lease?: LeaseRecord; hold?: { record: HoldRecord; ms: number } }> {
    const [[, lease], [, hold], [, ms]] = (await this.#redis
      .multi()
      .get(this.#key('t', name))
      .get(this.#key('h', name))
      .pttl(this.#key('h', name))
      .exec()) as [[unknown, string | null], [unknown, string | null], [unknown, number]];
    const out: { lease?: LeaseRecord; hold?: { record: HoldRecord; ms: number } } = {};
    if (lease) out.lease = JSON.parse(lease) as LeaseRecord;
    if (hold && ms > 0) out.hold = { record: JSON.parse(hold) as HoldRecord, ms };
    return out;
  }

  /** Every lease, hold and node (the periodic full view). */
  async snapshot(): Promise<Snapshot> {
    const out: Snapshot = { leases: new Map(), holds: new Map(), nodes: [] };
    // Redis Cluster: every master holds some of the keys; each is scanned and read on its own
    const servers: Redis[] = 'nodes' in this.#redis ? this.#redis.nodes('master') : [this.#redis];
    await Promise.all(servers.map((server) => this.#snapshotOf(server, out)));
    return out;
  }

  async #snapshotOf(server: Redis, out: Snapshot): Promise<void> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await server.scan(cursor, 'MATCH', `${this.#prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const wanted = keys.filter((k) => /^[thn]:/.test(k.slice(this.#prefix.length)));
    if (wanted.length === 0) return;
    // a pipeline, not MULTI: on Redis Cluster the keys of one server are in many slots
    const m = server.pipeline();
    for (const k of wanted) m.get(k).pttl(k);
    const res = (await m.exec()) ?? [];
    wanted.forEach((k, i) => {
      const value = res[i * 2]?.[1] as string | null;
      const ms = res[i * 2 + 1]?.[1] as number;
      if (!value) return;
      const kind = k[this.#prefix.length];
      const name = untag(k.slice(this.#prefix.length + 2));
      if (kind === 't') out.leases.set(name, JSON.parse(value) as LeaseRecord);
      else if (kind === 'h' && ms > 0) out.holds.set(name, { record: JSON.parse(value) as HoldRecord, ms });
      else if (kind === 'n') out.nodes.push(JSON.parse(value) as NodeRecord);
    });
  }

  /**
   * A key. A name's lease and hold carry the name as a hash tag (`t:{name}`, `h:{name}`): the
   * scripts that change both run on one Redis Cluster slot.
   */
  #key(kind: 't' | 'h' | 'n' | 'p' | 'w' | 'l' | 'r', name: string): string {
    return kind === 't' || kind === 'h' ? `${this.#prefix}${kind}:{${name}}` : `${this.#prefix}${kind}:${name}`;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([this.#redis.quit(), this.#sub.quit()]);
    this.#redis.disconnect();
    this.#sub.disconnect();
  }
}

/** A key's name without its hash-tag braces (`{name}` → `name`). */
function untag(name: string): string {
  return name.startsWith('{') && name.endsWith('}') ? name.slice(1, -1) : name;
}
