/**
 * What `burrow http` and `burrow tcp` share: the flags that say how to reach the server, what they
 * print while they reach it (`connecting to …` at once, then each failed attempt with its reason, its
 * fix and the next delay, until --connect-timeout), and how they hold the tunnel until a stop.
 */
import type { RetryInfo } from '../../client/burrow/agent.js';
import type { FirstConnectOptions } from '../../client/burrow/open-tunnel.js';
import { readFileSync } from 'node:fs';
import { BurrowError } from '../../core/errors.js';
import type { TlsTrust } from '../../core/tls-trust.js';
import { usageError } from '../errors.js';
import type { StopRequests } from '../run.js';
import { DEFAULT_SERVER_URL, FIRST_CONNECT_TIMEOUT_MS } from '../../client/burrow/limits.js';
import { flag } from '../env.js';
import { parseDurationMs, parseServerUrl } from '../util.js';

export const DEFAULT_SERVER = DEFAULT_SERVER_URL;

/** `-s, --server <url>` (BURROW_SERVER). */
export function serverFlag() {
  return flag('-s, --server <url>', 'burrow server: https://host, http://host:port or host:port', {
    env: 'BURROW_SERVER',
    default: DEFAULT_SERVER,
    parse: parseServerUrl,
  });
}

/** `-t, --token <token>` (BURROW_TOKEN). */
export function tokenFlag() {
  return flag('-t, --token <token>', 'access token, when the server requires one', { env: 'BURROW_TOKEN' });
}

/** `--ca <file>` (BURROW_CA): the CA certificate(s) an https:// or wss:// server's certificate is checked against. */
export function caFlag() {
  return flag('--ca <file>', "https/wss server: trust the CA certificate(s) in this PEM file instead of Node's list", {
    env: 'BURROW_CA',
  });
}

/** `--insecure` (BURROW_INSECURE): no check of the server's certificate (testing only). */
export function insecureFlag() {
  return flag('--insecure', "https/wss server: do not verify the server's certificate (testing only)", {
    env: 'BURROW_INSECURE',
  });
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
};

/**
 * --ca / --insecure → which server certificates the client trusts (undefined: Node's list). The CA
 * file is read now, and a failure names it (exit 2); --insecure says on `warn` what it gives away.
 */
export function serverTrust(
  options: { ca?: string | undefined; insecure?: boolean | undefined },
  warn: (line: string) => void,
): TlsTrust | undefined {
  const tls: TlsTrust = {};
  if (options.ca !== undefined) {
    let pem: Buffer;
    try {
      pem = readFileSync(options.ca);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw usageError(
        `cannot read the CA file ${options.ca} (--ca / BURROW_CA): ${READ_ERRORS[e.code ?? ''] ?? e.message}`,
        'Give --ca the path of a PEM file holding the CA certificate(s).',
      );
    }
    if (!/-----BEGIN (?:TRUSTED )?CERTIFICATE-----/.test(pem.toString('latin1')))
      throw usageError(
        `the CA file ${options.ca} (--ca / BURROW_CA) holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
        'Give --ca a PEM file with -----BEGIN CERTIFICATE----- blocks (not the private key).',
      );
    tls.ca = pem;
  }
  if (options.insecure) {
    tls.rejectUnauthorized = false;
    warn(
      "warning: --insecure: the server's TLS certificate is not verified; anyone on the path can read and change this connection",
    );
  }
  return Object.keys(tls).length > 0 ? tls : undefined;
}

/** `--local-host <host>` (BURROW_LOCAL_HOST). */
export function localHostFlag() {
  return flag('--local-host <host>', 'host of the local service', {
    env: 'BURROW_LOCAL_HOST',
    defaultDescription: 'localhost',
  });
}

/** `--connect-timeout <duration>` (BURROW_CONNECT_TIMEOUT), milliseconds; 0 = keep trying. */
export function connectTimeoutFlag() {
  return flag('--connect-timeout <duration>', 'give up when the server cannot be reached this long (0 = keep trying)', {
    env: 'BURROW_CONNECT_TIMEOUT',
    parse: parseDurationMs,
    default: FIRST_CONNECT_TIMEOUT_MS,
    defaultDescription: `${FIRST_CONNECT_TIMEOUT_MS / 1000}s`,
  });
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/**
 * A failed attempt, for humans: the reason, its fix, and when the next attempt starts. With
 * `limitMs` (the first connection) it also says when the command gives up.
 */
export function retryLine(r: RetryInfo, limitMs?: number): string {
  const when =
    limitMs === undefined
      ? `reconnecting in ${seconds(r.delayMs)}`
      : limitMs > 0
        ? `retrying in ${seconds(r.delayMs)} (giving up after ${seconds(limitMs)}; --connect-timeout 0 keeps trying)`
        : `retrying in ${seconds(r.delayMs)}`;
  return `attempt ${r.attempt} failed: ${r.error.message}\n  fix: ${r.error.fix}\n  ${when}`;
}

/** The same, as a JSON event. */
export function retryEvent(event: string, r: RetryInfo): Record<string, unknown> {
  return {
    event,
    attempt: r.attempt,
    delayMs: r.delayMs,
    code: r.error.code,
    message: r.error.message,
    fix: r.error.fix,
  };
}

type Say = (human: string, event: Record<string, unknown>) => void;

/** openTunnel()/exposeTcp() options that print the first contact: `connecting to …`, each failed attempt. */
export function firstContact(
  server: string,
  connectTimeoutMs: number,
  stop: StopRequests,
  say: Say,
): FirstConnectOptions {
  return {
    connectTimeoutMs,
    signal: stop.signal,
    onConnecting: (a) => {
      if (a.attempt === 1) say(`connecting to ${server} …`, { event: 'connecting', server });
    },
    onRetry: (r) => say(retryLine(r, connectTimeoutMs), retryEvent('retry', r)),
  };
}

/** What `burrow http` and `burrow tcp` hold until they stop: an open tunnel of either kind. */
interface OpenTunnel {
  on(event: 'error', listener: (e: BurrowError) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  close(): void;
  whenClosed(): Promise<void>;
}

/**
 * Wait for a requested stop (then say goodbye and resolve 0) or for the tunnel to end on its own
 * (then throw its final error, printed by the one printer: exit 1).
 */
export async function holdUntilStopped(t: OpenTunnel, stop: StopRequests, say: Say, json: boolean): Promise<number> {
  let failure: BurrowError | undefined;
  t.on('error', (e) => {
    failure = e;
    if (json) say('', { event: 'error', code: e.code, message: e.message, fix: e.fix });
  });
  const closed = new Promise<void>((resolve) => t.once('close', () => resolve()));
  await Promise.race([stop.requested, closed]);
  if (stop.signal.aborted) {
    t.close();
    await t.whenClosed(); // the goodbye must leave before the process does
    return 0;
  }
  throw failure ?? new BurrowError('BURROW_ERR_AGENT_GONE', 'the connection to the server ended');
}
