/**
 * --new-tunnels-per-minute across a cluster's nodes: each node keeps its own exact count (the core
 * limiter) and also counts every new tunnel in Redis per client address (a sorted set of the last
 * minute's tunnels, one Lua script). The core limiter's take() is synchronous, so a node refuses by
 * the cluster's count as Redis last told it for that address: a client spreading its tunnels over
 * N nodes gets at most about one more per node than the limit within a minute, never N times it.
 */
import { randomUUID } from 'node:crypto';
import { clientKey } from '../core/client-key.js';
import { RateLimitedError } from '../core/errors.js';
import { NEW_TUNNELS_MAX_TRACKED, NEW_TUNNELS_WINDOW_MS } from '../core/limits.js';
import { NewTunnelLimiter, type NewTunnelLimiterOptions, type NewTunnelTicket } from '../core/new-tunnel-limiter.js';
import type { ClusterStore } from './store.js';

export class ClusterNewTunnelLimiter extends NewTunnelLimiter {
  readonly #store: () => ClusterStore;
  /** Per client key: the cluster's count as Redis last said, and when its oldest tunnel leaves the window. */
  readonly #cluster = new Map<string, { count: number; freeAt: number }>();

  constructor(options: NewTunnelLimiterOptions & { store: () => ClusterStore }) {
    super(options);
    this.#store = options.store;
  }

  override take(address: string, options: { held?: boolean; edge?: string } = {}): NewTunnelTicket {
    const key = clientKey(address);
    const now = Date.now();
    const seen = this.#cluster.get(key);
    if (seen && seen.freeAt > now && seen.count >= this.perMinute) {
      const wait = Math.max(1, Math.ceil((seen.freeAt - now) / 1000));
      throw new RateLimitedError(
        wait,
        `this address opened ${this.perMinute} new tunnels within a minute across the cluster's nodes; try again in ${wait} s`,
      );
    }
    const ticket = super.take(address, options);
    const store = this.#store();
    if (!store.up) return ticket;
    const member = randomUUID();
    void store.countNewTunnel(key, member, now, NEW_TUNNELS_WINDOW_MS).then(
      (r) => {
        if (this.#cluster.size >= NEW_TUNNELS_MAX_TRACKED) this.#cluster.clear();
        this.#cluster.set(key, { count: r.count, freeAt: r.oldest + NEW_TUNNELS_WINDOW_MS });
      },
      () => {},
    );
    return {
      cancel: () => {
        ticket.cancel();
        void store.uncountNewTunnel(key, member).catch(() => {});
      },
      release: () => ticket.release(),
    };
  }
}
