/**
 * Server configuration pipeline: options (from flags, env or code) → defaults → validate all
 * (every problem reported at once) → frozen config. Unknown keys are errors.
 */
import type { LevelWithSilent } from 'pino';
import { BurrowError } from '../core/errors.js';
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_MAX_STREAMS_PER_TUNNEL,
  DEFAULT_MAX_TUNNELS,
  DEFAULT_NEW_TUNNELS_PER_MINUTE,
  DEFAULT_PORT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RESUME_GRACE_MS,
  MAX_HEADER_BYTES,
} from '../core/limits.js';
import type { Logger } from '../core/logger.js';
import type { NewTunnelLimiter } from '../core/new-tunnel-limiter.js';
import {
  DEFAULT_DEAD_PEER_TIMEOUT_MS,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_STREAM_WINDOW,
  MAX_STREAM_WINDOW,
  MIN_STREAM_WINDOW,
} from '../wire/mux/limits.js';
import type { ServerAdapter } from './adapter.js';
import { DEFAULT_MAX_CONNECTIONS_PER_IP, HEAD_TIMEOUT_MS } from './limits.js';
import type { AgentAdmission } from './admission.js';
import type { ServerHooks } from './hooks.js';
import type { TunnelRegistry } from './registry.js';
import { parsePortRange, type PortRange } from '../core/port-range.js';
import { resolveAcmeConfig, type AcmeConfig, type AcmeOptions } from './tls/options.js';

export interface ServerOptions extends ServerHooks {
  /** Port for listen() (default 8080; 0 = any free port). */
  port?: number;
  /** Address to bind (default 0.0.0.0). */
  address?: string;
  /** Tunnel domains: tunnels are <name>.<domain>. Default ['localhost']. */
  domains?: string[];
  /** Tunnel URLs say https (behind a TLS-terminating proxy, or with tls). */
  secure?: boolean;
  /**
   * The server's public base URL (its scheme and port are used for tunnel URLs). ws:// and wss://
   * are accepted as http:// and https:// (tiflis's PUBLIC_BASE_URL=wss://…).
   */
  publicUrl?: string;
  /** Honour X-Forwarded-* from the peer (only behind a proxy you run). */
  trustProxy?: boolean;
  /** Redirect GET / on the server's own host to this URL. */
  landing?: string;
  maxTunnels?: number;
  /** New tunnels one client address (IPv6: its /64) may create per minute, all edges together (default 60). */
  newTunnelsPerMinute?: number;
  /** The new-tunnel limiter itself (tests with a fake clock; several servers sharing one). Wins over newTunnelsPerMinute. */
  newTunnelLimiter?: NewTunnelLimiter;
  maxStreamsPerTunnel?: number;
  /** ms a visitor waits for the origin's response head before a 504. */
  requestTimeoutMs?: number;
  /** ms a tunnel name stays reserved for its agent after a disconnect. */
  resumeGraceMs?: number;
  /** Per-stream flow-control window in bytes. */
  window?: number;
  pingIntervalMs?: number;
  deadPeerTimeoutMs?: number;
  /** ms close() waits for in-flight requests. */
  drainTimeoutMs?: number;
  /** Largest visitor request head in bytes. */
  maxHeaderBytes?: number;
  /** ms a visitor request head may take from its first byte to its end (slowloris cut-off). */
  headTimeoutMs?: number;
  /** Concurrent visitor connections per client address (IPv6 per /64); 0 = no cap. */
  maxConnectionsPerIp?: number;
  /**
   * Serve HTTPS directly (PEM strings or buffers). `httpPort`: also serve plain HTTP on this port,
   * redirecting every request to HTTPS (308; 0 = any free port; default: no plain port).
   */
  tls?: { cert: string | Buffer; key: string | Buffer; httpPort?: number };
  /** Serve HTTPS with certificates obtained and renewed automatically by ACME (src/server/tls/). */
  acme?: AcmeOptions;
  logLevel?: LevelWithSilent;
  logger?: Logger;
  /** Collect Node process metrics in /metrics (default true). */
  processMetrics?: boolean;
  /** Extra edges (offered own-host requests after the built-in API routes). */
  adapters?: ServerAdapter[];
  /** Replace the in-process tunnel registry. */
  registry?: TunnelRegistry;
  /** Public TCP ports for `burrow tcp` tunnels, e.g. "20000-20999" (default: none, WebSocket access only). */
  tcpPorts?: string;
  /** Host printed in tcp://host:port addresses (default: the host the agent connected to). */
  tcpPublicHost?: string;
  /** Who may connect agents and open tunnels (default: everyone; see src/auth/admission.ts). */
  admission?: AgentAdmission;
}

