/**
 * ClusterRegistry: the server's TunnelRegistry for a node of a cluster. This node's own tunnels
 * live in a MemoryTunnelRegistry as in one process; what makes it shared:
 *   - a name is claimed in Redis before add() takes it (claim(): an atomic lease, store.ts), renewed
 *     by the heartbeat and released on remove(); a drop or a goodbye leaves a hold in Redis, so the
 *     agent gets its name back on any node;
 *   - the names other nodes hold are known from Redis' events (and a periodic full view) and are
 *     found by get() as RemoteTunnels: byte-stream tunnels whose streams open on the link to the
 *     owner node (peers.ts), so the relay and the proxy carry them like any other tunnel.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { BurrowError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import type { VisitorAccess, VisitorDecision } from '../server/admission.js';
import {
  MemoryTunnelRegistry,
  RANDOM_NAME_ATTEMPTS,
  type ClaimOptions,
  type CompletedRequest,
  type HoldReason,
  type NameHold,
  type PortLeases,
  type RegisteredTunnel,
  type RegistryView,
  type RemoveOptions,
  type StreamInfo,
  type TunnelRegistry,
  type TunnelRegistryEvents,
  type TunnelStats,
} from '../server/registry.js';
import { randomName, validateName } from '../server/names.js';
import type { StreamOpen } from '../wire/mux/messages.js';
import type { MuxStream } from '../wire/mux/mux.js';
import { inPortList, parsePortList } from '../core/port-range.js';
import {
  CLAIM_PENDING_MS,
  DRAIN_NOTICE_MS,
  DRAIN_POLL_MS,
  PEER_QUIET_MS,
  PIPE_RENDEZVOUS_TTL_MS,
  HANDOVER_WAIT_MS,
  HEARTBEAT_MS,
  LEASE_TTL_MS,
  NODE_TTL_MS,
  VIEW_SYNC_MS,
} from './limits.js';
import { PeerLinks } from './peers.js';
import type {
  ClusterEvent,
  ClusterStore,
  HoldRecord,
  LeaseRecord,
  NodeRecord,
  PortRecord,
  TunnelDetails,
} from './store.js';

interface Own {
  lease: LeaseRecord;
  tunnel: RegisteredTunnel | undefined;
  /** A claim not yet taken by add(): released when this fires. */
  pendingTimer?: NodeJS.Timeout | undefined;
}

interface KnownNode {
  record: NodeRecord;
  seenAt: number;
}

export interface ClusterRegistryOptions {
  nodeId: string;
  advertiseUrl: string;
  secret: string;
  window: number;
  maxTunnels: number;
  store: (hooks: { onEvent: (e: ClusterEvent) => void; onState: (up: boolean) => void }) => Promise<ClusterStore>;
  /** Redis' address for the view (never the password). */
  redisLabel: string;
}

