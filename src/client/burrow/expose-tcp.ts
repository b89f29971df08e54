/** exposeTcp(): expose a local TCP port through a burrow server (`burrow tcp`). */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { BurrowError } from '../../core/errors.js';
import type { MuxStream } from '../../wire/mux/mux.js';
import type { TunnelRegistration } from '../../wire/mux/messages.js';
import { AgentConnection, agentOptions } from './agent.js';
import { describeTarget, parseLocalTarget, type LocalTarget } from './local-target.js';
import { bridgeStream, endWhenUnregistered, startRegistered, type FirstConnectOptions } from './open-tunnel.js';
import type { ConnectionSettings, RetryInfo } from './agent.js';

export interface ExposeTcpOptions extends FirstConnectOptions, ConnectionSettings {
  /** Local port, or host:port. */
  port: number | string;
  localHost?: string;
  /** Requested name (the /tcp/<name> WebSocket path). */
  name?: string;
  /** Ask for this public TCP port (must be in the server's --tcp-ports range). */
  remotePort?: number;
  /** Ask for a public TCP port at all (default true; false = WebSocket access only). */
  publicPort?: boolean;
}

export interface TcpTunnelEvents {
  ready: [TunnelRegistration];
  reconnecting: [RetryInfo];
  reconnected: [TunnelRegistration];
  disconnected: [BurrowError];
  error: [BurrowError];
  close: [];
}

export class TcpTunnel extends EventEmitter<TcpTunnelEvents> {
  readonly target: LocalTarget;
  readonly agent: AgentConnection;
  info: TunnelRegistration | undefined;

  constructor(agent: AgentConnection, target: LocalTarget) {
    super();
    this.agent = agent;
    this.target = target;
  }
  get name(): string {
    return this.info?.name ?? '';
  }
  /** tcp://host:port when the server gave a public port. */
  get tcpAddress(): string | undefined {
    return this.info?.tcpAddress;
  }
  /** ws(s)://server/tcp/<name>: reach the port with `burrow connect` or limrun's startTcpTunnel. */
  get wsUrl(): string | undefined {
    return this.info?.wsUrl;
  }
  get accessToken(): string | undefined {
    return this.info?.accessToken;
  }
  /** Say goodbye and close; returns at once (await whenClosed() before the process exits). */
  close(): void {
    this.agent.close();
  }
  /** Resolves once the goodbye reached the server (or GOODBYE_TIMEOUT_MS passed); never rejects. */
  whenClosed(): Promise<void> {
    return this.agent.whenClosed();
  }
}

export async function exposeTcp(options: ExposeTcpOptions): Promise<TcpTunnel> {
  if (options.publicPort === false && options.remotePort !== undefined) {
    throw new BurrowError(
      'BURROW_ERR_BAD_REQUEST',
      'remotePort asks for a public port; it cannot be combined with publicPort: false',
    );
  }
  const target = parseLocalTarget(options.port, { host: options.localHost ?? 'localhost' });
  const agent = new AgentConnection(agentOptions(options));
  const tunnel = new TcpTunnel(agent, target);
  agent.on('reconnecting', (r) => tunnel.emit('reconnecting', r));
  agent.on('disconnected', (e) => tunnel.emit('disconnected', e));
  agent.on('close', () => tunnel.emit('close'));
  endWhenUnregistered(agent, tunnel);
  agent.on('registered', (_s, t) => {
    const first = tunnel.info === undefined;
    tunnel.info = t;
    if (first) tunnel.emit('ready', t);
    else tunnel.emit('reconnected', t);
  });
  const registered = agent.register({
    kind: 'tcp',
    name: options.name,
    target: describeTarget(target),
    ...(options.remotePort !== undefined ? { remotePort: options.remotePort } : {}),
    publicPort: options.publicPort ?? true,
    onStream: (stream) => serveTcpStreamLocally(stream, target),
  });
  await startRegistered(agent, registered, tunnel, options);
  return tunnel;
}

/**
 * One public TCP connection (a stream) → one connection to the local service. Unlike the HTTP
 * path's dialLocal, the local socket is half-open: when the service sends FIN first it can still
 * receive what the remote client sends after (FIN is carried both ways).
 */
export function serveTcpStreamLocally(stream: MuxStream, target: LocalTarget): void {
  const local = net.connect({ host: target.host, port: target.port, noDelay: true, allowHalfOpen: true });
  const onConnectError = (err: NodeJS.ErrnoException): void => {
    local.destroy();
    stream.reset(
      new BurrowError(
        'BURROW_ERR_ORIGIN_REFUSED',
        `${describeTarget(target)} (${err.code ?? err.message}) — is the local service running on port ${target.port}?`,
      ),
    );
  };
  local.once('error', onConnectError);
  local.once('connect', () => {
    local.off('error', onConnectError);
    bridgeStream(stream, local, target);
  });
}
