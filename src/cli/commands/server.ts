/** `burrow server`: flags and env → composeServer → listen; SIGINT/SIGTERM drain and exit 0. */
import type { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import type { LevelWithSilent } from 'pino';
import type { ServerOptions } from '../../server/config.js';
import type { ComposeOptions } from '../../app/compose.js';
import {
  DEFAULT_MAX_STREAMS_PER_TUNNEL,
  DEFAULT_MAX_TUNNELS,
  DEFAULT_NEW_TUNNELS_PER_MINUTE,
  DEFAULT_PORT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RESUME_GRACE_MS,
} from '../../core/limits.js';
import { DEFAULT_STREAM_WINDOW } from '../../wire/mux/limits.js';
import { DEFAULT_ACME_HTTP_PORT } from '../../server/tls/limits.js';
import { createLogger, defaultLogFormat, LOG_FORMATS, type LogFormat } from '../../core/logger.js';
import { flag } from '../env.js';
import { usageError } from '../errors.js';
import { runCommand, type StopRequests } from '../run.js';
import { collect, parseDurationMs, parseIntArg } from '../util.js';
import { VERSION } from '../../version.js';
import { keepHeapHeadroom } from '../../core/heap-headroom.js';
import { releaseStartupMemory } from '../startup-memory.js';
import { MAX_WORKERS, primaryStop, superviseWorkers, workerCount, workerIndex } from '../../app/workers.js';

export interface ServerFlags {
  port?: number;
  address?: string;
  domain?: string[];
  secure?: boolean;
  publicUrl?: string;
  trustProxy?: boolean;
  landing?: string;
  maxTunnels?: number;
  newTunnelsPerMinute?: number;
  maxStreamsPerTunnel?: number;
  maxConnectionsPerIp?: number;
  headTimeout?: number;
  requestTimeout?: number;
  resumeGrace?: number;
  window?: number;
  logLevel?: string;
  logFormat?: LogFormat;
  accessLog?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  acme?: boolean;
  acmeEmail?: string;
  acmeDirectory?: string;
  acmeStaging?: boolean;
  acmeDir?: string;
  acmeDnsHook?: string;
  httpPort?: number;
  db?: string;
  auth?: 'none' | 'token';
  adminToken?: string;
  pipe?: boolean;
  pipeHost?: string[];
  pipePort?: number;
  tcpTarget?: string[];
  tcpPorts?: string;
  tcpPublicHost?: string;
  tcpResumeGrace?: number;
  tcpResumeBuffer?: number;
  registrationKey?: string;
  wsPath?: string;
  tunelyPath?: string;
  tunnelPort?: number;
  maxSockets?: number;
  cluster?: string;
  nodeId?: string;
  advertiseUrl?: string;
  clusterSecret?: string;
  clusterPrefix?: string;
  nodePublicHost?: string;
  workers?: number | 'auto';
}

/** Flags (environment already applied, src/cli/env.ts) for the whole server: core + accounts + adapters. */
export function composeOptionsFromFlags(f: ServerFlags): ComposeOptions {
  const o: ComposeOptions = serverOptionsFromFlags(f);
  if (f.db) o.db = f.db;
  if (f.auth) o.auth = f.auth;
  if (f.adminToken) o.adminToken = f.adminToken;
  if (f.pipe === false) o.pipe = false;
  if (f.pipeHost?.length) o.pipeHosts = f.pipeHost;
  if (f.pipePort !== undefined) o.pipePort = f.pipePort;
  if (f.tcpTarget?.length) o.tcpTargets = f.tcpTarget;
  if (f.tcpPorts) o.tcpPorts = f.tcpPorts;
  if (f.tcpPublicHost) o.tcpPublicHost = f.tcpPublicHost;
  if (f.tcpResumeGrace !== undefined) o.tcpResumeGraceMs = f.tcpResumeGrace;
  if (f.tcpResumeBuffer !== undefined) o.tcpResumeBufferBytes = f.tcpResumeBuffer;
  if (f.registrationKey !== undefined) o.registrationKey = f.registrationKey;
  if (f.wsPath) o.tiflisPath = f.wsPath;
  if (f.tunelyPath) o.tunelyPath = f.tunelyPath;
  if (f.tunnelPort !== undefined) o.tunnelPort = f.tunnelPort;
  if (f.maxSockets !== undefined) o.maxSockets = f.maxSockets;
  if (f.cluster) {
    o.cluster = {
      url: f.cluster,
      nodeId: f.nodeId,
      advertiseUrl: f.advertiseUrl,
      secret: f.clusterSecret,
      prefix: f.clusterPrefix,
      publicHost: f.nodePublicHost,
    };
  } else if (f.nodeId ?? f.advertiseUrl ?? f.clusterSecret ?? f.clusterPrefix ?? f.nodePublicHost) {
    throw usageError(
      '--node-id, --advertise-url, --node-public-host, --cluster-secret and --cluster-prefix need --cluster',
      'Add --cluster redis://host:6379 (BURROW_CLUSTER) to run this server as a node of a cluster, or drop these flags.',
    );
  }
  return o;
}

/** The core server's flags → ServerOptions (TLS files are read here: a bad path is a usage error). */
export function serverOptionsFromFlags(f: ServerFlags): ServerOptions {
  const o: ServerOptions = { port: f.port ?? DEFAULT_PORT };
  if (f.address) o.address = f.address;
  if (f.domain?.length) o.domains = f.domain;
  if (f.secure !== undefined) o.secure = f.secure;
  if (f.publicUrl) o.publicUrl = f.publicUrl;
  if (f.trustProxy !== undefined) o.trustProxy = f.trustProxy;
  if (f.landing) o.landing = f.landing;
  if (f.maxTunnels !== undefined) o.maxTunnels = f.maxTunnels;
  if (f.newTunnelsPerMinute !== undefined) o.newTunnelsPerMinute = f.newTunnelsPerMinute;
  if (f.maxStreamsPerTunnel !== undefined) o.maxStreamsPerTunnel = f.maxStreamsPerTunnel;
  if (f.maxConnectionsPerIp !== undefined) o.maxConnectionsPerIp = f.maxConnectionsPerIp;
  if (f.headTimeout !== undefined) o.headTimeoutMs = f.headTimeout;
  if (f.requestTimeout !== undefined) o.requestTimeoutMs = f.requestTimeout;
  if (f.resumeGrace !== undefined) o.resumeGraceMs = f.resumeGrace;
  if (f.window !== undefined) o.window = f.window;
  if (f.logLevel) o.logLevel = f.logLevel as LevelWithSilent;
  if (f.tlsCert || f.tlsKey) {
    if (!f.tlsCert || !f.tlsKey)
      throw usageError('--tls-cert and --tls-key go together', 'Pass both PEM files (or neither, behind a TLS proxy).');
    o.tls = { cert: readPem('--tls-cert', f.tlsCert), key: readPem('--tls-key', f.tlsKey) };
    if (f.httpPort !== undefined && !f.acme) o.tls.httpPort = f.httpPort;
  }
  const acmeOnly =
    f.acmeEmail ?? f.acmeDirectory ?? f.acmeDir ?? f.acmeDnsHook ?? (f.acmeStaging ? '--acme-staging' : undefined);
  if (!f.acme && acmeOnly !== undefined) {
    throw usageError(
      '--acme-email, --acme-directory, --acme-staging, --acme-dir and --acme-dns-hook need --acme',
      'Add --acme (BURROW_ACME=1) to obtain certificates automatically, or drop these flags.',
    );
  }
  if (f.httpPort !== undefined && !f.acme && !f.tlsCert) {
    throw usageError(
      '--http-port serves plain HTTP beside HTTPS: it needs --acme or --tls-cert/--tls-key',
      'Add --acme or --tls-cert/--tls-key (HTTPS on --port), or drop --http-port (without TLS, --port is plain HTTP).',
    );
  }
  if (f.acme) {
    // validated with the rest of the configuration (src/server/tls/options.ts): every problem at once
    o.acme = { email: f.acmeEmail ?? '' };
    if (f.acmeDirectory) o.acme.directoryUrl = f.acmeDirectory;
    if (f.acmeStaging) o.acme.staging = true;
    if (f.acmeDir) o.acme.dir = f.acmeDir;
    if (f.acmeDnsHook !== undefined) o.acme.dnsHook = f.acmeDnsHook;
    if (f.httpPort !== undefined) o.acme.httpPort = f.httpPort;
  }
  return o;
}

/** A PEM file named by a flag; one that cannot be read is a usage error naming the flag and path. */
function readPem(flagName: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a folder' : e.message;
    throw usageError(`cannot read ${flagName} ${path}: ${why}`, `Give ${flagName} the path of a PEM file.`);
  }
}

