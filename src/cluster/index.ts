/**
 * Cluster mode (docs/cluster.md): several burrow nodes as one server. startClusterNode() connects
 * to Redis and returns the registry the server runs on and the adapter that takes peer links.
 * app/compose.ts loads this module only with --cluster (and with it ioredis).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Gauge, type Registry } from 'prom-client';
import type { ServerAdapter } from '../server/adapter.js';
import { BurrowError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { ClusterRegistry } from './registry.js';
import { ClusterStore, describeRedisUrl } from './store.js';
import { defaultNodeId, keyPrefixOf, publicHostOf, type ClusterOptions } from './options.js';
import { PEER_PATH } from './peers.js';
import type { NewTunnelLimiter } from '../core/new-tunnel-limiter.js';
import { ClusterNewTunnelLimiter } from './new-tunnels.js';

export interface ClusterNode {
  readonly nodeId: string;
  /** Where the other nodes reach this one. */
  readonly advertiseUrl: string;
  /**
   * The host clients reach this node at directly (--node-public-host, else the advertise URL's
   * host): localtunnel handshake answers name it, so a client's pool sockets reach this node and
   * not whichever node the load balancer picks; public TCP addresses print it.
   */
  readonly publicHost: string;
  readonly registry: ClusterRegistry;
  /** Takes the links of other nodes (PEER_PATH on the server's own host). */
  readonly adapter: ServerAdapter;
  /**
   * SIGTERM's first step: tell the cluster, stop taking names, let peers stop opening streams here
   * and the streams they have finish (at most maxMs).
   */
  beginDrain(maxMs: number): Promise<void>;
  /** After the server closed: releases written, links and Redis closed. */
  shutdown(): Promise<void>;
  /** --new-tunnels-per-minute counted across the cluster (the server's limiter, ServerOptions.newTunnelLimiter). */
  newTunnelLimiter(perMinute: number): NewTunnelLimiter;
}

export async function startClusterNode(
  o: ClusterOptions & {
    window: number;
    maxTunnels: number;
    /**
     * A worker of `--workers` (several nodes share the main port): take the other nodes' links on
     * a port of its own on this address (0: any free port), advertised with --advertise-url's host.
     */
    peerListen?: { address: string; index: number } | undefined;
  },
): Promise<ClusterNode> {
  let advertiseUrl = o.advertiseUrl!.replace(/\/$/, '');
  const publicHost = publicHostOf(o, advertiseUrl);
  let nodeId = o.nodeId ?? defaultNodeId(advertiseUrl);
  let peerServer: http.Server | undefined;
  // the registry (and its links) exists only after the peer port is known: filled in below
  const links: { take?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void } = {};
  if (o.peerListen) {
    nodeId = `${nodeId}-w${o.peerListen.index}`;
    const s = http.createServer((_req, res) => res.writeHead(404).end());
    s.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (links.take && new URL(req.url ?? '/', 'http://x').pathname === PEER_PATH) links.take(req, socket, head);
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen({ port: 0, host: o.peerListen!.address, exclusive: true }, () => resolve());
    });
    peerServer = s;
    const u = new URL(advertiseUrl);
    u.port = String((s.address() as AddressInfo).port);
    advertiseUrl = u.origin;
  }
  const prefix = keyPrefixOf(o);
  const early = createLogger({ level: 'info' });
  let logger: () => Logger = () => early;
  let registry: ClusterRegistry;
  try {
    registry = await ClusterRegistry.open({
      nodeId,
      advertiseUrl,
      secret: o.secret!,
      window: o.window,
      maxTunnels: o.maxTunnels,
      redisLabel: describeRedisUrl(o.url),
      store: (hooks) =>
        ClusterStore.open({
          url: o.url,
          prefix,
          logger: () => logger(),
          onEvent: hooks.onEvent,
          onState: hooks.onState,
        }),
    });
  } catch (err) {
    peerServer?.close();
    throw err;
  }
  const refuse = (socket: Duplex) => (err: BurrowError) =>
    socket.end(`HTTP/1.1 ${err.status} ${err.code}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  links.take = (req, socket, head) => registry.peers.handleUpgrade(req, socket, head, refuse(socket));
  const adapter: ServerAdapter = {
    name: 'cluster',
    start(ctx) {
      registry.logger = ctx.logger;
      clusterMetrics(ctx.metrics.registry, registry);
      logger = () => ctx.logger;
      ctx.logger.info(
        { node: nodeId, advertise: advertiseUrl, redis: describeRedisUrl(o.url) },
        'cluster: node joined',
      );
    },
    handleUpgrade(req, socket, head, url) {
      if (url.pathname !== PEER_PATH) return false;
      links.take?.(req, socket, head);
      return true;
    },
    stats: () => ({ clusterPeerLinks: registry.peers.links, clusterInboundStreams: registry.peers.inbound }),
  };
  return {
    nodeId,
    advertiseUrl,
    publicHost,
    registry,
    adapter,
    beginDrain: (maxMs) => registry.beginDrain(maxMs),
    newTunnelLimiter: (perMinute) =>
      new ClusterNewTunnelLimiter({
        perMinute,
        store: () => registry.store,
        onLimited: (info) =>
          logger().warn(info, 'new tunnels refused: too many from this address within a minute (cluster-wide)'),
      }),
    async shutdown() {
      await registry.shutdown();
      peerServer?.close();
      peerServer?.closeAllConnections();
    },
  };
}

/** /metrics: this node's id, Redis' state, the nodes seen, peer links, names held on other nodes. */
function clusterMetrics(registers: Registry, registry: ClusterRegistry): void {
  const view = (): Record<string, unknown> => registry.describe().view;
  new Gauge({
    name: 'burrow_cluster_node_info',
    help: 'This node of the cluster (label node: its id); always 1',
    labelNames: ['node'],
    registers: [registers],
    collect() {
      this.set({ node: registry.nodeId }, 1);
    },
  });
  new Gauge({
    name: 'burrow_cluster_redis_up',
    help: "1 while the cluster's Redis is reachable, 0 while not (new names are refused then)",
    registers: [registers],
    collect() {
      this.set((view()['redis'] as { state: string }).state === 'up' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'burrow_cluster_nodes',
    help: 'Nodes in the cluster view (this one included)',
    registers: [registers],
    collect() {
      this.set((view()['nodes'] as unknown[]).length);
    },
  });
  new Gauge({
    name: 'burrow_cluster_peer_links',
    help: 'Open node-to-node links',
    registers: [registers],
    collect() {
      this.set(registry.peers.links);
    },
  });
  new Gauge({
    name: 'burrow_cluster_remote_tunnels',
    help: 'Tunnels other nodes hold that this node knows of (it forwards their visitors)',
    registers: [registers],
    collect() {
      this.set(registry.describe().view['remoteTunnels'] as number);
    },
  });
}

export { clusterProblems, type ClusterOptions } from './options.js';