export class ClusterRegistry extends EventEmitter<TunnelRegistryEvents> implements TunnelRegistry {
  readonly nodeId: string;
  readonly #o: ClusterRegistryOptions;
  readonly #local: MemoryTunnelRegistry;
  readonly #own = new Map<string, Own>();
  readonly #remote = new Map<string, RemoteTunnel>();
  /** Holds by name: why, until when, and since when (a fresh hold means the name is moving: visitors wait). */
  readonly #holds = new Map<string, { reason: HoldReason; until: number; since: number }>();
  readonly #nodes = new Map<string, KnownNode>();
  /** Requests waiting for a name to come back on some node (handover), by name. */
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #writes = new Set<Promise<unknown>>();
  /** Streams other nodes opened to tunnels here, with the time of their last byte. */
  readonly #inbound = new Map<Duplex, { at: number }>();
  readonly #startedAt = Date.now();
  /** tiflis tunnels whose workstation is online on this node. */
  readonly #workstations = new Set<string>();
  /** Public TCP ports this node leased, by port. */
  readonly #ports = new Map<number, PortRecord>();
  readonly peers: PeerLinks;
  /** Public TCP ports leased cluster-wide (TcpExpose claims each before it binds it). */
  readonly tcpPorts: PortLeases = {
    claim: (port, name) => this.#claimPort(port, name),
    release: (port) => this.#releasePort(port),
    portOf: (name) => (this.#store.up ? this.#store.portOf(name) : Promise.resolve(undefined)),
    onLost: undefined,
  };
  #store!: ClusterStore;
  #logger: Logger = createLogger({ level: 'silent' });
  #heartbeat: NodeJS.Timeout | undefined;
  #sync: NodeJS.Timeout | undefined;
  #draining = false;
  #closed = false;

  private constructor(o: ClusterRegistryOptions) {
    super();
    this.nodeId = o.nodeId;
    this.#o = o;
    this.#local = new MemoryTunnelRegistry({ maxTunnels: o.maxTunnels });
    this.#local.on('created', (t) => this.emit('created', t));
    this.#local.on('closed', (t) => this.emit('closed', t));
    this.peers = new PeerLinks({
      nodeId: o.nodeId,
      secret: o.secret,
      window: o.window,
      logger: () => this.#logger,
      handlers: {
        onStream: (stream, open) => this.#serveStream(stream, open),
        onAccess: async (tunnelId, req) => {
          const t = this.#local.getById(tunnelId);
          if (!t) throw new BurrowError('BURROW_ERR_AGENT_GONE', 'the tunnel left this node');
          return t.access ? await t.access.check(req) : { allow: true, stripAuthorization: false };
        },
        onDone: (tunnelId, info) => this.#local.getById(tunnelId)?.onRequestComplete?.(info),
        onClose: (tunnelId) => (this.#local.getById(tunnelId) ? (this.closeLocal?.(tunnelId) ?? false) : false),
      },
    });
  }

  static async open(o: ClusterRegistryOptions): Promise<ClusterRegistry> {
    const r = new ClusterRegistry(o);
    r.#store = await o.store({ onEvent: (e) => r.#onEvent(e), onState: (up) => r.#onState(up) });
    await r.#beat(true);
    await r.#syncView();
    r.#heartbeat = setInterval(() => void r.#beat(false), HEARTBEAT_MS);
    r.#heartbeat.unref();
    r.#sync = setInterval(() => void r.#syncView(), VIEW_SYNC_MS);
    r.#sync.unref();
    return r;
  }

  /** The Redis store (the cluster-wide new-tunnel limiter counts there). */
  get store(): ClusterStore {
    return this.#store;
  }

  /** The server's logger, once the server exists (the cluster adapter's start()). */
  set logger(l: Logger) {
    this.#logger = l;
  }

  // ---- TunnelRegistry ----

  get size(): number {
    return this.#local.size;
  }

  async claim(name: string, options: ClaimOptions): Promise<void> {
    if (this.#local.get(name) || this.#own.has(name)) throw new BurrowError('BURROW_ERR_NAME_TAKEN', `"${name}"`);
    const lease: LeaseRecord = {
      node: this.nodeId,
      claim: randomUUID(),
      ownerKey: options.ownerKey,
      principalKey: options.principalKey,
    };
    const own: Own = { lease, tunnel: undefined };
    this.#own.set(name, own); // this node's claim in flight: nobody else here takes the name meanwhile
    let r;
    try {
      r = await this.#store.claim(name, lease, LEASE_TTL_MS);
    } catch (err) {
      this.#own.delete(name);
      throw err;
    }
    if (!r.ok) {
      this.#own.delete(name);
      if (r.heldMs !== undefined) {
        const s = Math.max(1, Math.ceil(r.heldMs / 1000));
        throw new BurrowError(
          'BURROW_ERR_NAME_TAKEN',
          `"${name}" is held for its previous client for a short while (${s} s more)`,
        );
      }
      throw new BurrowError('BURROW_ERR_NAME_TAKEN', `"${name}"`);
    }
    // --max-tunnels counts the whole cluster's tunnels
    let counted: boolean;
    try {
      counted = await this.#store.reserve(name, this.#o.maxTunnels, LEASE_TTL_MS);
    } catch (err) {
      this.#own.delete(name);
      this.#write(this.#store.release(name, this.nodeId, lease.claim, undefined, 0));
      throw err;
    }
    if (!counted) {
      this.#own.delete(name);
      this.#write(this.#store.release(name, this.nodeId, lease.claim, undefined, 0));
      throw new BurrowError(
        'BURROW_ERR_TUNNEL_LIMIT',
        `the cluster holds its maximum of ${this.#o.maxTunnels} tunnels (--max-tunnels, counted across every node)`,
      );
    }
    if (r.movedFrom && r.movedFrom !== this.nodeId) {
      this.#logger.info({ tunnel: name, from: r.movedFrom }, 'cluster: a name came back to this node from another');
    }
    this.#holds.delete(name);
    this.#remote.delete(name);
    own.pendingTimer = setTimeout(() => {
      if (this.#own.get(name) === own && !own.tunnel) {
        this.#own.delete(name);
        this.#write(this.#store.release(name, this.nodeId, lease.claim, undefined, 0));
        this.#write(this.#store.unreserve(name));
      }
    }, CLAIM_PENDING_MS);
    own.pendingTimer.unref();
  }

  add<T extends RegisteredTunnel>(create: (name: string) => T, options: ClaimOptions = {}): T {
    const name = options.name ? options.name.toLowerCase() : this.freeName();
    const own = this.#own.get(name);
    if (own && !own.tunnel) {
      clearTimeout(own.pendingTimer);
      let t: T;
      try {
        t = this.#local.add(create, { ...options, name });
      } catch (err) {
        this.#own.delete(name);
        this.#write(this.#store.release(name, this.nodeId, own.lease.claim, undefined, 0));
        this.#write(this.#store.unreserve(name));
        throw err;
      }
      this.#adopt(name, own, t);
      return t;
    }
    // an edge that does not claim first (localtunnel, tunely, tiflis): refuse what the view knows is
    // taken, take the name here, and claim it at once; a name another node won meanwhile is closed.
    if (!options.allowReserved) validateName(name);
    if (this.#remote.has(name) || this.#holdLeft(name) > 0 || own) {
      throw new BurrowError('BURROW_ERR_NAME_TAKEN', `"${name}"`);
    }
    if (!this.#store.up) throw new BurrowError('BURROW_ERR_CLUSTER_UNAVAILABLE');
    const t = this.#local.add(create, { ...options, name });
    const lease: LeaseRecord = { node: this.nodeId, claim: randomUUID(), principalKey: options.principalKey };
    const mine: Own = { lease, tunnel: undefined };
    this.#own.set(name, mine);
    this.#write(
      this.#store
        .claim(name, lease, LEASE_TTL_MS)
        .then(async (r) => {
          if (!r.ok) return this.#lose(name, 'the name is held on another node');
          if (await this.#store.reserve(name, this.#o.maxTunnels, LEASE_TTL_MS)) return this.#adopt(name, mine, t);
          this.#lose(name, `the cluster holds its maximum of ${this.#o.maxTunnels} tunnels (--max-tunnels)`);
          await this.#store.release(name, this.nodeId, lease.claim, undefined, 0);
        })
        .catch(() => this.#lose(name, 'the cluster registry is unreachable')),
    );
    return t;
  }

  /** A claimed name got its tunnel: fill in the lease's details, so other nodes can forward to it. */
  #adopt(name: string, own: Own, t: RegisteredTunnel): void {
    own.tunnel = t;
    const ports = describePorts(t);
    const tunnel: TunnelDetails = {
      id: t.id,
      kind: t.kind,
      protocol: t.protocol,
      url: t.url,
      createdAt: t.createdAt,
      tokenId: t.tokenId ?? null,
      hostHeader: t.hostHeader,
      access: t.access !== undefined,
      streamPerConnection: t.streamPerConnection === true && !t.handleRequest,
      message: !t.openStream,
      ports,
    };
    own.lease = { ...own.lease, tunnel };
    // visitors waiting for the name go on in the next turn: the agent hears REGISTERED (sent in
    // this turn, after add()) before the first OPEN for the new tunnel
    setImmediate(() => this.#wake(name));
    this.#write(
      this.#store.detail(name, own.lease, LEASE_TTL_MS).then((ok) => {
        if (!ok) this.#lose(name, 'the name is held on another node');
      }),
    );
  }

  remove(tunnel: RegisteredTunnel, options: RemoveOptions = {}): void {
    if (this.#local.get(tunnel.name) !== tunnel) return;
    const name = tunnel.name;
    const own = this.#own.get(name);
    this.#own.delete(name);
    this.#local.remove(tunnel);
    if (!own) return;
    const reason = options.reason ?? 'resume';
    const principalKey = reason === 'goodbye' ? options.principalKey : undefined;
    let hold: HoldRecord | undefined;
    const ms = options.graceMs ?? 0;
    if (ms > 0 && (options.ownerKey || principalKey)) {
      hold = { reason, ownerKey: options.ownerKey, principalKey };
      this.#setHold(name, reason, ms);
    }
    this.#write(this.#store.release(name, this.nodeId, own.lease.claim, hold, ms));
    this.#write(this.#store.unreserve(name));
  }

  get(name: string): RegisteredTunnel | undefined {
    return this.#local.get(name) ?? this.#remote.get(name);
  }

  isHeld(name: string): boolean {
    return this.#holdLeft(name) > 0;
  }

  holdOf(name: string): NameHold | undefined {
    const h = this.#holds.get(name);
    const left = this.#holdLeft(name);
    return h && left > 0 ? { reason: h.reason, remainingMs: left } : undefined;
  }

  #holdLeft(name: string): number {
    const h = this.#holds.get(name);
    if (!h) return 0;
    const left = h.until - Date.now();
    if (left <= 0) this.#holds.delete(name);
    return Math.max(0, left);
  }

  freeName(): string {
    for (let attempt = 0; attempt < RANDOM_NAME_ATTEMPTS; attempt++) {
      const name = randomName();
      if (!this.get(name) && !this.#own.has(name) && this.#holdLeft(name) === 0) return name;
    }
    throw new BurrowError('BURROW_ERR_TUNNEL_LIMIT', 'no free random name found');
  }

  /** This node's tunnels only: an operator closes a tunnel on the node that holds it. */
  getById(id: string): RegisteredTunnel | undefined {
    return this.#local.getById(id);
  }

  /** Every tunnel of the cluster: this node's, then those other nodes hold (ids `<node>/<id>`). */
  listAll(): RegisteredTunnel[] {
    return [...this.#local.list(), ...this.#remote.values()];
  }

  /**
   * An operator closes a tunnel another node holds (its id `<node>/<id>`, as listAll() shows it):
   * the owner node closes it as its own operator would. Undefined when no node has it.
   */
  async closeElsewhere(id: string): Promise<{ name: string; protocol: string } | undefined> {
    const r = [...this.#remote.values()].find((t) => t.id === id);
    const url = r ? this.#nodeUrl(r.node) : undefined;
    if (!r || !url) return undefined;
    const closed = await this.peers.closeTunnel(r.node, url, r.details.id);
    return closed ? { name: r.name, protocol: r.protocol } : undefined;
  }

  /** How this node's server closes one of its tunnels for an operator (set by composeServer). */
  closeLocal: ((tunnelId: string) => boolean) | undefined;

  /** This node's tunnels (the server closes, revokes and counts these). */
  list(): RegisteredTunnel[] {
    return this.#local.list();
  }

  async resolve(name: string): Promise<void> {
    if (!this.#store.up || this.#local.get(name)) return;
    try {
      const { lease, hold } = await this.#store.lookup(name);
      if (lease) this.#learnLease(name, lease);
      if (hold && !this.#holds.has(name)) this.#setHold(name, hold.record.reason, hold.ms);
    } catch {
      // Redis away: answer from what this node knows
    }
    // a name that was let go a moment ago is moving (its node drained, its agent reconnects
    // elsewhere): the visitor waits for it, until HANDOVER_WAIT_MS after the hold began
    const h = this.#holds.get(name);
    const wait = h ? h.since + HANDOVER_WAIT_MS - Date.now() : 0;
    if (h && wait > 0 && !this.get(name)) await this.#waitForOwner(name, wait);
  }

  #setHold(name: string, reason: HoldReason, ms: number): void {
    const now = Date.now();
    this.#holds.set(name, { reason, until: now + ms, since: now });
  }

  describe(): RegistryView {
    const up = this.#store.up;
    const nodes = this.#liveNodes().map((n) => ({
      id: n.id,
      url: n.url,
      tunnels: n.id === this.nodeId ? this.#local.size : n.tunnels,
      draining: n.id === this.nodeId ? this.#draining : n.draining,
      startedAt: new Date(n.startedAt).toISOString(),
    }));
    const reason = this.#draining ? 'draining' : up ? undefined : 'redis_unreachable';
    return {
      ready: reason === undefined,
      reason,
      view: {
        node: this.nodeId,
        redis: { state: up ? 'up' : 'down', url: this.#o.redisLabel },
        nodes,
        peerLinks: this.peers.links,
        remoteTunnels: this.#remote.size,
      },
    };
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    clearInterval(this.#sync);
    for (const own of this.#own.values()) clearTimeout(own.pendingTimer);
    this.#local.close();
    for (const set of this.#waiters.values()) for (const w of set) w();
    this.#waiters.clear();
  }

  // ---- cluster ----

  /**
   * tiflis across nodes: where a tunnel's workstation is online is in Redis; a device that reaches
   * another node is carried to it (a WebSocket to that node's own tiflis path over the peer link).
   * The shape is the tiflis adapter's TiflisCluster.
   */
  readonly tiflis = {
    online: (tunnelId: string): void => {
      this.#workstations.add(tunnelId);
      this.#write(this.#store.setWorkstations(this.nodeId, [tunnelId], LEASE_TTL_MS));
    },
    offline: (tunnelId: string): void => {
      this.#workstations.delete(tunnelId);
      this.#write(this.#store.clearWorkstation(this.nodeId, tunnelId));
    },
    forward: (tunnelId: string, req: http.IncomingMessage, address: string, first: string) =>
      this.#forwardTiflis(tunnelId, req, address, first),
  };

  async #forwardTiflis(
    tunnelId: string,
    req: http.IncomingMessage,
    address: string,
    first: string,
  ): Promise<TiflisLink | undefined> {
    if (req.headers[HOP_HEADER] !== undefined || !this.#store.up) return undefined;
    const node = await this.#store.workstationNode(tunnelId).catch(() => undefined);
    const url = node && node !== this.nodeId ? this.#nodeUrl(node) : undefined;
    if (!node || !url) return undefined;
    let stream: MuxStream;
    try {
      stream = await this.peers.open(node, url, { tunnelId: LOCAL_HTTP_ID, kind: 'upgrade', remoteAddress: address });
    } catch {
      return undefined;
    }
    const headers: Record<string, string> = { [HOP_HEADER]: this.nodeId };
    if (req.headers.host) headers['host'] = req.headers.host;
    const ws = new WebSocket(new URL(req.url ?? '/', 'ws://node'), {
      headers,
      perMessageDeflate: false,
      createConnection: () => stream,
    });
    const opened = await new Promise<boolean>((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('error', () => resolve(false));
      ws.once('unexpected-response', () => resolve(false));
    });
    if (!opened) {
      ws.terminate();
      stream.destroy();
      return undefined;
    }
    return tiflisLink(ws, first);
  }

  async #claimPort(port: number, name: string): Promise<boolean> {
    const record: PortRecord = { node: this.nodeId, name, claim: randomUUID() };
    const r = await this.#store.claimPort(port, record, LEASE_TTL_MS);
    if (!r.ok) return false;
    this.#ports.set(port, record);
    return true;
  }

  #releasePort(port: number): void {
    const record = this.#ports.get(port);
    if (!record) return;
    this.#ports.delete(port);
    this.#write(this.#store.releasePort(port, record));
  }

  get draining(): boolean {
    return this.#draining;
  }

  /**
   * Say this node is draining: other nodes stop opening streams to it and wait for its names to
   * move. Then wait (at most maxMs) until the streams other nodes opened here are over or quiet
   * (PEER_QUIET_MS without a byte: between two requests), so that the agents' GOAWAY, next, cuts
   * no request in flight.
   */
  async beginDrain(maxMs: number): Promise<void> {
    this.#draining = true;
    await this.#beat(true).catch(() => {});
    const deadline = Date.now() + maxMs;
    await sleep(Math.min(DRAIN_NOTICE_MS, maxMs));
    while (Date.now() < deadline) {
      const now = Date.now();
      let busy = 0;
      for (const last of this.#inbound.values()) if (now - last.at < PEER_QUIET_MS) busy++;
      if (busy === 0) return;
      await sleep(DRAIN_POLL_MS);
    }
  }

  /** After the server closed: wait for the releases, leave the cluster view, close links and Redis. */
  async shutdown(): Promise<void> {
    this.close();
    await Promise.allSettled([...this.#writes]);
    await this.#store.removeNode(this.#nodeRecord()).catch(() => {});
    this.peers.close();
    await this.#store.close();
  }

  #nodeRecord(): NodeRecord {
    return {
      id: this.nodeId,
      url: this.#o.advertiseUrl,
      startedAt: this.#startedAt,
      tunnels: this.#local.size,
      draining: this.#draining,
    };
  }

  #liveNodes(): NodeRecord[] {
    const now = Date.now();
    const out: NodeRecord[] = [this.#nodeRecord()];
    for (const [id, n] of this.#nodes) {
      if (id === this.nodeId) continue;
      if (now - n.seenAt > NODE_TTL_MS) this.#nodes.delete(id);
      else out.push(n.record);
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Renew leases and this node's record; a lease another node holds now closes its tunnel here. */
  async #beat(announce: boolean): Promise<void> {
    if (this.#closed || !this.#store.up) return;
    try {
      await this.#store.putNode(this.#nodeRecord(), NODE_TTL_MS, announce);
      const mine = new Map<string, LeaseRecord>();
      for (const [name, own] of this.#own) if (own.tunnel) mine.set(name, own.lease);
      const lost = await this.#store.renew(this.nodeId, mine, LEASE_TTL_MS);
      await this.#store.renewReserved([...mine.keys()], LEASE_TTL_MS);
      for (const name of lost) this.#lose(name, 'the name is held on another node');
      await this.#store.setWorkstations(this.nodeId, this.#workstations, LEASE_TTL_MS);
      const lostPorts = await this.#store.renewPorts(this.nodeId, this.#ports, LEASE_TTL_MS);
      for (const port of lostPorts) {
        this.#ports.delete(port);
        this.#logger.warn({ port }, 'cluster: a public TCP port moved to another node; it is closed here');
        this.tcpPorts.onLost?.(port);
      }
    } catch (err) {
      this.#logger.debug({ err: (err as Error).message }, 'cluster: heartbeat failed');
    }
  }

  async #syncView(): Promise<void> {
    if (this.#closed || !this.#store.up) return;
    try {
      const snap = await this.#store.snapshot();
      const now = Date.now();
      for (const n of snap.nodes) if (n.id !== this.nodeId) this.#nodes.set(n.id, { record: n, seenAt: now });
      for (const name of [...this.#remote.keys()]) if (!snap.leases.has(name)) this.#remote.delete(name);
      for (const [name, lease] of snap.leases) this.#learnLease(name, lease);
      for (const name of [...this.#holds.keys()]) if (!snap.holds.has(name)) this.#holds.delete(name);
      for (const [name, h] of snap.holds) {
        // a hold first seen here began, for this node's visitors, now: they wait HANDOVER_WAIT_MS
        // for its name as on the nodes that saw it begin (0 made a restarted node answer 502 at once)
        const had = this.#holds.get(name);
        this.#holds.set(name, { reason: h.record.reason, until: now + h.ms, since: had?.since ?? now });
      }
    } catch (err) {
      this.#logger.debug({ err: (err as Error).message }, 'cluster: view sync failed');
    }
  }

  #onState(up: boolean): void {
    if (up) {
      // leases may have run out meanwhile: renew (or set again) at once, and read the view again
      void this.#beat(true).then(() => this.#syncView());
    }
  }

  #onEvent(e: ClusterEvent): void {
    if (e.op === 'node') {
      if (e.record.id === this.nodeId) return;
      if (e.gone) this.#nodes.delete(e.record.id);
      else this.#nodes.set(e.record.id, { record: e.record, seenAt: Date.now() });
      if (e.record.draining || e.gone) this.#nodeLeaving(e.record.id);
      return;
    }
    if (e.op === 'claim') {
      this.#holds.delete(e.name);
      this.#learnLease(e.name, e.lease);
      return;
    }
    // release
    if (e.node !== this.nodeId) {
      const r = this.#remote.get(e.name);
      if (r && r.claim === e.claim) this.#remote.delete(e.name);
    }
    if (e.hold) this.#setHold(e.name, e.hold.reason, e.hold.ms);
  }

  #learnLease(name: string, lease: LeaseRecord): void {
    if (lease.node === this.nodeId) return;
    const own = this.#own.get(name);
    if (own && own.lease.claim !== lease.claim) this.#lose(name, 'the name moved to another node');
    if (!lease.tunnel) {
      // claimed, its tunnel not made yet: the name is coming (visitors wait for it, never a 404)
      this.#remote.delete(name);
      if (!this.#holds.has(name)) this.#setHold(name, 'resume', CLAIM_PENDING_MS);
      return;
    }
    this.#holds.delete(name);
    const have = this.#remote.get(name);
    if (have && have.claim === lease.claim) return;
    this.#remote.set(name, new RemoteTunnel(this, name, lease, lease.tunnel));
    this.#wake(name);
  }

  /** This node lost a name (another node holds it now): close the tunnel here without touching Redis. */
  #lose(name: string, why: string): void {
    const own = this.#own.get(name);
    if (!own) return;
    this.#own.delete(name);
    clearTimeout(own.pendingTimer);
    const t = own.tunnel ?? this.#local.get(name);
    if (t && this.#local.get(name) === t) {
      this.#logger.warn({ tunnel: name }, `cluster: tunnel closed here: ${why}`);
      t.close(why);
      this.#local.remove(t);
    }
  }

  #nodeLeaving(node: string): void {
    for (const r of this.#remote.values()) if (r.node === node) r.leaving = true;
  }

  #wake(name: string): void {
    const set = this.#waiters.get(name);
    if (!set) return;
    this.#waiters.delete(name);
    for (const w of set) w();
  }

  /** Wait (at most ms) until the cluster hears of a new owner for name. */
  #waitForOwner(name: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.#waiters.get(name);
      if (!set) this.#waiters.set(name, (set = new Set()));
      const done = (): void => {
        clearTimeout(timer);
        set.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      set.add(done);
    });
  }

  #write(p: Promise<unknown>): void {
    const tracked = p.catch((err: unknown) =>
      this.#logger.warn({ err: (err as Error).message }, 'cluster: a registry write to Redis failed'),
    );
    this.#writes.add(tracked);
    void tracked.finally(() => this.#writes.delete(tracked));
  }

  /** The owner of a name and its advertise URL, as this node knows now. */
  #nodeUrl(node: string): string | undefined {
    return this.#nodes.get(node)?.record.url;
  }

  /**
   * A stream to the named tunnel wherever it lives now. When its node is leaving or cannot be
   * reached, wait up to HANDOVER_WAIT_MS for the name to come back elsewhere (its agent reconnects),
   * then try once more; else AGENT_GONE (502 + Retry-After), never a hang.
   */
  async openFor(name: string, info: StreamInfo): Promise<Duplex> {
    const deadline = Date.now() + HANDOVER_WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      const local = this.#local.get(name);
      if (local?.openStream) return local.openStream(info);
      const r = this.#remote.get(name);
      let why: BurrowError;
      if (r && !r.leaving) {
        const url = this.#nodeUrl(r.node);
        if (url) {
          try {
            return await this.peers.open(r.node, url, streamOpen(r.details.id, info));
          } catch (err) {
            why = err instanceof BurrowError ? err : new BurrowError('BURROW_ERR_AGENT_GONE', String(err));
            r.leaving = true;
          }
        } else why = new BurrowError('BURROW_ERR_AGENT_GONE', `node ${r.node} is not in the cluster view`);
      } else why = new BurrowError('BURROW_ERR_AGENT_GONE', `"${name}" is moving to another node`);
      const left = deadline - Date.now();
      if (left <= 0 || this.#closed || attempt > 3) throw why;
      await this.#waitForOwner(name, left);
    }
  }

  async checkFor(
    r: RemoteTunnel,
    req: { remoteAddress: string; authorization?: string | readonly string[] | undefined },
  ): Promise<VisitorDecision> {
    const url = this.#nodeUrl(r.node);
    if (!url) throw new BurrowError('BURROW_ERR_AGENT_GONE', `node ${r.node} is not in the cluster view`);
    return this.peers.checkAccess(r.node, url, r.details.id, req);
  }

  doneFor(r: RemoteTunnel, info: CompletedRequest): void {
    const url = this.#nodeUrl(r.node);
    if (url) this.peers.done(r.node, url, r.details.id, info);
  }

  /** Where this node's server takes requests another node forwards to it (the pipe's rendezvous). */
  localHttp: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | undefined;
  /** Where this node's server takes upgrades another node forwards to it (/tcp/<name> of a tunnel here). */
  localUpgrade: ((req: http.IncomingMessage, socket: Duplex, head: Buffer) => void) | undefined;

  /** The node holding a name, when another node holds it (undefined: here, or nobody). */
  remoteNodeOf(name: string): string | undefined {
    return this.#local.get(name) ? undefined : this.#remote.get(name)?.node;
  }

  /**
   * Carry a WebSocket upgrade to another node's own server (a `burrow tcp` tunnel's /tcp/<name>
   * held there): the request head as it came, then the bytes both ways. False when the node
   * cannot be reached.
   */
  async forwardUpgrade(node: string, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<boolean> {
    const url = this.#nodeUrl(node);
    if (!url) return false;
    let stream: MuxStream;
    try {
      stream = await this.peers.open(node, url, {
        tunnelId: LOCAL_HTTP_ID,
        kind: 'upgrade',
        remoteAddress: req.socket.remoteAddress ?? '',
      });
    } catch {
      return false;
    }
    const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    lines.push(`${HOP_HEADER}: ${this.nodeId}`, '', '');
    stream.write(lines.join('\r\n'));
    if (head.length) stream.write(head);
    splice(socket, stream);
    return true;
  }

  /**
   * The node where a pipe path's participants meet: the first arrival's, from Redis. This node
   * when Redis is away (a pipe then works when its participants reach the same node).
   */
  async pipeNode(path: string): Promise<string> {
    if (!this.#store.up) return this.nodeId;
    try {
      return await this.#store.rendezvous(path, this.nodeId, PIPE_RENDEZVOUS_TTL_MS);
    } catch {
      return this.nodeId;
    }
  }

  /**
   * Carry a whole HTTP request to another node's server (the pipe's rendezvous) and its response
   * back, streaming both ways. A node that cannot be reached: its rendezvous is forgotten, false.
   */
  async forwardHttp(node: string, path: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> {
    const url = this.#nodeUrl(node);
    let stream: MuxStream | undefined;
    if (url) {
      try {
        stream = await this.peers.open(node, url, {
          tunnelId: LOCAL_HTTP_ID,
          kind: 'http',
          remoteAddress: req.socket.remoteAddress ?? '',
        });
      } catch {
        stream = undefined;
      }
    }
    if (!stream) {
      await this.#store.forgetRendezvous(path, node).catch(() => {});
      return false;
    }
    const s = stream;
    const headers = { ...req.headers, [HOP_HEADER]: this.nodeId };
    const up = http.request({
      method: req.method,
      path: req.url,
      headers,
      // no agent: the request runs on this stream (an agent would dial its own socket)
      createConnection: () => s,
    });
    up.on('response', (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', (err) => {
      if (!res.headersSent) {
        const e = new BurrowError('BURROW_ERR_AGENT_GONE', `node ${node}: ${err.message}`);
        res.writeHead(e.status, { 'Content-Type': 'application/json', 'Retry-After': '2' });
        res.end(JSON.stringify({ error: e.toJSON() }));
      } else res.destroy();
    });
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
    return true;
  }

  /** Another node opened a stream to a tunnel here: splice it to the tunnel's own stream. */
  #serveStream(stream: MuxStream, open: StreamOpen): void {
    if (open.tunnelId === LOCAL_HTTP_ID) {
      const handle = this.localHttp;
      if (!handle) stream.reset(new BurrowError('BURROW_ERR_AGENT_GONE', 'this node takes no forwarded requests'));
      else serveHttp(stream, handle, this.localUpgrade);
      return;
    }
    const t = this.#local.getById(open.tunnelId);
    if (t && !t.openStream && t.handleRequest) {
      // a message tunnel (tunely, tiflis) answers HTTP itself: parse the stream here and hand it
      // the requests, as this node's server would
      serveMessageTunnel(t, stream);
      return;
    }
    if (!t?.openStream) {
      stream.reset(new BurrowError('BURROW_ERR_AGENT_GONE', 'the tunnel is not on this node (any more)'));
      return;
    }
    const info: StreamInfo = { remoteAddress: open.remoteAddress ?? '', kind: open.kind };
    if (open.port !== undefined) info.target = { port: open.port, tls: open.tls === true };
    const activity = { at: Date.now() };
    this.#inbound.set(stream, activity);
    stream.once('close', () => this.#inbound.delete(stream));
    t.openStream(info).then(
      (origin) => {
        const touch = (): void => {
          activity.at = Date.now();
        };
        stream.on('data', touch);
        origin.on('data', touch);
        splice(stream, origin);
      },
      (err: unknown) => stream.reset(err instanceof Error ? err : new Error(String(err))),
    );
  }
}

/** The stream "tunnel id" of a request forwarded to another node's own server (not a tunnel). */
const LOCAL_HTTP_ID = '~node';
/** Marks a request another node forwarded here: it is served here, never forwarded again. */
export const HOP_HEADER = 'x-burrow-cluster-hop';

/** A request another node forwarded: Node's HTTP parser over the stream, into this node's server. */
function serveHttp(
  stream: MuxStream,
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  upgrade: ((req: http.IncomingMessage, socket: Duplex, head: Buffer) => void) | undefined,
): void {
  const server = http.createServer(handle);
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (upgrade) upgrade(req, socket, head);
    else socket.destroy();
  });
  server.on('clientError', (_err, socket: Duplex) => socket.destroy());
  server.emit('connection', stream);
}

/** One forwarded visitor connection to a message tunnel: Node's HTTP parser over the stream. */
function serveMessageTunnel(t: RegisteredTunnel, stream: MuxStream): void {
  const server = http.createServer((req, res) => t.handleRequest!(req, res));
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (t.handleUpgrade) t.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  server.on('clientError', (_err, socket: Duplex) => socket.destroy());
  server.emit('connection', stream);
}

/** A device's WebSocket to another node's tiflis path (TiflisLink): `first` sent, messages buffered until heard. */
interface TiflisLink {
  send(text: string): void;
  onMessage(listener: (text: string) => void): void;
  onClose(listener: (code: number, reason: string) => void): void;
  close(): void;
}

function tiflisLink(ws: WebSocket, first: string): TiflisLink {
  const early: string[] = [];
  let listener: ((text: string) => void) | undefined;
  ws.on('message', (data: Buffer) => {
    const text = data.toString('utf8');
    if (listener) listener(text);
    else early.push(text);
  });
  ws.on('error', () => ws.terminate());
  ws.send(first);
  return {
    send: (text) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(text);
    },
    onMessage: (l) => {
      listener = l;
      for (const t of early.splice(0)) l(t);
    },
    onClose: (l) => ws.on('close', (code, reason) => l(sendableCloseCode(code), reason.toString())),
    close: () => {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000);
    },
  };
}

/** A close code one may send on (1005, 1006, 1015 and the unassigned ones are only ever received): else 1001. */
function sendableCloseCode(code: number): number {
  const ok = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
  return ok ? code : 1001;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Both ways with backpressure; an error on one side resets the other with the same error. */
function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  a.once('error', (err) => b.destroy(err));
  b.once('error', (err) => a.destroy(err));
  a.once('close', () => {
    if (!a.readableEnded || !a.writableFinished) b.destroy();
  });
  b.once('close', () => {
    if (!b.readableEnded || !b.writableFinished) a.destroy();
  });
}

function streamOpen(tunnelId: string, info: StreamInfo): StreamOpen {
  const open: StreamOpen = { tunnelId, kind: info.kind, remoteAddress: info.remoteAddress };
  if (info.target) {
    open.port = info.target.port;
    if (info.target.tls) open.tls = true;
  }
  return open;
}

/** A tunnel's allowed other ports, as the status API shows them ('' for none). */
function describePorts(t: RegisteredTunnel): string {
  const info = (t as { info?: Record<string, unknown> }).info;
  const p = info?.['allowPorts'];
  return typeof p === 'string' ? p : '';
}

const NO_STATS: TunnelStats = {
  openStreams: 0,
  totalStreams: 0,
  bytesIn: 0,
  bytesOut: 0,
  requests: 0,
  connectedSockets: 0,
};

/**
 * A tunnel another node holds, as this node's server sees it: visitors reaching this node are
 * carried over the link to the owner (RegisteredTunnel.openStream), its visitor rules are checked
 * by the owner, and completed requests are reported to it.
 */
export class RemoteTunnel implements RegisteredTunnel {
  readonly id: string;
  readonly name: string;
  readonly protocol: string;
  readonly kind: RegisteredTunnel['kind'];
  readonly url: string;
  readonly createdAt: number;
  readonly tokenId: string | null;
  readonly hostHeader: string | undefined;
  readonly streamPerConnection: boolean;
  readonly access: VisitorAccess | undefined;
  readonly node: string;
  readonly claim: string;
  readonly details: TunnelDetails;
  /** Its node is draining or could not be reached: new streams wait for the name to move. */
  leaving = false;
  readonly #registry: ClusterRegistry;
  readonly #ports;

  constructor(registry: ClusterRegistry, name: string, lease: LeaseRecord, d: TunnelDetails) {
    this.#registry = registry;
    this.name = name;
    this.node = lease.node;
    this.claim = lease.claim;
    this.details = d;
    this.id = `${lease.node}/${d.id}`;
    this.protocol = d.protocol;
    this.kind = d.kind;
    this.url = d.url;
    this.createdAt = d.createdAt;
    this.tokenId = d.tokenId;
    this.hostHeader = d.hostHeader;
    // a message tunnel's owner answers HTTP itself: one request per stream (the proxy's path)
    this.streamPerConnection = d.streamPerConnection;
    this.access = d.access ? { check: (req) => registry.checkFor(this, req) } : undefined;
    this.#ports = d.ports ? parsePortList(d.ports) : [];
  }

  openStream(info: StreamInfo): Promise<Duplex> {
    return this.#registry.openFor(this.name, info);
  }

  allowsPort(port: number): boolean {
    return inPortList(port, this.#ports);
  }

  onRequestComplete(info: CompletedRequest): void {
    this.#registry.doneFor(this, info);
  }

  stats(): TunnelStats {
    return NO_STATS;
  }

  close(): void {
    // the owner node closes it; here it only leaves the view (an event or the next full view)
  }
}
