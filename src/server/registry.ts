import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { BurrowError } from '../core/errors.js';
import { GOODBYE_HOLD_RETRY_AFTER_S } from '../core/limits.js';
import { randomName, validateName } from './names.js';
import type { VisitorAccess } from './admission.js';

/**
 * The edge a tunnel came through ('burrow', 'localtunnel', 'tunely', …): a label for metrics, hooks
 * and the status API. The core never decides anything by it; it asks a tunnel's capabilities.
 */
export type TunnelProtocol = string;
export type TunnelKind = 'http' | 'tcp';

export interface StreamInfo {
  /** The visitor's address (after --trust-proxy handling). */
  remoteAddress: string;
  /** What the stream carries: a proxied HTTP connection, a WebSocket upgrade, or raw TCP. */
  kind: 'http' | 'upgrade' | 'tcp';
  /** Another local port of the agent's machine than the tunnel's own (a port-addressed hostname). */
  target?: PortTarget | undefined;
}

/** A local port addressed by hostname: `<name>-http-<port>.<domain>` (tls false) or `-https-` (tls true). */
export interface PortTarget {
  readonly port: number;
  readonly tls: boolean;
}

/** Do two routes reach the same place (no target = the tunnel's own)? */
export function samePortTarget(a: PortTarget | undefined, b: PortTarget | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.port === b.port && a.tls === b.tls);
}

export interface CompletedRequest {
  method: string;
  path: string;
  status: number;
  durationMs: number;
}

export interface TunnelStats {
  openStreams: number;
  totalStreams: number;
  bytesIn: number;
  bytesOut: number;
  requests: number;
  /** localtunnel pool sockets (or agent connections for message transports). */
  connectedSockets: number;
}

/**
 * A live tunnel as the core sees it. Byte-stream transports implement openStream (the core's HTTP
 * proxy then runs HTTP over it); message transports (tunely) implement handleRequest/handleUpgrade.
 */