/** `--tcp-target` values, repeatable; BURROW_TCP_TARGETS holds several, `;`-separated. */
function tcpTargets(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(';')
      .map((x) => x.trim())
      .filter(Boolean),
  ];
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Add the core server flags to a command (adapters add theirs next to these). */
export function addServerFlags(cmd: Command): Command {
  const add = (o: Option): void => void cmd.addOption(o);
  add(
    flag('-p, --port <port>', 'port to listen on (0 = any free port)', {
      env: 'BURROW_PORT',
      aliases: ['PORT'],
      parse: parseIntArg(0, 65535),
      default: DEFAULT_PORT,
    }),
  );
  add(
    flag('-a, --address <address>', 'address to bind (default: all interfaces, 0.0.0.0)', {
      env: 'BURROW_ADDRESS',
      aliases: ['HOST'],
    }),
  );
  add(
    flag('-d, --domain <domain>', 'tunnel domain, repeatable: tunnels are <name>.<domain> (default: localhost)', {
      env: 'BURROW_DOMAIN',
      parse: collect,
    }),
  );
  add(flag('--secure', 'tunnel URLs use https (TLS ends at a proxy in front)', { env: 'BURROW_SECURE' }));
  add(
    flag('--public-url <url>', "the server's public URL, http(s):// or ws(s)://", {
      env: 'BURROW_PUBLIC_URL',
      aliases: ['PUBLIC_BASE_URL'],
    }),
  );
  add(
    flag('--trust-proxy', 'honour X-Forwarded-* from the peer (behind your own proxy only)', {
      env: 'BURROW_TRUST_PROXY',
      aliases: ['TRUST_PROXY'],
    }),
  );
  add(flag('--landing <url>', 'redirect / on the server host to this URL', { env: 'BURROW_LANDING' }));
  add(
    flag('--max-tunnels <n>', 'most live tunnels', {
      env: 'BURROW_MAX_TUNNELS',
      parse: parseIntArg(1, 10_000_000),
      defaultDescription: String(DEFAULT_MAX_TUNNELS),
    }),
  );
  add(
    flag('--new-tunnels-per-minute <n>', 'new tunnels one client address may open per minute, all edges together', {
      env: 'BURROW_NEW_TUNNELS_PER_MINUTE',
      parse: parseIntArg(1, 1_000_000),
      defaultDescription: String(DEFAULT_NEW_TUNNELS_PER_MINUTE),
    }),
  );
  add(
    flag('--max-streams-per-tunnel <n>', 'most open connections per tunnel', {
      env: 'BURROW_MAX_STREAMS_PER_TUNNEL',
      parse: parseIntArg(1, 1_000_000),
      defaultDescription: String(DEFAULT_MAX_STREAMS_PER_TUNNEL),
    }),
  );
  add(
    flag(
      '--max-connections-per-ip <n>',
      'most open visitor connections per client address, IPv6 per /64; 0 = no cap (not applied with --trust-proxy)',
      { env: 'BURROW_MAX_CONNECTIONS_PER_IP', parse: parseIntArg(0, 10_000_000), defaultDescription: '256' },
    ),
  );
  add(
    flag('--head-timeout <duration>', 'a request head must be whole this soon after its first byte, else 408', {
      env: 'BURROW_HEAD_TIMEOUT',
      parse: parseDurationMs,
      defaultDescription: '30s',
    }),
  );
  add(
    flag('--request-timeout <duration>', "time to the local service's response head before 504", {
      env: 'BURROW_REQUEST_TIMEOUT',
      parse: parseDurationMs,
      defaultDescription: `${DEFAULT_REQUEST_TIMEOUT_MS / 1000}s`,
    }),
  );
  add(
    flag('--resume-grace <duration>', 'how long a dropped tunnel client keeps its name', {
      env: 'BURROW_RESUME_GRACE',
      parse: parseDurationMs,
      defaultDescription: `${DEFAULT_RESUME_GRACE_MS / 1000}s`,
    }),
  );
  add(
    flag('--window <bytes>', 'per-stream flow-control window', {
      env: 'BURROW_WINDOW',
      parse: parseIntArg(65536, 256 * 1024 * 1024),
      defaultDescription: String(DEFAULT_STREAM_WINDOW),
    }),
  );
  add(
    flag('--log-level <level>', 'log level', {
      env: 'BURROW_LOG_LEVEL',
      aliases: ['LOG_LEVEL'],
      choices: LOG_LEVELS,
      defaultDescription: 'info',
    }),
  );
  add(
    flag('--log-format <format>', 'log lines for people (pretty) or for machines (json)', {
      env: 'BURROW_LOG_FORMAT',
      choices: LOG_FORMATS,
      defaultDescription: 'pretty on a terminal, else json',
    }),
  );
  add(
    flag('--access-log', 'one log line per visitor request: method, host, path, status, bytes, ms', {
      env: 'BURROW_ACCESS_LOG',
    }),
  );
  add(flag('--tls-cert <file>', 'serve HTTPS directly with this PEM certificate', { env: 'BURROW_TLS_CERT' }));
  add(flag('--tls-key <file>', 'PEM private key for --tls-cert', { env: 'BURROW_TLS_KEY' }));
  add(
    flag('--acme', 'serve HTTPS with certificates obtained and renewed automatically (ACME, HTTP-01)', {
      env: 'BURROW_ACME',
    }),
  );
  add(
    flag('--acme-email <email>', "the ACME account's contact address (needed with --acme)", {
      env: 'BURROW_ACME_EMAIL',
    }),
  );
  add(
    flag('--acme-directory <url>', 'ACME directory URL', {
      env: 'BURROW_ACME_DIRECTORY',
      defaultDescription: "Let's Encrypt production",
    }),
  );
  add(
    flag('--acme-staging', "use Let's Encrypt staging (untrusted certificates, for trying)", {
      env: 'BURROW_ACME_STAGING',
    }),
  );
  add(
    flag('--acme-dir <dir>', 'keep the ACME account key and certificates in this folder instead of the database', {
      env: 'BURROW_ACME_DIR',
      defaultDescription: 'the database',
    }),
  );
  add(
    flag(
      '--acme-dns-hook <cmd>',
      'with --acme: a wildcard *.<domain> certificate through DNS-01; CMD is run as `CMD set|clear RECORD VALUE`',
      { env: 'BURROW_ACME_DNS_HOOK' },
    ),
  );
  add(
    flag('--http-port <port>', 'with TLS on: plain HTTP port redirecting to HTTPS (and ACME challenges)', {
      env: 'BURROW_HTTP_PORT',
      parse: parseIntArg(0, 65535),
      defaultDescription: `${DEFAULT_ACME_HTTP_PORT} with --acme; off with --tls-cert`,
    }),
  );
  add(
    flag('--db <url>', 'database: sqlite:/path or postgres://…', {
      env: 'BURROW_DB',
      defaultDescription: 'sqlite ./data/burrow.db',
    }),
  );
  add(
    flag('--auth <mode>', 'none: anyone may open tunnels; token: tunnel clients need a token', {
      env: 'BURROW_AUTH',
      choices: ['none', 'token'],
      defaultDescription: 'none',
    }),
  );
  add(
    flag('--admin-token <token>', 'enable the admin API /api/admin for this bearer token, ≥ 16 chars', {
      env: 'BURROW_ADMIN_TOKEN',
    }),
  );
  add(flag('--no-pipe', 'do not serve the pipe', { env: 'BURROW_NO_PIPE' }));
  add(
    flag('--pipe-host <host>', 'host where bare /<path> is the pipe, repeatable', {
      env: 'BURROW_PIPE_HOST',
      parse: collect,
    }),
  );
  add(
    flag('--pipe-port <port>', 'also serve the pipe alone on this port', {
      env: 'BURROW_PIPE_PORT',
      parse: parseIntArg(0, 65535),
    }),
  );
  add(
    flag(
      '--tcp-target <spec>',
      'TCP target for WebSocket access NAME=HOST:PORT[,token=T], repeatable (in the variable: ;-separated)',
      {
        env: 'BURROW_TCP_TARGETS',
        parse: tcpTargets,
      },
    ),
  );
  add(
    flag('--tcp-ports <range>', 'public ports for `burrow tcp` tunnels, e.g. 20000-20999 (default: none)', {
      env: 'BURROW_TCP_PORTS',
    }),
  );
  add(flag('--tcp-public-host <host>', 'host printed in tcp://host:port addresses', { env: 'BURROW_TCP_PUBLIC_HOST' }));
  add(
    flag(
      '--tcp-resume-grace <duration>',
      'TCP WebSocket access: how long a dropped singleton session waits for its client',
      {
        env: 'BURROW_TCP_RESUME_GRACE',
        parse: parseDurationMs,
        defaultDescription: '120s',
      },
    ),
  );
  add(
    flag('--tcp-resume-buffer <bytes>', 'TCP WebSocket access: bytes buffered from the target while detached', {
      env: 'BURROW_TCP_RESUME_BUFFER',
      parse: parseIntArg(0, 1024 * 1024 * 1024),
      defaultDescription: '8388608',
    }),
  );
  add(
    flag('--registration-key <key>', 'tiflis workstation key, ≥ 32 chars; enables /ws', {
      env: 'BURROW_REGISTRATION_KEY',
      aliases: ['TUNNEL_REGISTRATION_API_KEY'],
    }),
  );
  add(
    flag('--ws-path <path>', 'tiflis WebSocket path', {
      env: 'BURROW_WS_PATH',
      aliases: ['WS_PATH'],
      defaultDescription: '/ws',
    }),
  );
  add(
    flag('--tunely-path <path>', 'tunely agent WebSocket path', {
      env: 'BURROW_TUNELY_PATH',
      defaultDescription: '/ws/tunnel',
    }),
  );
  add(
    flag('--tunnel-port <port>', 'localtunnel/pipenet: one shared pool port (default: a port per tunnel)', {
      env: 'BURROW_TUNNEL_PORT',
      parse: parseIntArg(0, 65535),
    }),
  );
  add(
    flag('--max-sockets <n>', 'localtunnel/pipenet pool size per tunnel', {
      env: 'BURROW_MAX_SOCKETS',
      parse: parseIntArg(1, 1000),
      defaultDescription: '10',
    }),
  );
  add(
    flag('--cluster <redis-url>', 'run as one node of a cluster sharing this Redis (docs/cluster.md)', {
      env: 'BURROW_CLUSTER',
    }),
  );
  add(
    flag('--node-id <id>', "this node's id in the cluster", {
      env: 'BURROW_NODE_ID',
      defaultDescription: 'host name and advertised port',
    }),
  );
  add(
    flag('--advertise-url <url>', 'where the other nodes reach this node, http(s)://host:port (with --cluster)', {
      env: 'BURROW_ADVERTISE_URL',
    }),
  );
  add(
    flag(
      '--node-public-host <host>',
      'the host clients reach this node at directly: localtunnel pool sockets, public TCP ports (with --cluster)',
      { env: 'BURROW_NODE_PUBLIC_HOST', defaultDescription: "--advertise-url's host" },
    ),
  );
  add(
    flag('--cluster-secret <secret>', 'shared by every node, ≥ 32 chars: nodes prove it to each other', {
      env: 'BURROW_CLUSTER_SECRET',
    }),
  );
  add(
    flag('--cluster-prefix <prefix>', 'Redis key prefix (several clusters on one Redis)', {
      env: 'BURROW_CLUSTER_PREFIX',
      defaultDescription: 'burrow:',
    }),
  );
  add(
    flag('--workers <n>', 'run n node processes of the cluster on this port (auto: one per core; needs --cluster)', {
      env: 'BURROW_WORKERS',
      parse: parseWorkers,
      defaultDescription: '1',
    }),
  );
  return cmd;
}