export interface ServerConfig {
  readonly port: number;
  readonly address: string;
  readonly domains: readonly string[];
  readonly secure: boolean;
  /** Always http: or https: (a ws(s):// option is mapped). */
  readonly publicUrl: URL | undefined;
  readonly trustProxy: boolean;
  readonly landing: string | undefined;
  readonly maxTunnels: number;
  readonly newTunnelsPerMinute: number;
  readonly maxStreamsPerTunnel: number;
  readonly requestTimeoutMs: number;
  readonly resumeGraceMs: number;
  readonly window: number;
  readonly pingIntervalMs: number;
  readonly deadPeerTimeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly maxHeaderBytes: number;
  readonly headTimeoutMs: number;
  readonly maxConnectionsPerIp: number;
  readonly logLevel: LevelWithSilent;
  readonly tcpPorts: PortRange | undefined;
  /** Automatic TLS, when on. */
  readonly acme: AcmeConfig | undefined;
  /** The plain HTTP port beside HTTPS (redirects; with ACME also its challenges), if any. */
  readonly plainHttpPort: number | undefined;
}

const KNOWN_KEYS = new Set([
  'port',
  'address',
  'domains',
  'secure',
  'publicUrl',
  'trustProxy',
  'landing',
  'maxTunnels',
  'newTunnelsPerMinute',
  'newTunnelLimiter',
  'maxStreamsPerTunnel',
  'requestTimeoutMs',
  'resumeGraceMs',
  'window',
  'pingIntervalMs',
  'deadPeerTimeoutMs',
  'drainTimeoutMs',
  'maxHeaderBytes',
  'headTimeoutMs',
  'maxConnectionsPerIp',
  'tls',
  'acme',
  'logLevel',
  'logger',
  'processMetrics',
  'adapters',
  'registry',
  'admission',
  'tcpPorts',
  'tcpPublicHost',
  'onTunnelCreated',
  'onTunnelClosed',
  'onRequest',
  'onResponse',
]);

