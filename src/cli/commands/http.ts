/** `burrow http <port|url>` (and `burrow client --port N`, pipenet's words): expose a local HTTP service. */
import type { Command } from 'commander';
import type { OpenTunnelOptions, Tunnel } from '../../client/burrow/open-tunnel.js';
import type { InspectOptions } from '../../client/inspector/inspector.js';
import type { RetryInfo } from '../../client/burrow/agent.js';
import type { LocaltunnelOptions } from '../../client/localtunnel/index.js';
import type { AccessRuleInput } from '../../auth/access-policy.js';
import { BurrowError, isBurrowError } from '../../core/errors.js';
import { InvalidArgumentError } from '../commander.js';
import {
  DEFAULT_INSPECT_HOST,
  DEFAULT_INSPECT_KEEP,
  DEFAULT_INSPECT_PORT,
  MAX_INSPECT_KEEP,
} from '../../client/inspector/limits.js';
import { flag } from '../env.js';
import { qrFlag } from '../panel/flags.js';
import { usageError } from '../errors.js';
import { runCommand, type StopRequests } from '../run.js';
import { collect, parseIntArg, parseServerUrl } from '../util.js';
import {
  caFlag,
  connectTimeoutFlag,
  firstContact,
  insecureFlag,
  serverTrust,
  holdUntilStopped,
  localHostFlag,
  retryEvent,
  retryLine,
  serverFlag,
  tokenFlag,
} from './connecting.js';

export interface HttpFlags {
  server: string;
  /** --ca: PEM file of the CA(s) the server's certificate is checked against. */
  ca?: string;
  /** --insecure: no check of the server's certificate. */
  insecure?: boolean;
  port?: number;
  subdomain?: string;
  token?: string;
  localHost?: string;
  localHttps?: boolean;
  allowInvalidCert?: boolean;
  localCert?: string;
  localKey?: string;
  localCa?: string;
  printRequests?: boolean;
  /** --qr: a QR code of the public URL. */
  qr?: boolean;
  json?: boolean;
  protocol?: string;
  basicAuth?: string;
  bearer?: string;
  allowIp?: string[];
  denyIp?: string[];
  rateLimit?: string;
  allowPort?: string[];
  connectTimeout: number;
  /** --inspect ADDR:PORT, or false for --no-inspect (undefined: the default address). */
  inspect?: InspectAddress | false;
  inspectKeep?: number;
  inspectAuth?: string;
}

/** Where the inspector listens (`--inspect 127.0.0.1:4040`, `--inspect 4041`). */
export interface InspectAddress {
  host: string;
  port: number;
}

