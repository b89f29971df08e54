import { connect, isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { BurrowError } from '../../core/errors.js';
import { TCP_TARGET_CONNECT_TIMEOUT_MS } from '../../wire/tcp-ws/limits.js';
import { tokensEqual } from './auth.js';

/** What the adapter knows about the WebSocket client when it opens a target connection. */
export interface TcpOpenInfo {
  /** The client's address (after --trust-proxy handling when mounted in burrow's server). */
  remoteAddress: string;
}

/** Something a WebSocket client may reach: a static HOST:PORT, a `burrow tcp` tunnel, … */
export interface TcpTarget {
  readonly name: string;
  /** Open one raw byte stream to the target. Rejects with a BurrowError (TCP_TARGET_UNREACHABLE, TIMEOUT, …). */
  open(info: TcpOpenInfo): Promise<Duplex>;
  /**
   * May this bearer token (undefined: no Authorization header) use the target? false with no token
   * answers 401, false with a token 403. Compare in constant time (tokensEqual).
   */
  authorize(token: string | undefined): boolean;
}

/** Finds targets by name. Resolvers are tried in order; the first that knows the name wins. */
export interface TcpTargetResolver {
  resolve(name: string): TcpTarget | undefined;
}

/** One `--tcp-target` entry, parsed. */
export interface StaticTcpTargetSpec {
  name: string;
  host: string;
  port: number;
  /** Bearer token required to reach the target; undefined = no token required. */
  token?: string | undefined;
  /** Extra WebSocket path mapped to this target (besides /tcp/<name>), e.g. /adb. */
  path?: string | undefined;
}

const TARGET_NAME = /^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$/;

/** Is this a valid target name (a lowercase DNS-like label, 1–63 characters; `_` allowed)? */
export function isValidTargetName(name: string): boolean {
  return TARGET_NAME.test(name);
}

function configError(spec: string, problem: string): BurrowError {
  return new BurrowError('BURROW_ERR_INVALID_CONFIG', `--tcp-target "${spec}": ${problem}`);
}

/**
 * Parse `NAME=HOST:PORT[,token=TOKEN][,path=/PATH]` (IPv6 hosts in brackets: `adb=[::1]:5555`).
 * Throws BurrowError INVALID_CONFIG naming the problem.
 */
export function parseTcpTargetSpec(spec: string): StaticTcpTargetSpec {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw configError(spec, 'expected NAME=HOST:PORT');
  const name = spec.slice(0, eq).trim().toLowerCase();
  if (!isValidTargetName(name)) {
    throw configError(spec, `invalid name "${name}" (lowercase a–z, 0–9, - and _, up to 63 characters)`);
  }
  const [address = '', ...params] = spec.slice(eq + 1).split(',');
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address.trim());
  if (!m) throw configError(spec, `expected HOST:PORT after "${name}="`);
  const host = (m[1] ?? m[2] ?? '').trim();
  const port = Number(m[3]);
  if (m[1] !== undefined && isIP(host) !== 6) throw configError(spec, `"${host}" is not an IPv6 address`);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw configError(spec, `port ${m[3]} is out of range 1–65535`);
  const out: StaticTcpTargetSpec = { name, host, port };
  for (const param of params) {
    const p = param.indexOf('=');
    const key = (p < 0 ? param : param.slice(0, p)).trim();
    const value = p < 0 ? '' : param.slice(p + 1);
    if (key === 'token') {
      if (value === '') throw configError(spec, 'empty token=');
      out.token = value;
    } else if (key === 'path') {
      if (!/^\/[\x21-\x7e]*$/.test(value) || value.includes('?'))
        throw configError(spec, `path "${value}" must start with / and have no query`);
      out.path = value;
    } else {
      throw configError(spec, `unknown option "${key}" (known: token, path)`);
    }
  }
  return out;
}

/** Dial HOST:PORT with a timeout; resolves once connected. The socket allows half-open. */
export function dialTcp(host: string, port: number, timeoutMs = TCP_TARGET_CONNECT_TIMEOUT_MS): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, allowHalfOpen: true });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new BurrowError('BURROW_ERR_TIMEOUT', `connecting to ${host}:${port} took over ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new BurrowError('BURROW_ERR_TCP_TARGET_UNREACHABLE', `${host}:${port}: ${err.code ?? err.message}`, {
          cause: err,
        }),
      );
    });
  });
}

/** Authorization by an optional configured token: none configured = open to anyone. */
export function tokenAuthorizer(expected: string | undefined): (token: string | undefined) => boolean {
  return (token) => expected === undefined || (token !== undefined && tokensEqual(token, expected));
}

/** A resolver over `--tcp-target` entries. */
export function createStaticTcpResolver(
  specs: readonly StaticTcpTargetSpec[],
  options: { connectTimeoutMs?: number } = {},
): TcpTargetResolver {
  const targets = new Map<string, TcpTarget>();
  for (const spec of specs) {
    if (targets.has(spec.name))
      throw new BurrowError('BURROW_ERR_INVALID_CONFIG', `--tcp-target "${spec.name}" is given twice`);
    targets.set(spec.name, {
      name: spec.name,
      open: () => dialTcp(spec.host, spec.port, options.connectTimeoutMs),
      authorize: tokenAuthorizer(spec.token),
    });
  }
  return { resolve: (name) => targets.get(name) };
}
