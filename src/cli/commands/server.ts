/** `burrow server`: flags and env → createServer → listen; SIGINT/SIGTERM drain and exit. */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import type { LevelWithSilent } from 'pino';
import type { ServerOptions } from '../../server/config.js';
import { composeServer, type ComposeOptions } from '../../app/compose.js';
import { DEFAULT_NEW_TUNNELS_PER_MINUTE, DEFAULT_PORT } from '../../core/limits.js';
import { collect, envBool, envFirst, parseDurationMs, parseIntArg, printError } from '../util.js';
import { VERSION } from '../../version.js';

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
  tlsCert?: string;
  tlsKey?: string;
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
}

/** Flags + env for the whole server (core + accounts + adapters). */
export function composeOptionsFromFlags(f: ServerFlags): ComposeOptions {
  const o: ComposeOptions = serverOptionsFromFlags(f);
  const db = f.db ?? envFirst('BURROW_DB');
  if (db) o.db = db;
  const auth = f.auth ?? envFirst('BURROW_AUTH');
  if (auth) {
    if (auth !== 'none' && auth !== 'token') throw new Error(`--auth must be none or token, not "${auth}"`);
    o.auth = auth;
  }
  const adminToken = f.adminToken ?? envFirst('BURROW_ADMIN_TOKEN');
  if (adminToken) o.adminToken = adminToken;
  if (f.pipe === false || envBool('BURROW_NO_PIPE') === true) o.pipe = false;
  const pipeHosts = f.pipeHost?.length
    ? f.pipeHost
    : envFirst('BURROW_PIPE_HOST')
        ?.split(',')
        .map((x) => x.trim())
        .filter(Boolean);
  if (pipeHosts?.length) o.pipeHosts = pipeHosts;
  const pipePort = f.pipePort ?? numEnv('BURROW_PIPE_PORT');
  if (pipePort !== undefined) o.pipePort = pipePort;
  const targets = f.tcpTarget?.length
    ? f.tcpTarget
    : envFirst('BURROW_TCP_TARGETS')
        ?.split(';')
        .map((x) => x.trim())
        .filter(Boolean);
  if (targets?.length) o.tcpTargets = targets;
  const tcpPorts = f.tcpPorts ?? envFirst('BURROW_TCP_PORTS');
  if (tcpPorts) o.tcpPorts = tcpPorts;
  const tcpHost = f.tcpPublicHost ?? envFirst('BURROW_TCP_PUBLIC_HOST');
  if (tcpHost) o.tcpPublicHost = tcpHost;
  const tcpGrace = f.tcpResumeGrace ?? durEnv('BURROW_TCP_RESUME_GRACE');
  if (tcpGrace !== undefined) o.tcpResumeGraceMs = tcpGrace;
  const tcpBuffer = f.tcpResumeBuffer ?? numEnv('BURROW_TCP_RESUME_BUFFER');
  if (tcpBuffer !== undefined) o.tcpResumeBufferBytes = tcpBuffer;
  const key = f.registrationKey ?? envFirst('BURROW_REGISTRATION_KEY', 'TUNNEL_REGISTRATION_API_KEY');
  if (key !== undefined) o.registrationKey = key;
  const wsPath = f.wsPath ?? envFirst('BURROW_WS_PATH', 'WS_PATH');
  if (wsPath) o.tiflisPath = wsPath;
  const tunelyPath = f.tunelyPath ?? envFirst('BURROW_TUNELY_PATH');
  if (tunelyPath) o.tunelyPath = tunelyPath;
  const tunnelPort = f.tunnelPort ?? numEnv('BURROW_TUNNEL_PORT');
  if (tunnelPort !== undefined) o.tunnelPort = tunnelPort;
  const maxSockets = f.maxSockets ?? numEnv('BURROW_MAX_SOCKETS');
  if (maxSockets !== undefined) o.maxSockets = maxSockets;
  return o;
}

