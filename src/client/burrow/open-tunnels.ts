/**
 * openTunnels(): several tunnels — HTTP and TCP — over ONE agent connection (`burrow start` and its
 * config file). Each tunnel is the object openTunnel() or exposeTcp() would give (a Tunnel or a
 * TcpTunnel, with its own url, 'ready', 'request' and 'reconnected' events); the connection, its
 * reconnects and its close belong to the group: closing the group (or any one of its tunnels) closes
 * them all, and a reconnect registers every tunnel again under the same names.
 */
import { EventEmitter } from 'node:events';
import { BurrowError, isBurrowError } from '../../core/errors.js';
import { formatPortList, inPortList, parsePortList } from '../../core/port-range.js';
import type { MuxStream } from '../../wire/mux/mux.js';
import type { StreamOpen } from '../../wire/mux/messages.js';
import { AgentConnection, agentOptions, type ConnectionSettings, type RetryInfo, type TunnelSpec } from './agent.js';
import { serveTcpStreamLocally, TcpTunnel, type ExposeTcpOptions } from './expose-tcp.js';
import { describeTarget, parseLocalTarget, type LocalTarget } from './local-target.js';
import {
  serveStreamLocally,
  startRegistered,
  Tunnel,
  type FirstConnectOptions,
  type OpenTunnelOptions,
  type StreamObserver,
} from './open-tunnel.js';
import { Inspector, startInspector, type InspectOptions } from '../inspector/inspector.js';

/** What the group's connection settles, not each tunnel: the server, the token, reconnects. */
type ConnectionKeys = 'server' | 'token' | 'reconnect' | 'backoff' | 'window' | 'logger' | keyof FirstConnectOptions;

/**
 * One tunnel of the group: its name in the group (the key of its entry in `burrow start`'s file), its
 * kind, and openTunnel()'s or exposeTcp()'s options less the connection's.
 */
export type TunnelEntry =
  | { kind: 'http'; name: string; options: Omit<OpenTunnelOptions, ConnectionKeys> }
  | { kind: 'tcp'; name: string; options: Omit<ExposeTcpOptions, ConnectionKeys> };

export interface OpenTunnelsOptions extends FirstConnectOptions, ConnectionSettings {
  /** The tunnels, each with a name of its own (the key of its entry in `burrow start`'s file). */
  tunnels: readonly TunnelEntry[];
}

/** A tunnel of the group, by kind. */
export type GroupMember =
  { kind: 'http'; name: string; tunnel: Tunnel } | { kind: 'tcp'; name: string; tunnel: TcpTunnel };

export interface TunnelGroupEvents {
  /** The connection dropped (every tunnel with it); reconnecting follows. */
  disconnected: [BurrowError];
  reconnecting: [RetryInfo];
  /** A final error: the connection ends (a refusal after a reconnect, an operator's action …). */
  error: [BurrowError];
  /** The server closed one tunnel (an operator's action); the others go on. */
  unregistered: [GroupMember, BurrowError];
  close: [];
}

/** Tunnels sharing one agent connection. */
export class TunnelGroup extends EventEmitter<TunnelGroupEvents> {
  readonly agent: AgentConnection;
  /** In the order they were given. */
  readonly members: readonly GroupMember[];
  /** The inspectors the group started (tunnels with the same `inspect` options share one). */
  readonly #inspectors: readonly Inspector[];
  #closed = false;

