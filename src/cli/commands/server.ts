/** `burrow server`: flags and env → createServer → listen; SIGINT/SIGTERM drain and exit. */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import type { LevelWithSilent } from 'pino';
import { createServer } from '../../server/index.js';
import type { ServerOptions } from '../../server/config.js';
import { DEFAULT_PORT } from '../../core/limits.js';
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
  maxStreamsPerTunnel?: number;
  requestTimeout?: number;
  resumeGrace?: number;
  window?: number;
  logLevel?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** Flags + environment → ServerOptions (flags win; then BURROW_* ; then the seeds' names). */
export function serverOptionsFromFlags(f: ServerFlags): ServerOptions {
  const o: ServerOptions = {};
  const port = f.port ?? numEnv('BURROW_PORT', 'PORT');
  o.port = port ?? DEFAULT_PORT;
  const address = f.address ?? envFirst('BURROW_ADDRESS', 'HOST');
  if (address) o.address = address;
  const domains = f.domain?.length ? f.domain : envFirst('BURROW_DOMAIN')?.split(',').map((s) => s.trim()).filter(Boolean);
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
  const maxStreams = f.maxStreamsPerTunnel ?? numEnv('BURROW_MAX_STREAMS_PER_TUNNEL');
  if (maxStreams !== undefined) o.maxStreamsPerTunnel = maxStreams;
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
    .option('-p, --port <port>', `port to listen on (env BURROW_PORT, PORT; default ${DEFAULT_PORT})`, parseIntArg(0, 65535))
    .option('-a, --address <address>', 'address to bind (env BURROW_ADDRESS, HOST; default 0.0.0.0)')
    .option('-d, --domain <domain>', 'tunnel domain, repeatable: tunnels are <name>.<domain> (env BURROW_DOMAIN; default localhost)', collect)
    .option('--secure', 'tunnel URLs use https (TLS terminated by a proxy in front; env BURROW_SECURE)')
    .option('--public-url <url>', "the server's public URL (env BURROW_PUBLIC_URL, PUBLIC_BASE_URL)")
    .option('--trust-proxy', 'honour X-Forwarded-* from the peer (env BURROW_TRUST_PROXY, TRUST_PROXY)')
    .option('--landing <url>', 'redirect / on the server host to this URL (env BURROW_LANDING)')
    .option('--max-tunnels <n>', 'most live tunnels (env BURROW_MAX_TUNNELS; default 10000)', parseIntArg(1, 10_000_000))
    .option('--max-streams-per-tunnel <n>', 'most open connections per tunnel (default 1000)', parseIntArg(1, 1_000_000))
    .option('--request-timeout <duration>', 'time to the origin response head before 504 (default 30s)', parseDurationMs)
    .option('--resume-grace <duration>', 'how long a dropped agent keeps its name (default 60s)', parseDurationMs)
    .option('--window <bytes>', 'per-stream flow-control window (default 4194304)', parseIntArg(65536, 256 * 1024 * 1024))
    .addOption(new Option('--log-level <level>', 'log level (env BURROW_LOG_LEVEL, LOG_LEVEL)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .option('--tls-cert <file>', 'serve HTTPS directly with this PEM certificate (env BURROW_TLS_CERT)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert (env BURROW_TLS_KEY)');
}

export function registerServerCommand(program: Command): void {
  const cmd = program.command('server').description('run a burrow server (one port serves tunnels, the API and every adapter)');
  addServerFlags(cmd);
  cmd.action(async (flags: ServerFlags) => {
    try {
      const server = createServer(serverOptionsFromFlags(flags));
      const addr = await server.listen();
      const d = server.config.domains[0];
      process.stderr.write(
        `burrow ${VERSION} listening on ${addr.address}:${addr.port}\n` +
          `  tunnels:  ${server.context.publicUrlFor('<name>')}\n` +
          `  api:      ${server.url}/api/status   health: ${server.url}/health   metrics: ${server.url}/metrics\n` +
          (d === 'localhost' ? '  (default domain "localhost": pass --domain example.com for a public server)\n' : ''),
      );
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) {
          process.exit(130);
        }
        stopping = true;
        process.stderr.write(`\n${signal}: draining (press Ctrl-C again to quit at once)…\n`);
        server.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    } catch (err) {
      process.exitCode = printError(err);
    }
  });
}
