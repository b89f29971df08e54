/**
 * What the console shows live: one sample of the server every SAMPLE_INTERVAL_MS (tunnels, agents,
 * streams, req/s, bytes/s, memory, event-loop delay), the last HISTORY_MS of them for the charts,
 * the live tunnel list with per-tunnel counters, errors by code, pipe and TCP counters. Read from
 * the registry and the Prometheus metrics the server keeps anyway; pushed to consoles as
 * Server-Sent Events (never polled by them).
 */
import type { ServerResponse } from 'node:http';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { ServerMetrics } from '../server/metrics.js';
import type { TunnelRegistry } from '../server/registry.js';
import {
  HISTORY_MS,
  MAX_EVENT_STREAMS,
  MAX_LIVE_IN_FLIGHT,
  MAX_LIVE_TUNNELS,
  SAMPLE_INTERVAL_MS,
  SLOW_STREAM_BYTES,
} from './limits.js';
import type { InFlightItem } from '../server/adapter.js';

/** One point of the overview charts. */
export interface LiveSample {
  /** ms since the epoch */
  t: number;
  tunnels: number;
  agents: number;
  streams: number;
  reqPerSec: number;
  bytesInPerSec: number;
  bytesOutPerSec: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** The event loop's 99th percentile delay over the last interval, ms. */
  loopDelayMs: number;
}

export interface LiveTunnel {
  id: string;
  name: string;
  protocol: string;
  kind: string;
  url: string;
  createdAt: string;
  tokenId: string | null;
  /** The agent's address, when its edge reports one. */
  agentAddress: string | null;
  openStreams: number;
  totalStreams: number;
  bytesIn: number;
  bytesOut: number;
  requests: number;
  reqPerSec: number;
}

/** Everything one update carries besides the sample. */
export interface LiveState {
  version: string;
  startedAt: string;
  uptimeSeconds: number;
  requestsTotal: number;
  errors: Record<string, number>;
  /** Adapters' counters (pipe_*, tcp*, …) as /health shows them. */
  adapters: Record<string, number>;
  tunnels: LiveTunnel[];
  tunnelsTotal: number;
  /** What the edges carry now, item by item (pipes in flight, TCP-over-WebSocket sessions). */
  inFlight: InFlightItem[];
}

export interface LiveSource {
  registry: TunnelRegistry;
  metrics: ServerMetrics;
  version: string;
  /** Counters of the server's adapters (pipe, TCP access…). */
  adapterStats: () => Record<string, number>;
  /** The server's adapters' items in flight (pipes, TCP sessions). */
  inFlight?: () => InFlightItem[];
  now?: () => number;
}

const HISTORY_POINTS = Math.ceil(HISTORY_MS / SAMPLE_INTERVAL_MS);

async function sum(metric: { get(): Promise<{ values: { value: number }[] }> | { values: { value: number }[] } }) {
  const m = await metric.get();
  return m.values.reduce((s, v) => s + v.value, 0);
}

export class LiveView {
  readonly #src: LiveSource;
  readonly #now: () => number;
  readonly #startedAt: number;
  readonly #history: LiveSample[] = [];
  /** Open event streams, each with the check that its session still lives. */
  readonly #streams = new Map<ServerResponse, () => boolean>();
  readonly #prevTunnel = new Map<string, { bytesIn: number; bytesOut: number; requests: number }>();
  #prevRequests: number | undefined;
  #prevAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #loop: IntervalHistogram | undefined;
  #busy = false;
  #last: { sample: LiveSample; state: LiveState } | undefined;

  constructor(src: LiveSource) {
    this.#src = src;
    this.#now = src.now ?? Date.now;
    this.#startedAt = this.#now();
  }

