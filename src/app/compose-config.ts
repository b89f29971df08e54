/**
 * Validation of a whole `composeServer()` configuration before anything is created: the core options
 * (resolveServerConfig), the database URL, accounts and every adapter's options are checked first,
 * and every problem is reported at once. Only then is the database (a file under ./data/ by
 * default) opened: a start that fails on configuration leaves nothing behind.
 */
import { registrationKeyProblem } from '../adapters/tiflis/keys.js';
import { MAX_MAX_SOCKETS } from '../adapters/localtunnel/limits.js';
import { parseTcpTargetSpec } from '../adapters/tcp-ws/index.js';
import { ADMIN_TOKEN_MIN_LENGTH } from '../auth/admin-api.js';
import type { AuthMode } from '../auth/accounts.js';
import { BurrowError, isBurrowError } from '../core/errors.js';
import { parseDbUrl, resolveDbUrl } from '../store/url.js';
import { resolveServerConfig, type ServerOptions } from '../server/config.js';
import { clusterProblems, type ClusterOptions } from '../cluster/options.js';

/**
 * Throws one BURROW_ERR_INVALID_CONFIG naming every problem of the configuration; creates nothing.
 * `core` is the createServer() part of `options` (what composeServer passes on to it).
 */
export function validateComposeOptions(options: ComposeOptions, core: ServerOptions): void {
  const problems: string[] = [];
  const check = (fn: () => unknown): void => {
    try {
      fn();
    } catch (err) {
      if (!isBurrowError(err) || err.code !== 'BURROW_ERR_INVALID_CONFIG') throw err;
      problems.push(...(err.detail ?? err.message).split('; '));
    }
  };
  check(() => resolveServerConfig(core));
  check(() => parseDbUrl(resolveDbUrl(options.db)));
  if (options.auth !== undefined && options.auth !== 'none' && options.auth !== 'token') {
    problems.push(`--auth must be none or token, not "${String(options.auth)}"`);
  }
  if (options.adminToken !== undefined && options.adminToken.length < ADMIN_TOKEN_MIN_LENGTH) {
    problems.push(`--admin-token must be at least ${ADMIN_TOKEN_MIN_LENGTH} characters`);
  }
  if (options.registrationKey !== undefined) {
    const p = registrationKeyProblem(options.registrationKey);
    if (p !== undefined) problems.push(p);
  }
  for (const spec of options.tcpTargets ?? []) check(() => parseTcpTargetSpec(spec));
  for (const [name, path] of [
    ['tiflis path (--ws-path, WS_PATH)', options.tiflisPath],
    ['tunely path (--tunely-path)', options.tunelyPath],
  ] as const) {
    if (path !== undefined && !path.startsWith('/')) problems.push(`${name} must start with "/" (got "${path}")`);
  }
  const int = (name: string, v: number | undefined, min: number, max: number): void => {
    if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})`);
    }
  };
  int('pipePort', options.pipePort, 0, 65535);
  int('tunnelPort', options.tunnelPort, 0, 65535);
  int('maxSockets', options.maxSockets, 1, MAX_MAX_SOCKETS);
  int('tcpResumeBufferBytes', options.tcpResumeBufferBytes, 0, Number.MAX_SAFE_INTEGER);
  const grace = options.tcpResumeGraceMs;
  if (grace !== undefined && !(Number.isFinite(grace) && grace >= 0)) {
    problems.push(`tcpResumeGraceMs must be a duration ≥ 0 (got ${JSON.stringify(grace)})`);
  }
  if (options.cluster) problems.push(...clusterProblems(options.cluster));
  if (problems.length) throw new BurrowError('BURROW_ERR_INVALID_CONFIG', problems.join('; '));
}

export interface ComposeOptions extends ServerOptions {
  /** Database URL (sqlite:… or postgres://…; default sqlite ./data/burrow.db). */
  db?: string;
  /** none (default) or token: every agent must present a token. */
  auth?: AuthMode;
  /** Enables the admin API (/api/admin) for this bearer token (≥ 16 characters). */
  adminToken?: string;
  /** Serve the pipe (default true). */
  pipe?: boolean;
  /** Hosts where bare /<path> is the pipe. */
  pipeHosts?: string[];
  /** A separate port serving bare /<path> as the pipe. */
  pipePort?: number;
  /** Static TCP targets for the WebSocket access: NAME=HOST:PORT[,token=T][,path=/p]. */
  tcpTargets?: string[];
  /** How long a detached singleton TCP session waits for its client to resume (ms, ≥ 90 s advised). */
  tcpResumeGraceMs?: number;
  /** Bytes a detached singleton TCP session buffers from its target before pausing it. */
  tcpResumeBufferBytes?: number;
  /** tiflis registration key (TUNNEL_REGISTRATION_API_KEY); enables the tiflis endpoint. */
  registrationKey?: string;
  /** tiflis WebSocket path (WS_PATH, default /ws). */
  tiflisPath?: string;
  /** tunely agent path (default /ws/tunnel). */
  tunelyPath?: string;
  /** localtunnel/pipenet shared pool port (--tunnel-port); default: one port per tunnel. */
  tunnelPort?: number;
  /** localtunnel pool size advertised to clients (--max-sockets). */
  maxSockets?: number;
  /** Poll the database for revocations made elsewhere every this many ms (0 = off; default 5 s). */
  revocationPollMs?: number;
  /** The accounts' clock for token creation and expiry (tests inject one; default Date.now). */
  tokenClock?: () => number;
  /** Run as one node of a cluster (docs/cluster.md): Redis registry, peer links. Absent: one process. */
  cluster?: ClusterOptions;
}
