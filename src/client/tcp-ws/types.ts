import type { Logger } from '../../core/logger.js';
import type { ConnectionStateTracker, TunnelConnectionState, TunnelConnectionStateCallback } from './state.js';
import type { TlsTrust } from '../../core/tls-trust.js';

/** Same names and values as limrun's `startTcpTunnel` (docs/tcp.md). */
export type LogLevel = 'none' | 'error' | 'warn' | 'info' | 'debug';
export type { TunnelConnectionState, TunnelConnectionStateCallback };
export type TunnelMode = 'singleton' | 'multiplexed';

export interface TcpWsBaseOptions {
  /** Maximum number of reconnection attempts. @default 6 */
  maxReconnectAttempts?: number;
  /** Initial reconnection delay in ms (doubles per attempt). @default 1000 */
  reconnectDelay?: number;
  /** Maximum reconnection delay in ms. @default 30000 */
  maxReconnectDelay?: number;
  /** Logging verbosity (to stderr). @default 'info' */
  logLevel?: LogLevel;
  /**
   * 'singleton': one local connection at a time, on its own WebSocket (a second one is closed at
   * once, with a warning); 'multiplexed': any number, all on one WebSocket. @default 'singleton'
   */
  mode?: TunnelMode;
  /** burrow extension: log here instead (logLevel is then ignored). */
  logger?: Logger;
  /** burrow extension: bytes read from the local socket kept during a reconnect (singleton). */
  reconnectQueueBytes?: number;
  /** burrow extension, both modes: TLS settings for a wss:// URL (a private CA, or no verification). */
  tls?: TcpTunnelTlsOptions | undefined;
}

/** TLS settings for a wss:// server (burrow extension of startTcpTunnel's options): see core/tls-trust.ts. */
export type TcpTunnelTlsOptions = TlsTrust;

/** What both modes need to open (and reopen) their WebSockets, with limrun's defaults filled in. */
export interface TcpLinkOptions {
  url: string;
  token: string;
  maxReconnectAttempts: number;
  reconnectDelay: number;
  maxReconnectDelay: number;
  pingIntervalMs: number;
  tls: TcpTunnelTlsOptions | undefined;
  logger: Logger;
  state: ConnectionStateTracker;
}

/** What startTcpTunnel resolves to (limrun's `Tunnel`). */
export interface TcpWsTunnelShape {
  address: { address: string; port: number };
  close: () => void;
  getConnectionState: () => TunnelConnectionState;
  onConnectionStateChange: (callback: TunnelConnectionStateCallback) => () => void;
}

/** Why a tunnel stopped listening: close() was called, the server refused it (4xx), or reconnects ran out. */
export type TcpTunnelEnd = { reason: 'closed' | 'exhausted' } | { reason: 'refused'; status: number };

/** burrow's tunnel: limrun's shape plus `closed`, settled when the tunnel stops for good. */
export interface TcpWsClosableTunnel extends TcpWsTunnelShape {
  readonly closed: Promise<TcpTunnelEnd>;
}