/** Flags + environment → ServerOptions (flags win; then BURROW_* ; then the seeds' names). */
export function serverOptionsFromFlags(f: ServerFlags): ServerOptions {
  const o: ServerOptions = {};
  const port = f.port ?? numEnv('BURROW_PORT', 'PORT');
  o.port = port ?? DEFAULT_PORT;
  const address = f.address ?? envFirst('BURROW_ADDRESS', 'HOST');
  if (address) o.address = address;
  const domains = f.domain?.length
    ? f.domain
    : envFirst('BURROW_DOMAIN')
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
  if (domains?.length) o.domains = domains;
  const secure = f.secure ?? envBool('BURROW_SECURE');
  if (secure !== undefined) o.secure = secure;
  const publicUrl = f.publicUrl ?? envFirst('BURROW_PUBLIC_URL', 'PUBLIC_BASE_URL');
  if (publicUrl) o.publicUrl = publicUrl;
  const trust = f.trustProxy ?? envBool('BURROW_TRUST_PROXY', 'TRUST_PROXY');
  if (trust !== undefined) o.trustProxy = trust;
  const landing = f.landing ?? envFirst('BURROW_LANDING');
  if (landing) o.landing = landing;
  const maxTunnels = f.maxTunnels ?? numEnv('BURROW_MAX_TUNNELS');
  if (maxTunnels !== undefined) o.maxTunnels = maxTunnels;
  const newTunnels = f.newTunnelsPerMinute ?? numEnv('BURROW_NEW_TUNNELS_PER_MINUTE');
  if (newTunnels !== undefined) o.newTunnelsPerMinute = newTunnels;
  const maxStreams = f.maxStreamsPerTunnel ?? numEnv('BURROW_MAX_STREAMS_PER_TUNNEL');
  if (maxStreams !== undefined) o.maxStreamsPerTunnel = maxStreams;
  const perIp = f.maxConnectionsPerIp ?? numEnv('BURROW_MAX_CONNECTIONS_PER_IP');
  if (perIp !== undefined) o.maxConnectionsPerIp = perIp;
  const ht = f.headTimeout ?? durEnv('BURROW_HEAD_TIMEOUT');
  if (ht !== undefined) o.headTimeoutMs = ht;
  const rt = f.requestTimeout ?? durEnv('BURROW_REQUEST_TIMEOUT');
  if (rt !== undefined) o.requestTimeoutMs = rt;
  const grace = f.resumeGrace ?? durEnv('BURROW_RESUME_GRACE');
  if (grace !== undefined) o.resumeGraceMs = grace;
  const window = f.window ?? numEnv('BURROW_WINDOW');
  if (window !== undefined) o.window = window;
  const level = f.logLevel ?? envFirst('BURROW_LOG_LEVEL', 'LOG_LEVEL');
  if (level) o.logLevel = level as LevelWithSilent;
  const cert = f.tlsCert ?? envFirst('BURROW_TLS_CERT');
  const key = f.tlsKey ?? envFirst('BURROW_TLS_KEY');
  if (cert || key) {
    if (!cert || !key) throw new Error('--tls-cert and --tls-key go together');
    o.tls = { cert: readFileSync(cert), key: readFileSync(key) };
  }
  return o;
}

