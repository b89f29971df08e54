/**
 * `burrow tcp` on the server: a tcp tunnel gets an access token for the WebSocket access
 * (/tcp/<name>, limrun protocol) and, when asked, a public TCP port from the configured range.
 * Each inbound TCP connection becomes one stream to the agent.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BurrowError } from '../../core/errors.js';
import { pipeSocketPooled } from '../../core/pooled-reads.js';
import type { PortRange } from '../../core/port-range.js';
import type { Logger } from '../../core/logger.js';
import type { RegisterRequest } from '../../wire/mux/messages.js';
import type { BurrowTunnel } from './tunnel.js';
import { hostOf, normaliseAddress } from '../host.js';
import type { PortLeases, RegisteredTunnel } from '../registry.js';

/** Bytes of randomness in a tcp tunnel's access token. */
export const TCP_ACCESS_TOKEN_BYTES = 24;

export interface TcpExposeOptions {
  /** Range for public ports; undefined = tcp tunnels get no public port (WebSocket access only). */
  range?: PortRange | undefined;
  /** Address public ports bind to. */
  address: string;
  /** Host name printed in tcp://host:port addresses (default: the agent's server host). */
  publicHost?: string | undefined;
  logger: Logger;
  secure: boolean;
  baseUrlFor(req: IncomingMessage): string;
  /**
   * Keep a disconnected tunnel's public port and access token for its agent's resume: when the
   * tunnel goes and isNameHeld(name) is true (the registry reserved the name for the same agent),
   * the listener stays bound (new connections are refused) and a re-registration of that name
   * within resumeGraceMs gets the same port and token. Both unset = no hold.
   */
  resumeGraceMs?: number | undefined;
  isNameHeld?: ((name: string) => boolean) | undefined;
  /** A cluster's port leases: a port is claimed cluster-wide before it is bound (absent: one process). */
  ports?: PortLeases | undefined;
}

interface Listener {
  server: net.Server;
  port: number;
  /** The tunnel connections go to; undefined while held for a resume. */
  tunnel: BurrowTunnel | undefined;
}

interface Held {
  listener: Listener | undefined;
  token: string;
  timer: NodeJS.Timeout;
}

export class TcpExpose {
  readonly #o: TcpExposeOptions;
  readonly #tokens = new WeakMap<RegisteredTunnel, string>();
  readonly #listeners = new Map<BurrowTunnel, Listener>();
  readonly #usedPorts = new Set<number>();
  /** The listening server of each bound port. */
  readonly #servers = new Map<number, net.Server>();
  /** Public ports and tokens of disconnected tunnels, by name, waiting for the agent's resume. */
  readonly #held = new Map<string, Held>();

