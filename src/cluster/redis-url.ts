/**
 * The `--cluster` URL: one Redis, a Sentinel-watched Redis, or a Redis Cluster (docs/cluster.md).
 *
 *   redis://[[user]:password@]host[:port][/db]                       one Redis (rediss:// for TLS)
 *   redis+sentinel://[[user]:password@]host:port[,host:port…]/master[/db]   Sentinel discovery
 *   redis+cluster://[[user]:password@]host:port[,host:port…]          Redis Cluster (seed nodes)
 *
 * `rediss+sentinel://` and `rediss+cluster://` use TLS to the Redis servers (and to the sentinels).
 * The password is the Redis servers'; a Sentinel's own password is `?sentinel_password=…`.
 * Parsing only: no Redis here (options are checked before anything starts).
 */

export type RedisTarget =
  | { kind: 'single'; url: string }
  | {
      kind: 'sentinel' | 'cluster';
      tls: boolean;
      hosts: { host: string; port: number }[];
      username: string | undefined;
      password: string | undefined;
      /** Sentinel: the master's name. */
      master: string | undefined;
      /** Sentinel: the database index. */
      db: number | undefined;
      sentinelPassword: string | undefined;
    };

/** What --cluster accepts, for error messages. */
export const REDIS_URL_FORMS =
  'redis://[:password@]host:6379[/db] (rediss:// for TLS), redis+sentinel://[:password@]host:26379[,host:26379…]/<master>[/db], or redis+cluster://[:password@]host:7000[,host:7001…] (rediss+sentinel://, rediss+cluster:// for TLS)';

const FORM = /^(rediss?)(?:\+(sentinel|cluster))?:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)(\/[^?#]*)?(\?[^#]*)?$/;
const DEFAULT_PORT = { sentinel: 26379, cluster: 6379 } as const;

/** The target of a --cluster URL, or a problem that says how to write it. */
export function parseRedisUrl(url: string): RedisTarget | { problem: string } {
  const m = FORM.exec(url);
  if (!m) return { problem: `--cluster must be a Redis URL: ${REDIS_URL_FORMS}` };
  const [, scheme, mode, user, pass, hostList, path, query] = m as unknown as [
    string,
    string,
    'sentinel' | 'cluster' | undefined,
    string | undefined,
    string | undefined,
    string,
    string | undefined,
    string | undefined,
  ];
  if (!mode) {
    if (hostList.includes(',')) {
      return {
        problem: `--cluster: several hosts need redis+sentinel:// or redis+cluster:// (got ${scheme}://…,…): ${REDIS_URL_FORMS}`,
      };
    }
    return { kind: 'single', url };
  }
  const hosts: { host: string; port: number }[] = [];
  for (const part of hostList.split(',')) {
    const hm = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(part);
    const port = hm?.[2] !== undefined ? Number(hm[2]) : DEFAULT_PORT[mode];
    if (!hm || port < 1 || port > 65535) {
      return { problem: `--cluster: "${part}" is not host:port (in ${scheme}+${mode}://…): ${REDIS_URL_FORMS}` };
    }
    hosts.push({ host: hm[1]!.replace(/^\[(.*)\]$/, '$1'), port });
  }
  const segments = (path ?? '').split('/').filter((s) => s !== '');
  let master: string | undefined;
  let db: number | undefined;
  if (mode === 'sentinel') {
    master = segments[0] !== undefined ? decodeURIComponent(segments[0]) : undefined;
    if (!master) {
      return {
        problem: `--cluster: a Sentinel URL names the master after the hosts: ${scheme}+sentinel://host:26379/mymaster`,
      };
    }
    if (segments[1] !== undefined) {
      if (!/^\d{1,2}$/.test(segments[1]))
        return { problem: `--cluster: the database index must be a number (got "${segments[1]}")` };
      db = Number(segments[1]);
    }
    if (segments.length > 2) return { problem: `--cluster: a Sentinel URL's path is /<master>[/db] (got "${path}")` };
  } else if (segments.length > 0) {
    return { problem: `--cluster: a Redis Cluster URL has no path (Redis Cluster has only database 0; got "${path}")` };
  }
  const params = new URLSearchParams(query ?? '');
  const sentinelPassword = params.get('sentinel_password') ?? undefined;
  for (const key of params.keys()) {
    if (key !== 'sentinel_password' || mode !== 'sentinel') {
      return { problem: `--cluster: unknown URL parameter "${key}" (only sentinel_password, for redis+sentinel://)` };
    }
  }
  return {
    kind: mode,
    tls: scheme === 'rediss',
    hosts,
    username: user ? decodeURIComponent(user) : undefined,
    password: pass !== undefined && pass !== '' ? decodeURIComponent(pass) : undefined,
    master,
    db,
    sentinelPassword,
  };
}

/** Where Redis is, for logs, errors and /api/status: never a password. */
export function describeRedisUrl(url: string): string {
  const t = parseRedisUrl(url);
  if ('problem' in t) return 'redis (unparseable URL)';
  if (t.kind === 'single') {
    try {
      const u = new URL(url);
      return `${u.protocol}//${u.hostname}:${u.port || 6379}`;
    } catch {
      return 'redis (unparseable URL)';
    }
  }
  const hosts = t.hosts.map((h) => `${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`).join(',');
  return `${t.tls ? 'rediss' : 'redis'}+${t.kind}://${hosts}${t.master ? `/${t.master}` : ''}`;
}
