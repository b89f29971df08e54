import { Duplex } from 'node:stream';
import { ConnectionStateTracker } from './state.js';
import { SingletonLink, type LinkEnd } from './singleton-link.js';
import type { TcpWsBaseOptions, TunnelConnectionStateCallback } from './types.js';
import { singletonLinkOptions, tcpTunnelLogger } from './tcp-tunnel.js';

export interface StdioConnectOptions extends TcpWsBaseOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  onStateChange?: TunnelConnectionStateCallback;
}

export interface StdioConnection {
  link: SingletonLink;
  /** Resolves when the connection is over (stdin ended and the target closed, refused, …). */
  done: Promise<LinkEnd>;
  close(): void;
}

/**
 * One connection over stdin/stdout (e.g. an SSH ProxyCommand): a singleton-mode session whose
 * local side is the process's standard streams. Reconnects keep the session like a TCP link.
 */
export function connectStdio(remoteURL: string, token: string, options: StdioConnectOptions): StdioConnection {
  const logger = tcpTunnelLogger(options);
  const state = new ConnectionStateTracker('connecting', logger);
  if (options.onStateChange) state.subscribe(options.onStateChange);
  const local = Duplex.from({ readable: options.input, writable: options.output });
  const link = new SingletonLink(local, singletonLinkOptions(remoteURL, token, options, state, logger));
  return { link, done: link.done, close: () => link.close() };
}