  constructor(options: TcpExposeOptions) {
    this.#o = options;
    if (options.ports) {
      // another node took a port over (the tunnel's agent moved there): stop listening here
      options.ports.onLost = (port) => {
        for (const [t, l] of this.#listeners) if (l.port === port) this.#listeners.delete(t);
        for (const [name, h] of this.#held) {
          if (h.listener?.port !== port) continue;
          clearTimeout(h.timer);
          this.#held.delete(name);
        }
        if (this.#usedPorts.delete(port)) this.#servers.get(port)?.close();
        this.#servers.delete(port);
      };
    }
  }

  /** The access token for the WebSocket access of a tcp tunnel (undefined = deny). */
  tokenFor(tunnel: RegisteredTunnel): string | undefined {
    return this.#tokens.get(tunnel);
  }

  /** Called when an agent registers a tcp tunnel: returns the extra fields for REGISTERED. */
  async onRegistered(
    tunnel: BurrowTunnel,
    req: RegisterRequest,
    upgrade: IncomingMessage,
  ): Promise<Record<string, unknown>> {
    const held = this.#held.get(tunnel.name);
    if (held) {
      clearTimeout(held.timer);
      this.#held.delete(tunnel.name);
    }
    const token = held?.token ?? randomBytes(TCP_ACCESS_TOKEN_BYTES).toString('base64url');
    this.#tokens.set(tunnel, token);
    const base = new URL(this.#o.baseUrlFor(upgrade));
    base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
    base.pathname = `/tcp/${tunnel.name}`;
    const out: Record<string, unknown> = { wsUrl: base.toString(), accessToken: token };
    const heldListener = held?.listener;
    const wantsPort = req.publicPort !== false && (this.#o.range || req.remotePort);
    if (heldListener && (!wantsPort || (req.remotePort && req.remotePort !== heldListener.port))) {
      this.#release(heldListener);
    }
    if (wantsPort) {
      let port: number;
      if (heldListener && (!req.remotePort || req.remotePort === heldListener.port)) {
        heldListener.tunnel = tunnel;
        this.#listeners.set(tunnel, heldListener);
        port = heldListener.port;
      } else {
        // a cluster: an agent back on another node (failover) asks for its port again
        const previous = !req.remotePort ? await this.#previousPort(tunnel.name) : undefined;
        port = await this.#listen(tunnel, req.remotePort ?? previous, previous !== undefined);
      }
      out['tcpAddress'] = `tcp://${this.#o.publicHost ?? hostOf(upgrade)}:${port}`;
      out['remotePort'] = port;
      tunnel.info['tcpAddress'] = out['tcpAddress'];
    }
    return out;
  }

  /** Stop the public listener of a tunnel that went away. */
  onGone(tunnel: BurrowTunnel): void {
    const l = this.#listeners.get(tunnel);
    this.#listeners.delete(tunnel);
    if (l) l.tunnel = undefined;
    const token = this.#tokens.get(tunnel);
    const grace = this.#o.resumeGraceMs ?? 0;
    if (token !== undefined && grace > 0 && this.#o.isNameHeld?.(tunnel.name) && !this.#held.has(tunnel.name)) {
      const timer = setTimeout(() => {
        this.#held.delete(tunnel.name);
        if (l) this.#release(l);
      }, grace);
      timer.unref();
      this.#held.set(tunnel.name, { listener: l, token, timer });
      return;
    }
    if (l) this.#release(l);
  }

  async close(): Promise<void> {
    for (const t of [...this.#listeners.keys()]) this.onGone(t);
    for (const h of this.#held.values()) {
      clearTimeout(h.timer);
      if (h.listener) this.#release(h.listener);
    }
    this.#held.clear();
  }

  #release(l: Listener): void {
    if (!this.#usedPorts.delete(l.port)) return;
    this.#servers.delete(l.port);
    l.server.close();
    this.#o.ports?.release(l.port);
  }

  /** The port a cluster's lease says this name held last (in the range), if any. */
  async #previousPort(name: string): Promise<number | undefined> {
    const range = this.#o.range;
    if (!this.#o.ports || !range) return undefined;
    const p = await this.#o.ports.portOf(name).catch(() => undefined);
    return p !== undefined && p >= range.from && p <= range.to ? p : undefined;
  }

  async #listen(tunnel: BurrowTunnel, requested: number | undefined, fallback = false): Promise<number> {
    const range = this.#o.range;
    if (requested && fallback) {
      try {
        return await this.#claimAndBind(tunnel, requested);
      } catch {
        return this.#listen(tunnel, undefined);
      }
    }
    if (requested) {
      if (range && (requested < range.from || requested > range.to)) {
        throw new BurrowError(
          'BURROW_ERR_FORBIDDEN',
          `port ${requested} is outside the allowed range ${range.from}-${range.to}`,
        );
      }
      if (!range)
        throw new BurrowError('BURROW_ERR_FORBIDDEN', 'this server has no public TCP port range (--tcp-ports)');
      return this.#claimAndBind(tunnel, requested);
    }
    if (!range) throw new BurrowError('BURROW_ERR_FORBIDDEN', 'this server has no public TCP port range (--tcp-ports)');
    const size = range.to - range.from + 1;
    const start = Math.floor(Math.random() * size);
    for (let i = 0; i < size; i++) {
      const port = range.from + ((start + i) % size);
      if (this.#usedPorts.has(port)) continue;
      try {
        return await this.#claimAndBind(tunnel, port);
      } catch (err) {
        if ((err as BurrowError).code !== 'BURROW_ERR_NAME_TAKEN') throw err;
      }
    }
    throw new BurrowError('BURROW_ERR_TUNNEL_LIMIT', `no free port in ${range.from}-${range.to}`);
  }

  /** Bind a port, claimed first across the cluster when there is one (NAME_TAKEN: held elsewhere). */
  async #claimAndBind(tunnel: BurrowTunnel, port: number): Promise<number> {
    const ports = this.#o.ports;
    if (!ports) return this.#bind(tunnel, port);
    if (!(await ports.claim(port, tunnel.name))) {
      throw new BurrowError('BURROW_ERR_NAME_TAKEN', `TCP port ${port} is held by another tunnel of the cluster`, {
        fix: 'Ask for another --remote-port, or leave it out to get a free port.',
      });
    }
    try {
      return await this.#bind(tunnel, port);
    } catch (err) {
      ports.release(port);
      throw err;
    }
  }

  #bind(tunnel: BurrowTunnel, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const listener: Listener = { server: undefined as unknown as net.Server, port, tunnel };
      const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
        if (listener.tunnel) this.#accept(listener.tunnel, socket);
        else socket.destroy(); // held for the agent's resume
      });
      listener.server = server;
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new BurrowError('BURROW_ERR_NAME_TAKEN', `TCP port ${port} is in use`)
            : new BurrowError('BURROW_ERR_FORBIDDEN', `cannot listen on TCP port ${port}: ${err.code ?? err.message}`),
        );
      });
      server.listen(port, this.#o.address, () => {
        this.#usedPorts.add(port);
        this.#servers.set(port, server);
        this.#listeners.set(tunnel, listener);
        resolve(port);
      });
    });
  }

  #accept(tunnel: BurrowTunnel, socket: net.Socket): void {
    socket.on('error', () => socket.destroy());
    tunnel.openStream({ remoteAddress: normaliseAddress(socket.remoteAddress ?? ''), kind: 'tcp' }).then(
      (stream) => {
        // The visitor may have gone while the stream was opening: its 'close' has already fired.
        if (socket.destroyed) {
          stream.destroy();
          return;
        }
        stream.on('error', () => socket.destroy());
        socket.on('close', () => stream.destroy());
        stream.on('close', () => socket.destroy());
        // the visitor's bytes are read into reused buffers (core/pooled-reads.ts) where the socket allows
        if (!pipeSocketPooled(socket, stream)) socket.pipe(stream);
        stream.pipe(socket);
      },
      (err: unknown) => {
        this.#o.logger.debug({ tunnel: tunnel.name, err: (err as Error).message }, 'tcp connection refused');
        socket.destroy();
      },
    );
  }
}
