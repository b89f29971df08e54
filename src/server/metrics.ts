import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { mallocFirstTraffic } from '../core/malloc.js';
import { promClient } from '../core/packages.js';

/** Prometheus metrics of one server instance (its own registry, so several servers can coexist). */
export interface ServerMetrics {
  readonly registry: Registry;
  readonly tunnels: Gauge<'protocol'>;
  readonly streams: Gauge<'protocol'>;
  /** A stream opened / closed: the `burrow_streams` gauge and openStreams, which /health reads without visiting every tunnel. */
  streamOpened(protocol: string): void;
  streamClosed(protocol: string): void;
  /** Streams open now, every protocol. */
  readonly openStreams: number;
  readonly bytes: Counter<'direction' | 'protocol'>;
  readonly requests: Counter<'protocol' | 'status'>;
  readonly requestDuration: Histogram<'protocol'>;
  readonly errors: Counter<'code'>;
  readonly agents: Gauge<'protocol'>;
  /** New tunnels refused by the per-client limit (--new-tunnels-per-minute), by edge. */
  readonly newTunnelsRefused: Counter<'protocol'>;
  /** Visitor connections the relay (the fast path) carried. */
  readonly relayedConnections: Counter;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): ServerMetrics {
  const { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } = promClient();
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'burrow_' }); // burrow_process_cpu_…, burrow_nodejs_…
  const registers = [registry];
  let open = 0;
  const streams = new Gauge({
    name: 'burrow_streams',
    help: 'Open streams (visitor connections)',
    labelNames: ['protocol'],
    registers,
  });
  return {
    registry,
    streams,
    streamOpened(protocol) {
      mallocFirstTraffic();
      open++;
      streams.inc({ protocol });
    },
    streamClosed(protocol) {
      open--;
      streams.dec({ protocol });
    },
    get openStreams() {
      return open;
    },
    tunnels: new Gauge({ name: 'burrow_tunnels', help: 'Live tunnels', labelNames: ['protocol'], registers }),
    bytes: new Counter({
      name: 'burrow_bytes_total',
      help: 'Bytes carried through tunnels (in = visitor to origin, out = origin to visitor)',
      labelNames: ['direction', 'protocol'],
      registers,
    }),
    requests: new Counter({
      name: 'burrow_http_requests_total',
      help: 'HTTP requests proxied through tunnels',
      labelNames: ['protocol', 'status'],
      registers,
    }),
    requestDuration: new Histogram({
      name: 'burrow_http_request_duration_seconds',
      help: 'Time from visitor request to the end of the response',
      labelNames: ['protocol'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    errors: new Counter({
      name: 'burrow_errors_total',
      help: 'Errors answered, by code',
      labelNames: ['code'],
      registers,
    }),
    agents: new Gauge({ name: 'burrow_agents', help: 'Connected agents', labelNames: ['protocol'], registers }),
    newTunnelsRefused: new Counter({
      name: 'burrow_new_tunnels_refused_total',
      help: 'New tunnels refused: too many from one client address within a minute (--new-tunnels-per-minute)',
      labelNames: ['protocol'],
      registers,
    }),
    relayedConnections: new Counter({
      name: 'burrow_relayed_connections_total',
      help: "Visitor connections carried by the relay (the fast path); the rest go through Node's HTTP server",
      registers,
    }),
  };
}
