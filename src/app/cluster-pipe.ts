/**
 * The pipe across a cluster's nodes (docs/cluster.md): a sender and its receivers may reach
 * different nodes, so each transfer request under /api/v1/pipe/<path> asks Redis where that path's
 * participants meet (the node of the first arrival) and is served there: on this node, or carried
 * whole to that node over the peer link. Pages, preflights and the bare paths of --pipe-host and
 * --pipe-port stay on the node they reach.
 */
import type { ServerAdapter } from '../server/adapter.js';
import { isReservedPath } from '../adapters/pipe/reserved.js';
import { isPrefixed, PIPE_API_PREFIX } from '../wire/pipe/target.js';
import { HOP_HEADER } from '../cluster/registry.js';
import type { ClusterNode } from '../cluster/index.js';

/** The methods a pipe transfer's participants use (sender PUT/POST, receivers GET). */
const TRANSFER_METHODS = new Set(['PUT', 'POST', 'GET']);

export function clusterPipe(pipe: ServerAdapter, cluster: ClusterNode): ServerAdapter {
  const registry = cluster.registry;
  return {
    ...pipe,
    name: pipe.name,
    handleRequest(req, res, url) {
      if (!isPrefixed(url.pathname) || req.headers[HOP_HEADER] !== undefined) return pipe.handleRequest!(req, res, url);
      const path = url.pathname.slice(PIPE_API_PREFIX.length) || '/';
      if (!TRANSFER_METHODS.has(req.method ?? '') || path === '/health' || isReservedPath(path)) {
        return pipe.handleRequest!(req, res, url);
      }
      const local = (): void => void pipe.handleRequest!(req, res, url);
      registry.pipeNode(path).then(async (node) => {
        if (node === registry.nodeId || !(await registry.forwardHttp(node, path, req, res))) local();
      }, local);
      return true;
    },
  };
}