/** ws: and wss: public URLs name the same server as http: and https: (same default ports). */
const WS_TO_HTTP: Readonly<Record<string, string>> = { 'ws:': 'http:', 'wss:': 'https:' };
const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function resolveServerConfig(options: ServerOptions): ServerConfig {
  const problems: string[] = [];
  for (const k of Object.keys(options)) if (!KNOWN_KEYS.has(k)) problems.push(`unknown option "${k}"`);

  const int = (name: keyof ServerOptions, value: unknown, def: number, min: number, max: number): number => {
    if (value === undefined) return def;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
      return def;
    }
    return value;
  };

  const domains = (options.domains?.length ? options.domains : ['localhost']).map((d) =>
    d.toLowerCase().replace(/\.$/, ''),
  );
  for (const d of domains) if (!DOMAIN_RE.test(d)) problems.push(`domain "${d}" is not a valid host name`);

  let publicUrl: URL | undefined;
  if (options.publicUrl !== undefined) {
    try {
      publicUrl = new URL(options.publicUrl);
      // ws(s):// is how tiflis names it (PUBLIC_BASE_URL=wss://…): the same server, seen over HTTP(S).
      const http = WS_TO_HTTP[publicUrl.protocol];
      if (http) publicUrl.protocol = http;
      if (publicUrl.protocol !== 'http:' && publicUrl.protocol !== 'https:') {
        problems.push(`publicUrl must be http(s):// or ws(s):// (got "${options.publicUrl}")`);
        publicUrl = undefined;
      }
    } catch {
      problems.push(`publicUrl "${options.publicUrl}" is not a URL`);
    }
  }
  if (options.landing !== undefined) {
    try {
      new URL(options.landing);
    } catch {
      problems.push(`landing "${options.landing}" is not a URL`);
    }
  }
  const logLevel = options.logLevel ?? 'info';
  if (!LEVELS.has(logLevel)) problems.push(`logLevel must be one of ${[...LEVELS].join(', ')}`);
  if (options.tls && (!options.tls.cert || !options.tls.key)) problems.push('tls needs both cert and key');
  if (options.tls && options.acme) {
    problems.push('--acme and --tls-cert/--tls-key exclude each other: certificates come from one or the other');
  }
  const acme = options.acme ? resolveAcmeConfig(options.acme, problems) : undefined;
  const tlsHttpPort = options.tls?.httpPort;
  if (tlsHttpPort !== undefined && (!Number.isInteger(tlsHttpPort) || tlsHttpPort < 0 || tlsHttpPort > 65535)) {
    problems.push(`--http-port must be an integer from 0 to 65535 (got ${JSON.stringify(tlsHttpPort)})`);
  }

  let tcpPorts: PortRange | undefined;
  if (options.tcpPorts !== undefined) {
    try {
      tcpPorts = parsePortRange(options.tcpPorts);
    } catch (err) {
      problems.push((err as Error).message.replace(/^Invalid configuration: /, ''));
    }
  }
  const config: ServerConfig = {
    port: int('port', options.port, DEFAULT_PORT, 0, 65535),
    address: options.address ?? '0.0.0.0',
    domains,
    secure: options.secure ?? (Boolean(options.tls) || Boolean(acme) || publicUrl?.protocol === 'https:'),
    publicUrl,
    trustProxy: options.trustProxy ?? false,
    landing: options.landing,
    maxTunnels: int('maxTunnels', options.maxTunnels, DEFAULT_MAX_TUNNELS, 1, 10_000_000),
    newTunnelsPerMinute:
      options.newTunnelLimiter?.perMinute ??
      int('newTunnelsPerMinute', options.newTunnelsPerMinute, DEFAULT_NEW_TUNNELS_PER_MINUTE, 1, 1_000_000),
    maxStreamsPerTunnel: int(
      'maxStreamsPerTunnel',
      options.maxStreamsPerTunnel,
      DEFAULT_MAX_STREAMS_PER_TUNNEL,
      1,
      1_000_000,
    ),
    requestTimeoutMs: int('requestTimeoutMs', options.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS, 100, 86_400_000),
    resumeGraceMs: int('resumeGraceMs', options.resumeGraceMs, DEFAULT_RESUME_GRACE_MS, 0, 86_400_000),
    window: int('window', options.window, DEFAULT_STREAM_WINDOW, MIN_STREAM_WINDOW, MAX_STREAM_WINDOW),
    pingIntervalMs: int('pingIntervalMs', options.pingIntervalMs, DEFAULT_PING_INTERVAL_MS, 0, 3_600_000),
    deadPeerTimeoutMs: int(
      'deadPeerTimeoutMs',
      options.deadPeerTimeoutMs,
      DEFAULT_DEAD_PEER_TIMEOUT_MS,
      100,
      3_600_000,
    ),
    drainTimeoutMs: int('drainTimeoutMs', options.drainTimeoutMs, DEFAULT_DRAIN_TIMEOUT_MS, 0, 3_600_000),
    maxHeaderBytes: int('maxHeaderBytes', options.maxHeaderBytes, MAX_HEADER_BYTES, 1024, 1024 * 1024),
    headTimeoutMs: int('headTimeoutMs', options.headTimeoutMs, HEAD_TIMEOUT_MS, 100, 3_600_000),
    maxConnectionsPerIp: int(
      'maxConnectionsPerIp',
      options.maxConnectionsPerIp,
      DEFAULT_MAX_CONNECTIONS_PER_IP,
      0,
      10_000_000,
    ),
    logLevel,
    tcpPorts,
    acme,
    plainHttpPort: acme ? acme.httpPort : tlsHttpPort,
  };
  if (problems.length) {
    throw new BurrowError('BURROW_ERR_INVALID_CONFIG', problems.join('; '));
  }
  return Object.freeze(config);
}