  constructor(agent: AgentConnection, members: readonly GroupMember[], inspectors: readonly Inspector[]) {
    super();
    this.agent = agent;
    this.members = members;
    this.#inspectors = inspectors;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Say goodbye and close every tunnel; returns at once (await whenClosed() before exiting). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.agent.close();
    for (const i of this.#inspectors) void i.close();
    this.emit('close');
  }

  /**
   * Resolves once the goodbye reached the server (or GOODBYE_TIMEOUT_MS passed) and the inspectors
   * the group started are closed; never rejects.
   */
  async whenClosed(): Promise<void> {
    await this.agent.whenClosed();
    await Promise.all(this.#inspectors.map((i) => i.close()));
  }
}

/**
 * Open every tunnel over one connection. Resolves once all are registered; rejects (closing the
 * connection) when any is refused — the error names the tunnel — or as openTunnel()'s first
 * connection does (connectTimeoutMs, signal).
 */
export async function openTunnels(options: OpenTunnelsOptions): Promise<TunnelGroup> {
  if (options.tunnels.length === 0) throw new BurrowError('BURROW_ERR_BAD_REQUEST', 'openTunnels needs a tunnel');
  const names = new Set<string>();
  for (const e of options.tunnels) {
    if (names.has(e.name)) throw new BurrowError('BURROW_ERR_BAD_REQUEST', `two tunnels are named "${e.name}"`);
    names.add(e.name);
  }
  // every target is parsed before anything connects: a typo rejects at once
  const planned = options.tunnels.map((e) =>
    e.kind === 'http' ? planHttp(e.name, e.options) : planTcp(e.name, e.options),
  );
  const agent = new AgentConnection(agentOptions(options));
  const inspectors = new Inspectors();
  let members: GroupMember[];
  try {
    members = await Promise.all(planned.map((p) => p.member(agent, inspectors)));
  } catch (err) {
    await inspectors.closeAll();
    throw err;
  }
  const group = new TunnelGroup(agent, members, inspectors.started);
  const bySpec = new Map<TunnelSpec, GroupMember>();
  const registered = planned.map((p, i) => {
    const member = members[i]!;
    const spec = p.spec(member);
    bySpec.set(spec, member);
    return agent.register(spec).catch((err: unknown) => {
      throw withName(member.name, err);
    });
  });
  agent.on('reconnecting', (r) => group.emit('reconnecting', r));
  agent.on('disconnected', (e) => group.emit('disconnected', e));
  agent.on('registered', (spec, t) => {
    const m = bySpec.get(spec);
    if (m?.kind === 'http') m.tunnel.setRegistered(t);
    else if (m) {
      const first = m.tunnel.info === undefined;
      m.tunnel.info = t;
      m.tunnel.emit(first ? 'ready' : 'reconnected', t);
    }
  });
  let live = members.length;
  agent.on('unregistered', (spec, e) => {
    const m = bySpec.get(spec);
    if (m) group.emit('unregistered', m, withName(m.name, e));
    if (--live === 0) {
      if (group.listenerCount('error') > 0) group.emit('error', withName(m?.name ?? '?', e));
      agent.close();
    }
  });
  agent.on('close', () => {
    group.close();
    // an http Tunnel closes itself (its `closed` flag, its 'close'); a TcpTunnel only says so
    for (const m of members)
      if (m.kind === 'http') m.tunnel.close();
      else m.tunnel.emit('close');
  });
  try {
    await startRegistered(agent, Promise.all(registered), group, options);
  } catch (err) {
    await inspectors.closeAll();
    throw err;
  }
  return group;
}

/** One inspector per distinct `inspect` option (a running Inspector given is used as it is, not closed). */
class Inspectors {
  readonly started: Inspector[] = [];
  readonly #byOptions = new Map<string, Promise<Inspector>>();

  async get(inspect: boolean | InspectOptions | Inspector | undefined): Promise<Inspector | undefined> {
    if (inspect instanceof Inspector) return inspect;
    if (!inspect) return undefined;
    const o = inspect === true ? {} : inspect;
    const key = JSON.stringify(o, Object.keys(o).sort());
    let p = this.#byOptions.get(key);
    if (!p) {
      p = startInspector(o);
      this.#byOptions.set(key, p);
      this.started.push(await p);
    }
    return p;
  }

  async closeAll(): Promise<void> {
    const all = await Promise.allSettled([...this.#byOptions.values()]);
    for (const r of all) if (r.status === 'fulfilled') await r.value.close();
  }
}

interface Plan {
  member(agent: AgentConnection, inspectors: Inspectors): Promise<GroupMember>;
  spec(member: GroupMember): TunnelSpec;
}

/** openTunnel()'s tunnel, on a shared connection. */
function planHttp(name: string, o: Extract<TunnelEntry, { kind: 'http' }>['options']): Plan {
  const defaults: Partial<LocalTarget> = { host: o.localHost ?? 'localhost' };
  if (o.localHttps) defaults.https = true;
  if (o.allowInvalidCert) defaults.allowInvalidCert = true;
  if (o.localCert) defaults.cert = o.localCert;
  if (o.localKey) defaults.key = o.localKey;
  if (o.localCa) defaults.ca = o.localCa;
  const where = o.url ?? o.port;
  if (where === undefined) throw new BurrowError('BURROW_ERR_BAD_REQUEST', `tunnel ${name} needs a local port or url`);
  const target = namedTry(name, () => parseLocalTarget(where, defaults));
  const allowPorts = namedTry(name, () =>
    o.allowPorts === undefined
      ? []
      : parsePortList(typeof o.allowPorts === 'string' ? [o.allowPorts] : o.allowPorts.map(String)),
  );
  return {
    member: async (agent, inspectors) => {
      const inspector = await namedAsync(name, () => inspectors.get(o.inspect));
      return { kind: 'http', name, tunnel: new Tunnel(agent, target, inspector) };
    },
    spec: (m) => {
      const tunnel = m.tunnel as Tunnel;
      const inspector = tunnel.inspector;
      const observe: StreamObserver | undefined = inspector
        ? (stream, local, t) => {
            const remote = stream.open.remoteAddress;
            inspector.tap(stream, local, t, { tunnel: tunnel.name, ...(remote ? { remoteAddress: remote } : {}) });
          }
        : undefined;
      return {
        kind: 'http',
        name: o.subdomain,
        requestEvents: o.requestEvents ?? true,
        target: describeTarget(target),
        ...(o.access ? { access: o.access } : {}),
        ...(o.hostHeader ? { hostHeader: o.hostHeader } : {}),
        ...(allowPorts.length ? { allowPorts: formatPortList(allowPorts) } : {}),
        onStream: (stream: MuxStream, open: StreamOpen) => {
          if (open.port === undefined) serveStreamLocally(stream, target, observe);
          // another local port (`<name>-http-<port>`): only one this tunnel allows, whatever the server says
          else if (!inPortList(open.port, allowPorts))
            stream.reset(
              new BurrowError('BURROW_ERR_PORT_NOT_ALLOWED', `port ${open.port} is not allowed by this agent`),
            );
          else serveStreamLocally(stream, { ...target, port: open.port, https: open.tls === true }, observe);
        },
        onRequest: (ev) => tunnel.emit('request', ev),
      };
    },
  };
}

/** exposeTcp()'s tunnel, on a shared connection. */
function planTcp(name: string, o: Extract<TunnelEntry, { kind: 'tcp' }>['options']): Plan {
  if (o.publicPort === false && o.remotePort !== undefined)
    throw new BurrowError(
      'BURROW_ERR_BAD_REQUEST',
      `tunnel ${name}: remotePort asks for a public port; it cannot be combined with publicPort: false`,
    );
  const target = namedTry(name, () => parseLocalTarget(o.port, { host: o.localHost ?? 'localhost' }));
  return {
    member: (agent) => Promise.resolve({ kind: 'tcp', name, tunnel: new TcpTunnel(agent, target) }),
    spec: () => ({
      kind: 'tcp',
      name: o.name,
      target: describeTarget(target),
      ...(o.remotePort !== undefined ? { remotePort: o.remotePort } : {}),
      publicPort: o.publicPort ?? true,
      onStream: (stream: MuxStream) => serveTcpStreamLocally(stream, target),
    }),
  };
}

/** An error with the tunnel's name in front of its message (code and fix kept). */
function withName(name: string, err: unknown): BurrowError {
  if (!isBurrowError(err))
    return new BurrowError('BURROW_ERR_INTERNAL', `tunnel ${name}: ${String(err)}`, { cause: err });
  return new BurrowError(err.code, `tunnel ${name}: ${err.detail ?? err.message}`, { cause: err, fix: err.fix });
}

/** await fn(), its error named for the tunnel. */
async function namedAsync<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw withName(name, err);
  }
}

/** fn(), its error named for the tunnel. */
function namedTry<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw withName(name, err);
  }
}