export interface RegisteredTunnel {
  readonly id: string;
  readonly name: string;
  readonly protocol: TunnelProtocol;
  readonly kind: TunnelKind;
  readonly url: string;
  readonly createdAt: number;
  /** The token that opened it (null: anonymous). Used for per-token counts and revocation. */
  readonly tokenId?: string | null;
  /** The agent's address as the server saw it (for the operator's views; never sent to visitors). */
  readonly agentAddress?: string | undefined;
  /** Host header the origin should see instead of the visitor's (pipenet's --local-host). */
  readonly hostHeader?: string | undefined;
  /** Visitor rules checked by the core before any byte reaches the agent. */
  readonly access?: VisitorAccess | undefined;
  /**
   * True when openStream() streams are cheap enough to carry a whole visitor connection for its
   * life (burrow's multiplexed agents): the relay may then take the tunnel's HTTP traffic. False or
   * absent when each stream is a scarce resource held per request (a localtunnel pool socket):
   * the per-request proxy returns it after each response.
   */
  readonly streamPerConnection?: boolean;
  /** Open one raw byte stream to the origin. Rejects with a BurrowError (AGENT_GONE, STREAM_LIMIT, …). */
  openStream?(info: StreamInfo): Promise<Duplex>;
  /** May visitors reach this other local port of the agent's machine (`<name>-http-<port>`)? Absent: none. */
  allowsPort?(port: number): boolean;
  handleRequest?(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade?(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  stats(): TunnelStats;
  /** Told after each proxied HTTP request completes (request logs for the agent). */
  onRequestComplete?(info: CompletedRequest): void;
  /** Close the tunnel and everything it carries. */
  close(reason?: string): void;
}

export interface ClaimOptions {
  /** Requested name; omitted → a random readable name. */
  name?: string | undefined;
  /**
   * Secret identifying the owner across reconnects (a resume token): a name held in its grace
   * period after a disconnect is given back only to the same owner key.
   */
  ownerKey?: string | undefined;
  /**
   * Who is asking (see principalKeyOf): a name held after its agent's goodbye is also given back to
   * the same principal, so a restarted client (a new resume token) gets its name at once.
   */
  principalKey?: string | undefined;
  /** Skip the reserved-name check (operator-configured names). */
  allowReserved?: boolean;
}

/** Why a name with no live tunnel is held: its agent dropped (resume grace) or said goodbye. */
export type HoldReason = 'resume' | 'goodbye';

/** A held name: why, and how long the hold still lasts. */
export interface NameHold {
  readonly reason: HoldReason;
  readonly remainingMs: number;
}

export interface RemoveOptions {
  /** Hold the name this long (ms) for its owner; absent or 0: the name is free at once. */
  graceMs?: number;
  /** The owner key that takes the held name back. */
  ownerKey?: string | undefined;
  /** Goodbye holds: the principal that takes the name back too (see ClaimOptions.principalKey). */
  principalKey?: string | undefined;
  /** 'resume' (default): the agent dropped. 'goodbye': it closed on purpose and is expected back soon. */
  reason?: HoldReason;
}

/**
 * An agent's principal for goodbye holds: its access token, or its address when it has none (with
 * `--auth none` anyone may take a free name, so the address only keeps strangers off during the hold).
 */
export function principalKeyOf(tokenId: string | null, remoteAddress: string): string {
  return tokenId !== null ? `token:${tokenId}` : `address:${remoteAddress}`;
}

/**
 * What a visitor of a name with no live tunnel gets. A held name is coming back, so never a 404:
 * 502 AGENT_GONE + `Retry-After: 2` while a dropped agent may resume, 503 TUNNEL_RESTARTING +
 * `Retry-After: GOODBYE_HOLD_RETRY_AFTER_S` during the short hold after a goodbye. Else 404.
 */
export function missingTunnelAnswer(
  registry: TunnelRegistry,
  name: string,
): { error: BurrowError; headers: Record<string, string> } {
  const hold = registry.holdOf(name);
  if (hold?.reason === 'goodbye') {
    return {
      error: new BurrowError('BURROW_ERR_TUNNEL_RESTARTING', `"${name}" is restarting`),
      headers: { 'Retry-After': String(GOODBYE_HOLD_RETRY_AFTER_S) },
    };
  }
  if (hold) {
    return {
      error: new BurrowError('BURROW_ERR_AGENT_GONE', `"${name}" lost its client, which may be reconnecting`),
      headers: { 'Retry-After': '2' },
    };
  }
  return { error: new BurrowError('BURROW_ERR_TUNNEL_NOT_FOUND', `"${name}"`), headers: {} };
}

export interface TunnelRegistryEvents {
  created: [RegisteredTunnel];
  closed: [RegisteredTunnel];
}

/**
 * Where live tunnels are found by name. The embedded implementation is in-process; a shared one
 * (Redis) can route between several servers behind the same interface.
 */
export interface TunnelRegistry extends EventEmitter<TunnelRegistryEvents> {
  /**
   * Validate and claim a name, then build the tunnel with it. Throws BurrowError:
   * INVALID_NAME, NAME_RESERVED, NAME_TAKEN, TUNNEL_LIMIT.
   */
  add<T extends RegisteredTunnel>(create: (name: string) => T, options?: ClaimOptions): T;
  /** Remove a tunnel; with graceMs the name stays reserved for its owner for that long. */
  remove(tunnel: RegisteredTunnel, options?: RemoveOptions): void;
  get(name: string): RegisteredTunnel | undefined;
  /** True while a name is held for its agent (after a drop or a goodbye). */
  isHeld(name: string): boolean;
  /** Why and for how long a name is held (undefined: not held). */
  holdOf(name: string): NameHold | undefined;
  /** A random readable name that is neither live nor held (throws TUNNEL_LIMIT after RANDOM_NAME_ATTEMPTS). */
  freeName(): string;
  getById(id: string): RegisteredTunnel | undefined;
  list(): RegisteredTunnel[];
  readonly size: number;
  /** Release all grace reservations and timers. */
  close(): void;
  /**
   * Shared registries (several nodes): claim a name cluster-wide before add() takes it, so that two
   * nodes never hand one name to two agents. Throws BurrowError (NAME_TAKEN, or a 503 when the
   * shared store is unreachable). Absent: add() alone decides (one process).
   */
  claim?(name: string, options: ClaimOptions): Promise<void>;
  /**
   * Shared registries: a name this node does not know yet may live on another node; look it up
   * there. Resolves when get(name) / holdOf(name) say what the cluster knows now.
   */
  resolve?(name: string): Promise<void>;
  /** Shared registries: every tunnel of every node (the admin API's list); list() is this node's. */
  listAll?(): RegisteredTunnel[];
  /** Shared registries: an operator's close of a tunnel another node holds (undefined: no node has it). */
  closeElsewhere?(id: string): Promise<{ name: string; protocol: string } | undefined>;
  /** Shared registries: public TCP ports leased cluster-wide (absent: this process's ports are its own). */
  readonly tcpPorts?: PortLeases | undefined;
  /** Shared registries: ready for new work (false: the load balancer should send it elsewhere), and the view for /api/status and /health. */
  describe?(): RegistryView;
}

/**
 * Public TCP ports of `burrow tcp` tunnels leased across the nodes of a cluster: a port is claimed
 * for a tunnel's name before it is bound, so two nodes never hand out one port for two tunnels.
 */
export interface PortLeases {
  /** Claim a port for the named tunnel; false: another tunnel (on any node) holds it. */
  claim(port: number, name: string): Promise<boolean>;
  /** Release a port this node claimed. */
  release(port: number): void;
  /** The port the named tunnel held last on any node (its agent came back to another node), if any. */
  portOf(name: string): Promise<number | undefined>;
  /** Called with a port another node took over (the tunnel moved there): stop listening on it. */
  onLost: ((port: number) => void) | undefined;
}

/** What a shared registry tells /readyz, /api/status and /health. */
export interface RegistryView {
  readonly ready: boolean;
  /** Why not ready (shown by /readyz). */
  readonly reason?: string | undefined;
  /** The node's id, the store's state, the nodes and their tunnel counts (JSON). */
  readonly view: Record<string, unknown>;
}

interface Reservation {
  ownerKey: string | undefined;
  principalKey: string | undefined;
  reason: HoldReason;
  until: number;
  timer: NodeJS.Timeout;
}

/** Random names tried before a registration without a name gives up. */
export const RANDOM_NAME_ATTEMPTS = 20;

export class MemoryTunnelRegistry extends EventEmitter<TunnelRegistryEvents> implements TunnelRegistry {
  readonly #byName = new Map<string, RegisteredTunnel>();
  readonly #byId = new Map<string, RegisteredTunnel>();
  readonly #reserved = new Map<string, Reservation>();
  readonly #maxTunnels: number;
  readonly #now: () => number;

  /** `now` is the clock for hold times (tests inject one; holds end by timers either way). */
  constructor(options: { maxTunnels: number; now?: () => number }) {
    super();
    this.#maxTunnels = options.maxTunnels;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#byName.size;
  }

  add<T extends RegisteredTunnel>(create: (name: string) => T, options: ClaimOptions = {}): T {
    if (this.#byName.size >= this.#maxTunnels) {
      throw new BurrowError('BURROW_ERR_TUNNEL_LIMIT', `${this.#maxTunnels} tunnels are open`);
    }
    let name: string;
    if (options.name !== undefined && options.name !== '') {
      name = options.name.toLowerCase();
      if (!options.allowReserved) validateName(name);
      if (this.#byName.has(name)) throw new BurrowError('BURROW_ERR_NAME_TAKEN', `"${name}"`);
      const held = this.#reserved.get(name);
      if (held) {
        const owner = held.ownerKey !== undefined && held.ownerKey === options.ownerKey;
        const principal = held.principalKey !== undefined && held.principalKey === options.principalKey;
        if (!owner && !principal) {
          const s = Math.max(1, Math.ceil((held.until - this.#now()) / 1000));
          throw new BurrowError(
            'BURROW_ERR_NAME_TAKEN',
            `"${name}" is held for its previous client for a short while (${s} s more)`,
          );
        }
        clearTimeout(held.timer);
        this.#reserved.delete(name);
      }
    } else {
      name = this.freeName();
    }
    const tunnel = create(name);
    this.#byName.set(name, tunnel);
    this.#byId.set(tunnel.id, tunnel);
    this.emit('created', tunnel);
    return tunnel;
  }

  remove(tunnel: RegisteredTunnel, options: RemoveOptions = {}): void {
    if (this.#byName.get(tunnel.name) !== tunnel) return;
    this.#byName.delete(tunnel.name);
    this.#byId.delete(tunnel.id);
    const reason = options.reason ?? 'resume';
    const principalKey = reason === 'goodbye' ? options.principalKey : undefined;
    if (options.graceMs && options.graceMs > 0 && (options.ownerKey || principalKey)) {
      const name = tunnel.name;
      const timer = setTimeout(() => this.#reserved.delete(name), options.graceMs);
      timer.unref();
      const until = this.#now() + options.graceMs;
      this.#reserved.set(name, { ownerKey: options.ownerKey, principalKey, reason, until, timer });
    }
    this.emit('closed', tunnel);
  }

  get(name: string): RegisteredTunnel | undefined {
    return this.#byName.get(name);
  }

  isHeld(name: string): boolean {
    return this.#reserved.has(name);
  }

  holdOf(name: string): NameHold | undefined {
    const r = this.#reserved.get(name);
    return r && { reason: r.reason, remainingMs: Math.max(0, r.until - this.#now()) };
  }

  freeName(): string {
    for (let attempt = 0; attempt < RANDOM_NAME_ATTEMPTS; attempt++) {
      const name = randomName();
      if (!this.#byName.has(name) && !this.#reserved.has(name)) return name;
    }
    throw new BurrowError('BURROW_ERR_TUNNEL_LIMIT', 'no free random name found');
  }

  getById(id: string): RegisteredTunnel | undefined {
    return this.#byId.get(id);
  }

  list(): RegisteredTunnel[] {
    return [...this.#byName.values()];
  }

  close(): void {
    for (const r of this.#reserved.values()) clearTimeout(r.timer);
    this.#reserved.clear();
  }
}