function numEnv(...names: string[]): number | undefined {
  const v = envFirst(...names);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${names[0]}="${v}" is not an integer`);
  return n;
}

function durEnv(...names: string[]): number | undefined {
  const v = envFirst(...names);
  return v === undefined ? undefined : parseDurationMs(v);
}

/** Add the core server flags to a command (adapters add theirs next to these). */
export function addServerFlags(cmd: Command): Command {
  return cmd
    .option(
      '-p, --port <port>',
      `port to listen on (env BURROW_PORT, PORT; default ${DEFAULT_PORT})`,
      parseIntArg(0, 65535),
    )
    .option('-a, --address <address>', 'address to bind (env BURROW_ADDRESS, HOST; default 0.0.0.0)')
    .option(
      '-d, --domain <domain>',
      'tunnel domain, repeatable: tunnels are <name>.<domain> (env BURROW_DOMAIN; default localhost)',
      collect,
    )
    .option('--secure', 'tunnel URLs use https (TLS terminated by a proxy in front; env BURROW_SECURE)')
    .option(
      '--public-url <url>',
      "the server's public URL, http(s):// or ws(s):// (env BURROW_PUBLIC_URL, PUBLIC_BASE_URL)",
    )
    .option('--trust-proxy', 'honour X-Forwarded-* from the peer (env BURROW_TRUST_PROXY, TRUST_PROXY)')
    .option('--landing <url>', 'redirect / on the server host to this URL (env BURROW_LANDING)')
    .option(
      '--max-tunnels <n>',
      'most live tunnels (env BURROW_MAX_TUNNELS; default 10000)',
      parseIntArg(1, 10_000_000),
    )
    .option(
      '--new-tunnels-per-minute <n>',
      `new tunnels one client address may open per minute, all edges together (env BURROW_NEW_TUNNELS_PER_MINUTE; default ${DEFAULT_NEW_TUNNELS_PER_MINUTE})`,
      parseIntArg(1, 1_000_000),
    )
    .option(
      '--max-streams-per-tunnel <n>',
      'most open connections per tunnel (default 1000)',
      parseIntArg(1, 1_000_000),
    )
    .option(
      '--max-connections-per-ip <n>',
      'most open visitor connections per client address, IPv6 per /64; 0 = no cap, not applied with --trust-proxy (env BURROW_MAX_CONNECTIONS_PER_IP; default 256)',
      parseIntArg(0, 10_000_000),
    )
    .option(
      '--head-timeout <duration>',
      'a request head must be whole this soon after its first byte, else 408 (env BURROW_HEAD_TIMEOUT; default 30s)',
      parseDurationMs,
    )
    .option(
      '--request-timeout <duration>',
      'time to the origin response head before 504 (default 30s)',
      parseDurationMs,
    )
    .option('--resume-grace <duration>', 'how long a dropped agent keeps its name (default 60s)', parseDurationMs)
    .option(
      '--window <bytes>',
      'per-stream flow-control window (default 4194304)',
      parseIntArg(65536, 256 * 1024 * 1024),
    )
    .addOption(
      new Option('--log-level <level>', 'log level (env BURROW_LOG_LEVEL, LOG_LEVEL)').choices([
        'fatal',
        'error',
        'warn',
        'info',
        'debug',
        'trace',
        'silent',
      ]),
    )
    .option('--tls-cert <file>', 'serve HTTPS directly with this PEM certificate (env BURROW_TLS_CERT)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert (env BURROW_TLS_KEY)')
    .option('--db <url>', 'database: sqlite:/path or postgres://… (env BURROW_DB; default sqlite ./data/burrow.db)')
    .addOption(
      new Option(
        '--auth <mode>',
        'none: anyone may open tunnels; token: agents need a token (env BURROW_AUTH)',
      ).choices(['none', 'token']),
    )
    .option(
      '--admin-token <token>',
      'enable the admin API /api/admin for this bearer token, ≥ 16 chars (env BURROW_ADMIN_TOKEN)',
    )
    .option('--no-pipe', 'do not serve the pipe (env BURROW_NO_PIPE=1)')
    .option('--pipe-host <host>', 'host where bare /<path> is the pipe, repeatable (env BURROW_PIPE_HOST)', collect)
    .option(
      '--pipe-port <port>',
      'also serve the pipe alone on this port (env BURROW_PIPE_PORT)',
      parseIntArg(0, 65535),
    )
    .option(
      '--tcp-target <spec>',
      'TCP target for WebSocket access NAME=HOST:PORT[,token=T], repeatable (env BURROW_TCP_TARGETS, ;-separated)',
      (v: string, p: string[] = []) => [...p, v],
    )
    .option(
      '--tcp-ports <range>',
      'public ports for `burrow tcp` tunnels, e.g. 20000-20999 (env BURROW_TCP_PORTS; default none)',
    )
    .option('--tcp-public-host <host>', 'host printed in tcp://host:port addresses (env BURROW_TCP_PUBLIC_HOST)')
    .option(
      '--tcp-resume-grace <duration>',
      'TCP WebSocket access: how long a dropped singleton session waits for its client (env BURROW_TCP_RESUME_GRACE; default 120s)',
      parseDurationMs,
    )
    .option(
      '--tcp-resume-buffer <bytes>',
      'TCP WebSocket access: bytes buffered from the target while detached, then it is paused (env BURROW_TCP_RESUME_BUFFER; default 8388608)',
      parseIntArg(0, 1024 * 1024 * 1024),
    )
    .option(
      '--registration-key <key>',
      'tiflis workstation key, ≥ 32 chars; enables /ws (env TUNNEL_REGISTRATION_API_KEY)',
    )
    .option('--ws-path <path>', 'tiflis WebSocket path (env WS_PATH; default /ws)')
    .option('--tunely-path <path>', 'tunely agent WebSocket path (env BURROW_TUNELY_PATH; default /ws/tunnel)')
    .option(
      '--tunnel-port <port>',
      'localtunnel/pipenet: one shared pool port (env BURROW_TUNNEL_PORT; default a port per tunnel)',
      parseIntArg(0, 65535),
    )
    .option(
      '--max-sockets <n>',
      'localtunnel/pipenet pool size per tunnel (env BURROW_MAX_SOCKETS; default 10)',
      parseIntArg(1, 1000),
    );
}

export function registerServerCommand(program: Command): void {
  const cmd = program
    .command('server')
    .description('run a burrow server (one port serves tunnels, the API and every adapter)');
  addServerFlags(cmd);
  cmd.action(async (flags: ServerFlags) => {
    try {
      const composed = await composeServer(composeOptionsFromFlags(flags));
      const { server } = composed;
      const { main: addr, pipeUrl } = await composed.listen();
      // listen for signals before printing: a script may send one as soon as it reads the output
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) {
          process.exit(130);
        }
        stopping = true;
        process.stderr.write(`\n${signal}: draining (press Ctrl-C again to quit at once)…\n`);
        composed.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      const d = server.config.domains[0];
      process.stderr.write(
        `burrow ${VERSION} listening on ${addr.address}:${addr.port}\n` +
          `  tunnels:  ${server.context.publicUrlFor('<name>')}\n` +
          `  api:      ${server.url}/api/status   health: ${server.url}/health   metrics: ${server.url}/metrics\n` +
          `  data:     ${composed.accounts.location} (auth: ${composed.accounts.auth})\n` +
          (composed.pipe
            ? `  pipe:     ${server.url}/api/v1/pipe/<path>${pipeUrl ? `  and ${pipeUrl}/<path>` : ''}\n`
            : '') +
          (d === 'localhost' ? '  (default domain "localhost": pass --domain example.com for a public server)\n' : ''),
      );
    } catch (err) {
      process.exitCode = printError(err);
    }
  });
}
