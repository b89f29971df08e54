import type { Logger } from '../../core/logger.js';

/** Same names and values as limrun's `startTcpTunnel` (COMPAT.md §2). */
export type LogLevel = 'none' | 'error' | 'warn' | 'info' | 'debug';
export type TunnelConnectionState = 'connecting' | 'connected' | 'disconnected' | 'reconnecting';
export type TunnelConnectionStateCallback = (state: TunnelConnectionState) => void;
export type TunnelMode = 'singleton' | 'multiplexed';

export interface TcpTunnelOptions {
  /** Maximum number of reconnection attempts. @default 6 */
  maxReconnectAttempts?: number;
  /** Initial reconnection delay in ms (doubles per attempt). @default 1000 */
  reconnectDelay?: number;
  /** Maximum reconnection delay in ms. @default 30000 */
  maxReconnectDelay?: number;
  /** Logging verbosity (to stderr). @default 'info' */
  logLevel?: LogLevel;
  /** @default 'singleton' */
  mode?: TunnelMode;
  /** burrow extension: log here instead (logLevel is then ignored). */
  logger?: Logger;
  /** burrow extension: bytes read from the local socket kept during a reconnect (singleton). */
  reconnectQueueBytes?: number;
}

/** What startTcpTunnel resolves to (limrun's `Tunnel`). */
export interface TcpTunnel {
  address: { address: string; port: number };
  close: () => void;
  getConnectionState: () => TunnelConnectionState;
  onConnectionStateChange: (callback: TunnelConnectionStateCallback) => () => void;
}

/** Why a tunnel stopped listening: close() was called, the server refused it (4xx), or reconnects ran out. */
export type TcpTunnelEnd = { reason: 'closed' | 'exhausted' } | { reason: 'refused'; status: number };

/** burrow's tunnel: limrun's shape plus `closed`, settled when the tunnel stops for good. */
export interface BurrowTcpTunnel extends TcpTunnel {
  readonly closed: Promise<TcpTunnelEnd>;
}
