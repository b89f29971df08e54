/** The server's own API routes: status, health, readiness, metrics. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BurrowError } from '../core/errors.js';
import { sendJson } from '../core/http-json.js';
import type { ServerMetrics } from './metrics.js';
import { sendError } from './http/pages.js';
import type { TunnelRegistry } from './registry.js';

export interface ApiDeps {
  registry: TunnelRegistry;
  metrics: ServerMetrics;
  version: string;
  startedAt: number;
  shuttingDown: () => boolean;
  adapterStats: () => Record<string, number>;
  agents: () => number;
}

const TUNNEL_STATUS_RE = /^\/api\/tunnels\/([^/]{1,256})\/status$/;

/** Returns true when the request was one of the API routes. */
export function handleApi(req: IncomingMessage, res: ServerResponse, url: URL, deps: ApiDeps): boolean {
  const p = url.pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const head = req.method === 'HEAD';
  const uptime = Math.round((Date.now() - deps.startedAt) / 1000);
  if (p === '/api/status') {
    sendJson(
      res,
      200,
      {
        tunnels: deps.registry.size,
        agents: deps.agents(),
        mem: process.memoryUsage(),
        uptime,
        version: deps.version,
        ...clusterOf(deps.registry),
      },
      { head },
    );
    return true;
  }
  const m = TUNNEL_STATUS_RE.exec(p);
  if (m) {
    const key = decodeURIComponent(m[1]!);
    const t = deps.registry.get(key) ?? deps.registry.getById(key);
    if (!t) {
      sendError(req, res, new BurrowError('BURROW_ERR_TUNNEL_NOT_FOUND', `"${key}"`));
      return true;
    }
    const s = t.stats();
    sendJson(
      res,
      200,
      {
        id: t.id,
        name: t.name,
        url: t.url,
        protocol: t.protocol,
        kind: t.kind,
        createdAt: new Date(t.createdAt).toISOString(),
        ...s,
        connected_sockets: s.connectedSockets,
      },
      { head },
    );
    return true;
  }
  if (p === '/health') {
    // counted as streams open and close: a health check costs the same with 10,000 tunnels as with one
    const streams = deps.metrics.openStreams;
    sendJson(
      res,
      deps.shuttingDown() ? 503 : 200,
      {
        status: deps.shuttingDown() ? 'shutting_down' : 'healthy',
        version: deps.version,
        uptime,
        connections: { tunnels: deps.registry.size, agents: deps.agents(), streams, ...deps.adapterStats() },
        timestamp: new Date().toISOString(),
        ...clusterOf(deps.registry),
      },
      { head },
    );
    return true;
  }
  if (p === '/healthz') {
    sendJson(res, 200, { status: 'ok' }, { head });
    return true;
  }
  if (p === '/readyz') {
    const shared = deps.registry.describe?.();
    if (deps.shuttingDown()) sendJson(res, 503, { status: 'shutting_down' }, { head });
    else if (shared && !shared.ready) sendJson(res, 503, { status: 'not_ready', reason: shared.reason }, { head });
    else sendJson(res, 200, { status: 'ready' }, { head });
    return true;
  }
  if (p === '/metrics') {
    deps.metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': deps.metrics.registry.contentType, 'Cache-Control': 'no-store' });
        res.end(head ? undefined : text);
      },
      (err: unknown) => sendError(req, res, err),
    );
    return true;
  }
  return false;
}

/** A shared registry's view (node id, store state, nodes) for /api/status and /health; nothing for one process. */
function clusterOf(registry: TunnelRegistry): { cluster?: Record<string, unknown> } {
  const d = registry.describe?.();
  return d ? { cluster: { ready: d.ready, ...d.view } } : {};
}
