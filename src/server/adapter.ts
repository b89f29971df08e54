import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../core/logger.js';
import type { NewTunnelTicket } from '../core/new-tunnel-limiter.js';
import type { TunnelProtocol, TunnelRegistry } from './registry.js';
import type { ServerMetrics } from './metrics.js';
import type { ServerHooks } from './hooks.js';

/**
 * What every edge (burrow's own agent endpoint, localtunnel, limrun, tunely, tiflis, pipe) gets
 * from the server. Adapters translate their wire protocol into the core's terms: a tunnel in the
 * registry that can open byte streams to its origin (or answer HTTP itself).
 */
export interface ServerContext {
  readonly logger: Logger;
  readonly registry: TunnelRegistry;
  readonly metrics: ServerMetrics;
  readonly hooks: ServerHooks;
  /** The public URL for a tunnel name, e.g. https://name.example.com (respects --secure / port). */
  publicUrlFor(name: string, req?: IncomingMessage): string;
  /** The server's own base URL as seen by this request (for handshake answers). */
  baseUrlFor(req?: IncomingMessage): string;
  /** Remote address of a request, honouring X-Forwarded-For only with --trust-proxy. */
  clientAddress(req: IncomingMessage): string;
  /** Answer an error as HTML for browsers, JSON for tools (Accept-based). */
  sendError(req: IncomingMessage, res: ServerResponse, err: unknown): void;
  /** Reject an upgrade with an HTTP status line and JSON body, then destroy the socket. */
  rejectUpgrade(socket: Duplex, err: unknown): void;
  /**
   * Count one new tunnel for a client address against the server's per-client limit (all edges
   * share it), or throw RateLimitedError (BURROW_ERR_RATE_LIMITED, retryAfter seconds). Cancel the
   * ticket when no tunnel was created after all; `held` tickets (an unclaimed pool port) keep
   * counting until released.
   */
  takeNewTunnel(address: string, edge: TunnelProtocol, options?: { held?: boolean }): NewTunnelTicket;
  /** Close one live tunnel by id (an operator's action, BurrowServer.closeTunnel); false when none has it. */
  closeTunnel(tunnelId: string): boolean;
}

/** One thing an edge carries right now (a pipe transfer, a TCP-over-WebSocket session), as the console lists it. */
export interface InFlightItem {
  /** Which list it belongs to: 'pipe', 'tcp-ws', … */
  readonly kind: string;
  /** Unique within its kind (a session id, a pipe path). */
  readonly id: string;
  /** What a person reads first: the pipe path, the TCP target's name. */
  readonly label: string;
  /** Milliseconds since the epoch. */
  readonly startedAt: number;
  /** Bytes moved so far, each way (for a pipe: `in` from the sender, `out` to all receivers). */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Bytes expected, when known (a sender's Content-Length). */
  readonly total?: number;
  /** A few facts by name (client address, mode, connections, senders, receivers). */
  readonly detail: Readonly<Record<string, string | number>>;
}

/**
 * A server edge. Requests and upgrades on the server's own host (not a tunnel host) are offered to
 * each adapter in order; the first that returns true owns them. Tunnel hosts are routed by the
 * core through the registry.
 */
export interface ServerAdapter {
  readonly name: string;
  /** Called once when the server starts (before listening). */
  start?(ctx: ServerContext): void | Promise<void>;
  /** Offered every request on the server's own host. Return true when handled. */
  handleRequest?(req: IncomingMessage, res: ServerResponse, url: URL): boolean;
  /** Offered every upgrade on the server's own host. Return true when handled. */
  handleUpgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean;
  /** Graceful stop: close agents and listeners, finish within the server's drain time. */
  close?(): Promise<void>;
  /** Counts for /health and /api/status. */
  stats?(): Record<string, number>;
  /** What the edge carries right now, one item each (pipes in flight, TCP sessions), for the console. */
  inFlight?(): InFlightItem[];
  /** True for hosts this edge owns outright (e.g. a pipe host): they are never routed to tunnels. */
  claimsHost?(host: string): boolean;
  /** Disconnect whatever this edge holds for a revoked token; returns how many connections it closed. */
  revokeToken?(tokenId: string): number;
}