/** `PORT`, `HOST:PORT` or `[IPv6]:PORT` → the inspector's address (commander's parse error otherwise). */
export function parseInspectAddress(value: string): InspectAddress {
  const m = /^(?:(\[[^\]]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535)
    throw new InvalidArgumentError(
      `expected ADDR:PORT or PORT (e.g. 127.0.0.1:${DEFAULT_INSPECT_PORT}; port 0 = any free port)`,
    );
  return { host: m[1] ? m[1].replace(/^\[|\]$/g, '') : DEFAULT_INSPECT_HOST, port };
}

type Out = (line: string) => void;

const TARGET_FIX =
  'Give the local service as a port (1–65535), host:port or http(s):// URL, e.g. `burrow http 3000` or `burrow http --port 3000`.';

export function addHttpFlags(cmd: Command): Command {
  return cmd
    .addOption(serverFlag())
    .addOption(caFlag())
    .addOption(insecureFlag())
    .addOption(flag('--subdomain <name>', 'ask for this name (4–63 of a-z, 0-9, -)', { env: 'BURROW_SUBDOMAIN' }))
    .addOption(tokenFlag())
    .addOption(localHostFlag())
    .addOption(flag('--local-https', 'the local service speaks HTTPS', { env: 'BURROW_LOCAL_HTTPS' }))
    .addOption(
      flag('--allow-invalid-cert', 'accept a self-signed local certificate (with --local-https)', {
        env: 'BURROW_ALLOW_INVALID_CERT',
      }),
    )
    .addOption(
      flag('--local-cert <file>', 'client certificate (PEM) for the local HTTPS service', { env: 'BURROW_LOCAL_CERT' }),
    )
    .addOption(flag('--local-key <file>', 'private key (PEM) for --local-cert', { env: 'BURROW_LOCAL_KEY' }))
    .addOption(flag('--local-ca <file>', 'CA (PEM) to verify the local HTTPS service', { env: 'BURROW_LOCAL_CA' }))
    .addOption(
      flag(
        '--allow-port <ports>',
        'also reach these local ports at <name>-http-<port> / <name>-https-<port>, repeatable (5173, 8000-8010)',
        { env: 'BURROW_ALLOW_PORT', parse: collect },
      ),
    )
    .addOption(
      flag('--print-requests', 'print method, path, status and duration of each request', {
        env: 'BURROW_PRINT_REQUESTS',
      }),
    )
    .addOption(
      flag('--json', 'print one JSON object per line (first: {"event":"ready","url":…})', { env: 'BURROW_JSON' }),
    )
    .addOption(
      flag('--protocol <protocol>', 'the server speaks burrow, or the localtunnel protocol', {
        env: 'BURROW_PROTOCOL',
        choices: ['burrow', 'localtunnel'],
        default: 'burrow',
      }),
    )
    .addOption(connectTimeoutFlag())
    .addOption(qrFlag())
    .addOption(
      flag('--basic-auth <user:pass>', 'visitors must log in with this user and password', {
        env: 'BURROW_BASIC_AUTH',
      }),
    )
    .addOption(flag('--bearer <token>', 'visitors must send Authorization: Bearer <token>', { env: 'BURROW_BEARER' }))
    .addOption(
      flag('--allow-ip <cidr>', 'only these visitor addresses, repeatable (e.g. 10.0.0.0/8)', {
        env: 'BURROW_ALLOW_IP',
        parse: collect,
      }),
    )
    .addOption(
      flag('--deny-ip <cidr>', 'refuse these visitor addresses, repeatable', { env: 'BURROW_DENY_IP', parse: collect }),
    )
    .addOption(
      flag('--rate-limit <rate>', 'visitor requests per tunnel, e.g. 100/s or 20/m (429 beyond)', {
        env: 'BURROW_RATE_LIMIT',
      }),
    )
    .addOption(
      flag('--inspect <addr:port>', 'serve the request inspector (docs/inspector.md) here', {
        env: 'BURROW_INSPECT',
        parse: parseInspectAddress,
        defaultDescription: `${DEFAULT_INSPECT_HOST}:${DEFAULT_INSPECT_PORT}, or the next free port`,
      }),
    )
    .addOption(flag('--no-inspect', 'no request inspector', { env: 'BURROW_NO_INSPECT' }))
    .addOption(
      flag('--inspect-keep <n>', 'the inspector keeps the last N requests', {
        env: 'BURROW_INSPECT_KEEP',
        parse: parseIntArg(1, MAX_INSPECT_KEEP),
        defaultDescription: String(DEFAULT_INSPECT_KEEP),
      }),
    )
    .addOption(
      flag('--inspect-auth <user:pass>', 'the inspector asks for this user and password (required off loopback)', {
        env: 'BURROW_INSPECT_AUTH',
      }),
    );
}

/** The local service as the user gave it, checked before anything connects (a typo is a usage error). */
async function checkTarget(target: string, f: HttpFlags): Promise<void> {
  const { parseLocalTarget } = await import('../../client/burrow/local-target.js');
  try {
    parseLocalTarget(target, f.localHost ? { host: f.localHost } : {});
  } catch (err) {
    if (isBurrowError(err)) throw usageError(err.detail ?? err.message, TARGET_FIX);
    throw err;
  }
}

/** Visitor rules from the flags, validated now: a typo fails before connecting (exit 2). */
async function accessRules(f: HttpFlags): Promise<AccessRuleInput | undefined> {
  const access: AccessRuleInput = {};
  if (f.basicAuth) access.basicAuth = f.basicAuth;
  if (f.bearer) access.bearer = f.bearer;
  if (f.allowIp?.length) access.allowIps = f.allowIp;
  if (f.denyIp?.length) access.denyIps = f.denyIp;
  if (f.rateLimit) access.rateLimit = f.rateLimit;
  if (Object.keys(access).length === 0) return undefined;
  const { AccessPolicy } = await import('../../auth/access-policy.js');
  try {
    AccessPolicy.fromInput(access);
  } catch (err) {
    if (isBurrowError(err)) throw usageError(err.message, err.fix);
    throw err;
  }
  return access;
}

/**
 * The openTunnel() options these flags ask for (the first-contact ones aside), every value checked
 * first: a typo is a usage error (exit 2) before anything connects. `burrow start` builds each
 * tunnel of its file with it.
 */
export async function httpTunnelOptions(target: string, f: HttpFlags): Promise<OpenTunnelOptions> {
  await checkTarget(target, f);
  const options: OpenTunnelOptions = { url: target, server: f.server };
  if (f.subdomain) options.subdomain = f.subdomain;
  if (f.token) options.token = f.token;
  if (f.localHost) {
    // as pipenet does: dial this host and present it as the Host header
    options.localHost = f.localHost;
    options.hostHeader = f.localHost;
  }
  if (f.localHttps) options.localHttps = true;
  if (f.allowInvalidCert) options.allowInvalidCert = true;
  if (f.localCert) options.localCert = f.localCert;
  if (f.localKey) options.localKey = f.localKey;
  if (f.localCa) options.localCa = f.localCa;
  if (f.allowPort?.length) options.allowPorts = f.allowPort;
  // the status panel lists requests too (from the server's events when no inspector records them)
  const { panelWanted } = await import('../panel/attach.js');
  options.requestEvents = f.printRequests === true || f.json === true || panelWanted(f);
  const access = await accessRules(f);
  if (access) options.access = access as Record<string, unknown>;
  if (f.inspect !== false) options.inspect = await inspectOptions(f);
  return options;
}

/** The inspector's options from the flags, checked now: a problem fails before connecting (exit 2). */
async function inspectOptions(f: HttpFlags): Promise<InspectOptions> {
  const o: InspectOptions = {};
  if (f.inspect) {
    o.host = f.inspect.host;
    o.port = f.inspect.port;
  }
  if (f.inspectKeep !== undefined) o.keep = f.inspectKeep;
  if (f.inspectAuth !== undefined) o.auth = f.inspectAuth;
  const { checkInspectOptions } = await import('../../client/inspector/inspector.js');
  try {
    checkInspectOptions(o);
  } catch (err) {
    if (isBurrowError(err)) throw usageError(err.detail ?? err.message, err.fix);
    throw err;
  }
  return o;
}

/** Run the tunnel until a requested stop; resolves with the exit code (a failure throws). */
export async function runHttp(
  target: string,
  f: HttpFlags,
  stop: StopRequests,
  out: Out = (l) => process.stdout.write(l + '\n'),
): Promise<number> {
  const json = f.json === true;
  const say = (human: string, event: Record<string, unknown>): void => out(json ? JSON.stringify(event) : human);
  if (f.protocol === 'localtunnel') {
    await checkTarget(target, f);
    return runLocaltunnel(target, f, stop, say);
  }
  const options: OpenTunnelOptions = {
    ...(await httpTunnelOptions(target, f)),
    ...firstContact(f.server, f.connectTimeout, stop, say),
  };
  const tls = serverTrust(f, (line) => process.stderr.write(`${line}\n`));
  if (tls) options.tls = tls;
  const { openTunnel } = await import('../../client/burrow/open-tunnel.js');
  const tunnel: Tunnel = await openTunnel(options);
  const local = `${tunnel.target.https ? 'https://' : 'http://'}${tunnel.target.host}:${tunnel.target.port}`;
  say(`Forwarding ${tunnel.url} -> ${local}`, {
    event: 'ready',
    url: tunnel.url,
    name: tunnel.name,
    id: tunnel.id,
    local,
    ...(tunnel.inspector ? { inspector: tunnel.inspector.url } : {}),
  });
  if (tunnel.inspector && !json) out(`Inspector  ${tunnel.inspector.url}`);
  if (f.allowPort?.length) {
    const pattern = tunnel.url.replace(`://${tunnel.name}.`, `://${tunnel.name}-http-<port>.`);
    say(
      `Also: ${pattern} -> ${tunnel.target.host}:<port> for ports ${f.allowPort.join(', ')} (-https-<port> for HTTPS)`,
      {
        event: 'ports',
        pattern,
        ports: f.allowPort,
      },
    );
  }
  if (!json && process.stdout.isTTY) out('Press Ctrl-C to stop.');
  await (await import('../panel/attach.js')).showPanel(tunnel, f, out);
  tunnel.on('request', (r) => {
    if (f.printRequests || json) {
      say(`${r.method} ${r.path} ${r.status} ${r.durationMs.toFixed(1)}ms`, {
        event: 'request',
        method: r.method,
        path: r.path,
        status: r.status,
        durationMs: r.durationMs,
      });
    }
  });
  tunnel.on('disconnected', (e) =>
    say(`connection lost: ${e.message}`, { event: 'disconnected', code: e.code, message: e.message }),
  );
  tunnel.on('reconnecting', (r) => say(retryLine(r), retryEvent('reconnecting', r)));
  tunnel.on('reconnected', (r) => say(`reconnected: ${r.url}`, { event: 'reconnected', url: r.url }));
  return holdUntilStopped(tunnel, stop, say, json);
}

async function runLocaltunnel(
  target: string,
  f: HttpFlags,
  stop: StopRequests,
  say: (human: string, event: Record<string, unknown>) => void,
): Promise<number> {
  const { LocaltunnelClient } = await import('../../client/localtunnel/index.js');
  const port = Number(
    /^\d+$/.test(target) ? target : new URL(/^https?:/.test(target) ? target : `http://${target}`).port,
  );
  const lo: LocaltunnelOptions = { port, host: f.server };
  if (f.subdomain) lo.subdomain = f.subdomain;
  if (f.localHost) lo.localHost = f.localHost;
  if (f.localHttps) lo.localHttps = true;
  if (f.allowInvalidCert) lo.allowInvalidCert = true;
  if (f.localCert) lo.localCert = f.localCert;
  if (f.localKey) lo.localKey = f.localKey;
  if (f.localCa) lo.localCa = f.localCa;
  say(`connecting to ${f.server} (localtunnel protocol) …`, { event: 'connecting', server: f.server });
  const t = new LocaltunnelClient(lo);
  // every failed attempt is printed with its reason, its fix and the next delay, as for burrow's protocol
  let ready = false;
  t.on('reconnecting', (r) => {
    const info: RetryInfo = { attempt: r.attempt, delayMs: r.delayMs, error: localtunnelFailure(r.error) };
    say(retryLine(info, ready ? undefined : f.connectTimeout), retryEvent(ready ? 'reconnecting' : 'retry', info));
  });
  // the localtunnel client retries its handshake for ever: the same --connect-timeout bound applies
  let timer: NodeJS.Timeout | undefined;
  const givenUp = new Promise<never>((_resolve, reject) => {
    if (f.connectTimeout > 0)
      timer = setTimeout(
        () =>
          reject(
            new BurrowError(
              'BURROW_ERR_SERVER_UNREACHABLE',
              `no localtunnel answer from ${f.server} in ${f.connectTimeout / 1000} s`,
              {
                fix: 'Check --server and that a localtunnel, pipenet or burrow server runs there (--connect-timeout 0 keeps trying).',
              },
            ),
          ),
        f.connectTimeout,
      );
    void stop.requested.then(() =>
      reject(new BurrowError('BURROW_ERR_SHUTTING_DOWN', 'stopped before the tunnel was ready')),
    );
  });
  givenUp.catch(() => {}); // a stop after the tunnel opened is handled below
  try {
    await Promise.race([t.open(), givenUp]);
  } catch (err) {
    t.close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  ready = true;
  say(`Forwarding ${t.url} -> ${f.localHost ?? 'localhost'}:${port} (localtunnel protocol)`, {
    event: 'ready',
    url: t.url,
    protocol: 'localtunnel',
  });
  if (f.printRequests || f.json)
    t.on('request', (r) => say(`${r.method} ${r.path}`, { event: 'request', method: r.method, path: r.path }));
  t.on('error', (e: Error) => say(`connection problem: ${e.message}`, { event: 'error', message: e.message }));
  await stop.requested;
  t.close();
  return 0;
}

/** `burrow http` takes the local service as an argument or as --port (the localtunnel habit). */
function targetOf(target: string | undefined, f: HttpFlags): string {
  if (target !== undefined && f.port !== undefined && String(f.port) !== target)
    throw usageError(`both a target (${target}) and --port ${f.port} were given`, TARGET_FIX);
  const t = target ?? (f.port !== undefined ? String(f.port) : undefined);
  if (t === undefined) throw usageError('no local service given', TARGET_FIX);
  return t;
}

export function registerHttpCommands(program: Command): void {
  const http = program
    .command('http')
    .argument('[target]', 'local port, host:port or URL (e.g. 3000, http://localhost:3000)')
    .description('put a local HTTP service on a public URL');
  http.addOption(
    flag('--port <port>', 'local port (instead of <target>)', {
      env: 'BURROW_LOCAL_PORT',
      parse: parseIntArg(1, 65535),
    }),
  );
  addHttpFlags(http).action(async (target: string | undefined, flags: HttpFlags, cmd: Command) =>
    runCommand(cmd, { command: 'http', tokenGiven: flags.token !== undefined }, (stop) =>
      runHttp(targetOf(target, flags), flags, stop),
    ),
  );

  const client = program
    .command('client')
    .description("the same as `burrow http`, in pipenet's words: --port N --host URL")
    .addOption(
      flag('--port <port>', 'local port (required)', {
        env: 'BURROW_LOCAL_PORT',
        parse: parseIntArg(1, 65535),
      }).makeOptionMandatory(),
    )
    .addOption(flag('--host <url>', 'server URL (same as --server)', { env: 'BURROW_HOST', parse: parseServerUrl }));
  addHttpFlags(client).action(async (flags: HttpFlags & { port: number; host?: string }, cmd: Command) =>
    runCommand(cmd, { command: 'client', tokenGiven: flags.token !== undefined }, (stop) => {
      const f: HttpFlags = { ...flags };
      if (flags.host && cmd.getOptionValueSource('server') === 'default') f.server = flags.host;
      return runHttp(String(flags.port), f, stop);
    }),
  );
}

/** A localtunnel client's failure, with a fix fitting the localtunnel protocol. */
function localtunnelFailure(err: Error): BurrowError {
  if (isBurrowError(err)) return err;
  return new BurrowError('BURROW_ERR_SERVER_UNREACHABLE', err.message, {
    fix: 'Check --server and that a localtunnel, pipenet or burrow server runs there (--connect-timeout 0 keeps trying).',
  });
}