  start(): void {
    if (this.#timer) return;
    this.#loop = monitorEventLoopDelay({ resolution: 20 });
    this.#loop.enable();
    this.#timer = setInterval(() => void this.tick(), SAMPLE_INTERVAL_MS);
    this.#timer.unref();
    void this.tick();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#loop?.disable();
    for (const res of this.#streams.keys()) res.end();
    this.#streams.clear();
  }

  get streamCount(): number {
    return this.#streams.size;
  }

  /** Serve one console's event stream: the history at once, then every sample. False when full. */
  subscribe(res: ServerResponse, alive: () => boolean): boolean {
    if (this.#streams.size >= MAX_EVENT_STREAMS) return false;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 2000\n\n`);
    res.write(event('history', { history: this.#history }));
    if (this.#last) res.write(event('tick', this.#last));
    this.#streams.set(res, alive);
    res.once('close', () => this.#streams.delete(res));
    return true;
  }

  /** Take one sample and push it (the timer calls this; tests may too). */
  async tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const update = await this.#sample();
      this.#last = update;
      this.#history.push(update.sample);
      if (this.#history.length > HISTORY_POINTS) this.#history.splice(0, this.#history.length - HISTORY_POINTS);
      const chunk = event('tick', update);
      for (const [res, alive] of this.#streams) {
        if (!alive()) {
          this.#streams.delete(res);
          res.end();
          continue;
        }
        // a console that does not read is skipped, never buffered for
        if (res.writableLength < SLOW_STREAM_BYTES) res.write(chunk);
      }
    } finally {
      this.#busy = false;
    }
  }

  async #sample(): Promise<{ sample: LiveSample; state: LiveState }> {
    const { registry, metrics } = this.#src;
    const now = this.#now();
    const seconds = this.#prevAt ? Math.max((now - this.#prevAt) / 1000, 0.001) : 1;
    const all = registry.list();
    const seen = new Map<string, { bytesIn: number; bytesOut: number; requests: number }>();
    let streams = 0;
    let dIn = 0;
    let dOut = 0;
    const rows: LiveTunnel[] = all.map((t) => {
      const s = t.stats();
      streams += s.openStreams;
      const prev = this.#prevTunnel.get(t.id);
      seen.set(t.id, { bytesIn: s.bytesIn, bytesOut: s.bytesOut, requests: s.requests });
      if (prev) {
        dIn += Math.max(0, s.bytesIn - prev.bytesIn);
        dOut += Math.max(0, s.bytesOut - prev.bytesOut);
      }
      return {
        id: t.id,
        name: t.name,
        protocol: t.protocol,
        kind: t.kind,
        url: t.url,
        createdAt: new Date(t.createdAt).toISOString(),
        tokenId: t.tokenId ?? null,
        agentAddress: t.agentAddress ?? null,
        openStreams: s.openStreams,
        totalStreams: s.totalStreams,
        bytesIn: s.bytesIn,
        bytesOut: s.bytesOut,
        requests: s.requests,
        reqPerSec: prev ? round(Math.max(0, s.requests - prev.requests) / seconds) : 0,
      };
    });
    this.#prevTunnel.clear();
    for (const [k, v] of seen) this.#prevTunnel.set(k, v);
    rows.sort((a, b) => b.openStreams - a.openStreams || b.reqPerSec - a.reqPerSec || a.name.localeCompare(b.name));

    const requestsTotal = await sum(metrics.requests);
    const reqPerSec =
      this.#prevRequests === undefined ? 0 : round(Math.max(0, requestsTotal - this.#prevRequests) / seconds);
    this.#prevRequests = requestsTotal;
    this.#prevAt = now;
    const errors: Record<string, number> = {};
    for (const v of (await metrics.errors.get()).values) {
      const code = String(v.labels['code'] ?? 'unknown');
      errors[code] = (errors[code] ?? 0) + v.value;
    }
    const mem = process.memoryUsage();
    const loopDelayMs = this.#loop ? round(this.#loop.percentile(99) / 1e6) : 0;
    this.#loop?.reset();
    const sample: LiveSample = {
      t: now,
      tunnels: all.length,
      agents: await sum(metrics.agents),
      streams,
      reqPerSec,
      bytesInPerSec: Math.round(dIn / seconds),
      bytesOutPerSec: Math.round(dOut / seconds),
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      loopDelayMs,
    };
    const state: LiveState = {
      version: this.#src.version,
      startedAt: new Date(this.#startedAt).toISOString(),
      uptimeSeconds: Math.round((now - this.#startedAt) / 1000),
      requestsTotal,
      errors,
      adapters: this.#src.adapterStats(),
      tunnels: rows.slice(0, MAX_LIVE_TUNNELS),
      tunnelsTotal: rows.length,
      inFlight: (this.#src.inFlight?.() ?? []).slice(0, MAX_LIVE_IN_FLIGHT),
    };
    return { sample, state };
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}
