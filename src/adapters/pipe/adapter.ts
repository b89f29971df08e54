/**
 * The pipe as a server edge: `/api/v1/pipe/<path>` on the server's own host, the whole URL space
 * (bare `/<path>`) on configured pipe hosts, and optionally a pipe port of its own. One handler
 * instance serves them all, so a sender on one and a receiver on another meet.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InFlightItem, ServerAdapter, ServerContext } from '../../server/adapter.js';
import { createPipeHandler, type PipeHandler } from './handler.js';
import type { PipeOptions } from './options.js';
import { listenPipe, type PipeListener, type PipeListenOptions } from './serve.js';
import { isPrefixed } from '../../wire/pipe/target.js';

export interface PipeAdapterOptions extends PipeOptions {
  /** Hosts (`--pipe-host`, matched without port, case-insensitive) where bare `/<path>` is the pipe. */
  pipeHosts?: readonly string[];
  /** Use this handler instead of creating one (to share state with another mount). */
  handler?: PipeHandler;
}

export interface PipeAdapter extends ServerAdapter {
  readonly name: 'pipe';
  readonly handler: PipeHandler;
  /** True when a Host header names one of the pipe hosts. */
  isPipeHost(host: string | undefined): boolean;
  /** ServerAdapter hook: pipe hosts are never routed to tunnels. */
  claimsHost(host: string): boolean;
  /** Offers a request on ANY host: handles pipe-host requests and `/api/v1/pipe…`; false otherwise. */
  handleRequest(req: IncomingMessage, res: ServerResponse, url: URL): boolean;
  /** Opens a separate listener (`--pipe-port`) serving bare `/<path>`; closed with the adapter. */
  listen(options: PipeListenOptions): Promise<PipeListener>;
  start(ctx: ServerContext): void;
  close(): Promise<void>;
  stats(): Record<string, number>;
  inFlight(): InFlightItem[];
}

function hostname(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

export function createPipeAdapter(options: PipeAdapterOptions = {}): PipeAdapter {
  const { pipeHosts = [], handler: given, ...pipeOptions } = options;
  const handler = given ?? createPipeHandler(pipeOptions);
  const hosts = new Set(pipeHosts.map(hostname));
  const listeners: PipeListener[] = [];
  const isPipeHost = (host: string | undefined): boolean => host !== undefined && hosts.has(hostname(host));
  return {
    name: 'pipe',
    handler,
    isPipeHost,
    claimsHost: (host: string) => isPipeHost(host),
    start(ctx: ServerContext) {
      // The handler holds its own state and timers; it adopts the server's logger and metrics.
      if (options.logger === undefined) handler.useLogger(ctx.logger.child({ adapter: 'pipe' }));
      // prom-client is loaded only here, inside a server with metrics: `burrow pipe serve` and
      // `burrow/pipe` alone stay without it (about 11 MiB less RSS; bench/RESULTS.md#pipe)
      void import('./metrics.js').then((m) => m.registerPipeMetrics(ctx.metrics.registry, handler));
    },
    handleRequest(req, res, url) {
      if (!isPipeHost(req.headers.host) && !isPrefixed(url.pathname)) return false;
      handler(req, res);
      return true;
    },
    async listen(listenOptions) {
      const l = await listenPipe(handler, listenOptions, false);
      listeners.push(l);
      return l;
    },
    async close() {
      await handler.close();
      await Promise.all(listeners.splice(0).map((l) => l.close()));
    },
    inFlight() {
      return handler.pipes().map((p): InFlightItem => ({
        kind: 'pipe',
        id: p.path,
        label: p.path,
        startedAt: p.since,
        bytesIn: p.bytes,
        bytesOut: p.bytes * p.receivers,
        ...(p.total !== undefined ? { total: p.total } : {}),
        detail: { state: p.state, senders: p.senders, receivers: `${p.receivers} of ${p.expected}` },
      }));
    },
    stats() {
      const s = handler.stats();
      return {
        pipe_pending: s.pending,
        pipe_active: s.active,
        pipe_spectators: s.spectators,
        pipe_transfers_completed: s.transfersCompleted,
        pipe_transfers_failed: s.transfersFailed,
        pipe_bytes: s.bytesTransferred,
      };
    },
  };
}
