/**
 * Cluster mode's options (`burrow server --cluster …`) and their checks. No Redis here: compose
 * validates these with the rest of the configuration before anything starts.
 */
import { hostname } from 'node:os';
import { parseRedisUrl } from './redis-url.js';
import { DEFAULT_KEY_PREFIX, MAX_NODE_ID_LENGTH, MIN_CLUSTER_SECRET_LENGTH } from './limits.js';

export interface ClusterOptions {
  /** Redis URL: redis://[:password@]host:port[/db], rediss:// for TLS, redis+sentinel://…, redis+cluster://… (redis-url.ts). */
  url: string;
  /** This node's id (default: host name and port, stable across restarts). */
  nodeId?: string | undefined;
  /** Where the other nodes reach this node (http(s)://host:port). */
  advertiseUrl?: string | undefined;
  /** Shared by every node, ≥ MIN_CLUSTER_SECRET_LENGTH characters. */
  secret?: string | undefined;
  /** Redis key prefix (several clusters, or test runs, on one Redis). */
  prefix?: string | undefined;
  /**
   * The host clients reach this node at directly, not through the load balancer (--node-public-host):
   * the `ip` of localtunnel handshake answers (the client's pool sockets) and the host of public TCP
   * addresses. Default: --advertise-url's host.
   */
  publicHost?: string | undefined;
  /** This process is worker <worker> of `--workers`: node id `<id>-w<worker>`, a peer port of its own. */
  worker?: number | undefined;
}

const NODE_ID_RE = new RegExp(`^[A-Za-z0-9._-]{1,${MAX_NODE_ID_LENGTH}}$`);

/** A host name or an IPv4/IPv6 address (no scheme, port or path). */
const PUBLIC_HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/;

/** Every problem of the cluster options, as configuration problems (empty: fine). */
export function clusterProblems(o: ClusterOptions): string[] {
  const problems: string[] = [];
  const target = parseRedisUrl(o.url);
  if ('problem' in target) problems.push(target.problem);
  if (o.secret === undefined || o.secret.length < MIN_CLUSTER_SECRET_LENGTH) {
    problems.push(
      `--cluster needs --cluster-secret (BURROW_CLUSTER_SECRET) of at least ${MIN_CLUSTER_SECRET_LENGTH} characters, the same on every node (e.g. openssl rand -hex 32)`,
    );
  }
  if (o.advertiseUrl === undefined) {
    problems.push(
      '--cluster needs --advertise-url (BURROW_ADVERTISE_URL): where the other nodes reach this node, e.g. http://10.0.0.5:8080',
    );
  } else if (!/^https?:\/\/[^/]+\/?$/.test(o.advertiseUrl)) {
    problems.push(`--advertise-url must be http(s)://host:port with no path (got "${o.advertiseUrl}")`);
  }
  if (o.nodeId !== undefined && !NODE_ID_RE.test(o.nodeId)) {
    problems.push(`--node-id must be 1-${MAX_NODE_ID_LENGTH} letters, digits, ".", "_" or "-" (got "${o.nodeId}")`);
  }
  if (o.publicHost !== undefined && !PUBLIC_HOST_RE.test(o.publicHost)) {
    problems.push(
      `--node-public-host must be a host name or IP address, without scheme or port, e.g. node1.example.com or 203.0.113.7 (got "${o.publicHost}")`,
    );
  }
  if (o.prefix !== undefined && !/^[A-Za-z0-9:._-]{1,64}$/.test(o.prefix)) {
    problems.push(`--cluster-prefix must be 1-64 letters, digits, ":", ".", "_" or "-" (got "${o.prefix}")`);
  }
  return problems;
}

/** The default node id: this host's name and the advertised port (stable across restarts). */
export function defaultNodeId(advertiseUrl: string): string {
  const u = new URL(advertiseUrl);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const host = hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, MAX_NODE_ID_LENGTH - port.length - 1);
  return `${host}-${port}`;
}

/** The host clients reach this node at directly: --node-public-host, else --advertise-url's host. */
export function publicHostOf(o: ClusterOptions, advertiseUrl: string): string {
  return o.publicHost ?? new URL(advertiseUrl).hostname.replace(/^\[(.*)\]$/, '$1');
}

export function keyPrefixOf(o: ClusterOptions): string {
  return o.prefix ?? DEFAULT_KEY_PREFIX;
}
