/**
 * TCP over WebSocket across a cluster's nodes (docs/cluster.md): `/tcp/<name>` of a `burrow tcp`
 * tunnel that another node holds is carried whole (the upgrade and then its bytes) to that node's
 * own server over the peer link, where the tunnel's access token is checked as for a local one.
 */
import type { ServerAdapter } from '../server/adapter.js';
import { BurrowError } from '../core/errors.js';
import { rejectUpgrade } from '../server/http/pages.js';
import { HOP_HEADER } from '../cluster/registry.js';
import type { ClusterNode } from '../cluster/index.js';

/** The per-name endpoint of the tcp-ws adapter (its default prefix). */
const TCP_PREFIX = '/tcp/';

export function clusterTcp(tcp: ServerAdapter, cluster: ClusterNode): ServerAdapter {
  const registry = cluster.registry;
  return {
    ...tcp,
    handleUpgrade(req, socket, head, url) {
      const inner = (): boolean => tcp.handleUpgrade?.(req, socket, head, url) ?? false;
      if (!url.pathname.startsWith(TCP_PREFIX) || req.headers[HOP_HEADER] !== undefined) return inner();
      let name: string;
      try {
        name = decodeURIComponent(url.pathname.slice(TCP_PREFIX.length)).toLowerCase();
      } catch {
        return inner();
      }
      const node = registry.remoteNodeOf(name);
      if (node === undefined) return inner();
      registry.forwardUpgrade(node, req, socket, head).then(
        (ok) => {
          if (!ok) rejectUpgrade(socket, new BurrowError('BURROW_ERR_AGENT_GONE', `node ${node} cannot be reached`));
        },
        (err: unknown) => rejectUpgrade(socket, err),
      );
      return true;
    },
  };
}