export function registerServerCommand(program: Command): void {
  const cmd = program
    .command('server')
    .description('run a burrow server (one port serves tunnels, the API and every adapter)');
  addServerFlags(cmd);
  cmd.action(async (flags: ServerFlags) => runCommand(cmd, { command: 'server' }, (stop) => runServer(flags, stop)));
}

/** --workers: `auto` or a count from 1 to MAX_WORKERS. */
function parseWorkers(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  return parseIntArg(1, MAX_WORKERS)(value);
}

async function runServer(flags: ServerFlags, stop: StopRequests): Promise<number> {
  const options = composeOptionsFromFlags(flags);
  const logger = createLogger({
    level: options.logLevel ?? 'info',
    format: flags.logFormat ?? defaultLogFormat(),
  });
  options.logger = logger;
  const workers = flags.workers === undefined ? 1 : workerCount(flags.workers);
  if (workers > 1 && !options.cluster) {
    throw usageError(
      '--workers needs --cluster: the workers are nodes of a cluster',
      'Add --cluster redis://host:6379, --cluster-secret and --advertise-url (docs/cluster.md), or drop --workers.',
    );
  }
  const worker = workers > 1 ? workerIndex() : undefined;
  if (workers > 1 && worker === undefined) {
    // the primary: every problem of the configuration now, then the workers
    const { validateComposeOptions } = await import('../../app/compose-config.js');
    const { serverOptionsOnly } = await import('../../app/compose.js');
    validateComposeOptions(options, serverOptionsOnly(options));
    process.stderr.write(`burrow ${VERSION}: ${workers} workers (cluster nodes) on port ${options.port}\n`);
    return superviseWorkers(workers, logger, stop.requested);
  }
  if (worker !== undefined && options.cluster) options.cluster.worker = worker;
  const stopped = worker === undefined ? stop.requested : Promise.race([stop.requested, primaryStop()]);
  if (flags.accessLog) {
    options.onResponse = (r) =>
      logger.info(
        {
          access: {
            method: r.method,
            host: r.host,
            path: r.path,
            status: r.status,
            bytes: r.bytes,
            ms: r.durationMs,
            client: r.remoteAddress,
            tunnel: r.tunnel,
          },
        },
        `${r.method} ${r.host}${r.path} ${r.status} ${r.bytes} B ${r.durationMs} ms`,
      );
  }
  const { composeServer } = await import('../../app/compose.js');
  const composed = await composeServer(options);
  const { server } = composed;
  let addr: { address: string; port: number };
  let pipeUrl: string | undefined;
  try {
    ({ main: addr, pipeUrl } = await composed.listen());
  } catch (err) {
    await composed.close().catch(() => {});
    throw err;
  }
  const d = server.config.domains[0];
  // one banner for --workers (worker 0's)
  if (!worker)
    process.stderr.write(
      `burrow ${VERSION} listening on ${addr.address}:${addr.port}\n` +
        `  tunnels:  ${server.context.publicUrlFor('<name>')}\n` +
        `  open one: burrow http 3000 --server ${server.url}\n` +
        `  api:      ${server.url}/api/status   health: ${server.url}/health   metrics: ${server.url}/metrics\n` +
        `  data:     ${composed.accounts.location} (auth: ${composed.accounts.auth})\n` +
        (composed.pipe
          ? `  pipe:     ${server.url}/api/v1/pipe/<path>${pipeUrl ? `  and ${pipeUrl}/<path>` : ''}\n`
          : '') +
        (composed.cluster
          ? `  cluster:  node ${composed.cluster.nodeId}, advertised at ${composed.cluster.advertiseUrl}\n`
          : '') +
        (d === 'localhost' ? '  (default domain "localhost": pass --domain example.com for a public server)\n' : ''),
    );
  // started (after the banner: a first write to a piped stderr loads node's stream modules)
  releaseStartupMemory();
  // streaming must not start a full GC every few MiB (src/core/heap-headroom.ts), cluster nodes too
  keepHeapHeadroom();
  await stopped;
  process.stderr.write('\nstopping: draining (press Ctrl-C again to quit at once)…\n');
  await composed.close();
  return 0;
}
