/** `burrow http <port|url>` (and `burrow client --port N`, pipenet's words): expose a local HTTP service. */
import { Command, Option } from 'commander';
import { openTunnel, type Tunnel } from '../../client/burrow/open-tunnel.js';
import { openLocaltunnel, type OpenLocaltunnelOptions } from '../../client/localtunnel/index.js';
import { collect, envFirst, parseIntArg, printError } from '../util.js';
import { AccessPolicy, type AccessRuleInput } from '../../auth/access-policy.js';

export interface HttpFlags {
  server?: string;
  subdomain?: string;
  token?: string;
  localHost?: string;
  localHttps?: boolean;
  allowInvalidCert?: boolean;
  localCert?: string;
  localKey?: string;
  localCa?: string;
  printRequests?: boolean;
  json?: boolean;
  protocol?: string;
  basicAuth?: string;
  bearer?: string;
  allowIp?: string[];
  denyIp?: string[];
  rateLimit?: string;
}

type Out = (line: string) => void;

export function addHttpFlags(cmd: Command): Command {
  return cmd
    .option('-s, --server <url>', 'burrow server URL (env BURROW_SERVER; default http://localhost:8080)')
    .option('--subdomain <name>', 'ask for this name (4–63 of a-z, 0-9, -)')
    .option('-t, --token <token>', 'access token when the server requires one (env BURROW_TOKEN)')
    .option('--local-host <host>', 'host of the local service (default localhost)')
    .option('--local-https', 'the local service speaks HTTPS')
    .option('--allow-invalid-cert', 'accept a self-signed local certificate (with --local-https)')
    .option('--local-cert <file>', 'client certificate (PEM) for the local HTTPS service')
    .option('--local-key <file>', 'private key (PEM) for --local-cert')
    .option('--local-ca <file>', 'CA (PEM) to verify the local HTTPS service')
    .option('--print-requests', 'print method, path, status and duration of each request')
    .option('--json', 'print one JSON object per line (first: {"event":"ready","url":…})')
    .addOption(
      new Option('--protocol <protocol>', 'server protocol').choices(['burrow', 'localtunnel']).default('burrow'),
    )
    .option('--basic-auth <user:pass>', 'visitors must log in with this user and password (checked at the server)')
    .option('--bearer <token>', 'visitors must send Authorization: Bearer <token>')
    .option('--allow-ip <cidr>', 'only these visitor addresses, repeatable (e.g. 10.0.0.0/8)', collect)
    .option('--deny-ip <cidr>', 'refuse these visitor addresses, repeatable', collect)
    .option('--rate-limit <rate>', 'visitor request limit per tunnel, e.g. 100/s or 20/m (429 beyond)');
}

/** Run the tunnel until Ctrl-C; resolves with the process exit code. */
export async function runHttp(
  target: string,
  f: HttpFlags,
  out: Out = (l) => process.stdout.write(l + '\n'),
): Promise<number> {
  const json = f.json === true;
  const say = (human: string, event: Record<string, unknown>): void => out(json ? JSON.stringify(event) : human);
  const server = f.server ?? envFirst('BURROW_SERVER') ?? 'http://localhost:8080';
  if (f.protocol === 'localtunnel') {
    const port = Number(
      /^\d+$/.test(target) ? target : new URL(/^https?:/.test(target) ? target : `http://${target}`).port,
    );
    const lo: OpenLocaltunnelOptions = { port, server };
    if (f.subdomain) lo.subdomain = f.subdomain;
    if (f.localHost) lo.localHost = f.localHost;
    if (f.localHttps) lo.localHttps = true;
    if (f.allowInvalidCert) lo.allowInvalidCert = true;
    if (f.localCert) lo.localCert = f.localCert;
    if (f.localKey) lo.localKey = f.localKey;
    if (f.localCa) lo.localCa = f.localCa;
    const t = await openLocaltunnel(lo);
    const stopped = waitForSignal(async () => t.close());
    say(`Forwarding ${t.url} -> ${f.localHost ?? 'localhost'}:${port} (localtunnel protocol)`, {
      event: 'ready',
      url: t.url,
      protocol: 'localtunnel',
    });
    if (f.printRequests || json)
      t.on('request', (r) => say(`${r.method} ${r.path}`, { event: 'request', method: r.method, path: r.path }));
    t.on('reconnecting', (r: unknown) => say('reconnecting…', { event: 'reconnecting', detail: r }));
    t.on('error', (e: Error) => say(`error: ${e.message}`, { event: 'error', message: e.message }));
    return stopped;
  }
  const options: Parameters<typeof openTunnel>[0] = { url: target, server };
  if (f.subdomain) options.subdomain = f.subdomain;
  const token = f.token ?? envFirst('BURROW_TOKEN');
  if (token) options.token = token;
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
  options.requestEvents = f.printRequests === true || json;
  const access: AccessRuleInput = {};
  if (f.basicAuth) access.basicAuth = f.basicAuth;
  if (f.bearer) access.bearer = f.bearer;
  if (f.allowIp?.length) access.allowIps = f.allowIp;
  if (f.denyIp?.length) access.denyIps = f.denyIp;
  if (f.rateLimit) access.rateLimit = f.rateLimit;
  if (Object.keys(access).length) {
    AccessPolicy.fromInput(access); // validate here: a typo fails before connecting
    options.access = access as Record<string, unknown>;
  }
  if (!/^(\d+|https?:\/\/.+|[^:]+:\d+)$/i.test(target)) {
    throw new Error(`"${target}" is not a port, host:port or http(s):// URL (e.g. burrow http 3000)`);
  }
  const tunnel: Tunnel = await openTunnel(options);
  // listen for signals before saying "ready": a script may send one as soon as it reads that line
  const stopped = waitForSignal(() => {
    tunnel.close();
    return tunnel.whenClosed();
  }, tunnel);
  const local = `${tunnel.target.https ? 'https://' : 'http://'}${tunnel.target.host}:${tunnel.target.port}`;
  say(`Forwarding ${tunnel.url} -> ${local}`, {
    event: 'ready',
    url: tunnel.url,
    name: tunnel.name,
    id: tunnel.id,
    local,
  });
  if (!json && process.stdout.isTTY) out('Press Ctrl-C to stop.');
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
  tunnel.on('reconnecting', (r) =>
    say(`reconnecting in ${(r.delayMs / 1000).toFixed(1)}s (attempt ${r.attempt}): ${r.error.message}`, {
      event: 'reconnecting',
      attempt: r.attempt,
      delayMs: r.delayMs,
      message: r.error.message,
    }),
  );
  tunnel.on('reconnected', (r) => say(`reconnected: ${r.url}`, { event: 'reconnected', url: r.url }));
  let failed: Error | undefined;
  tunnel.on('error', (e) => {
    failed = e;
    say(`error: ${e.message}`, { event: 'error', code: e.code, message: e.message });
  });
  const code = await stopped;
  return failed ? 1 : code;
}

/**
 * Resolve with the exit code: 0 after a signal, once `close` says goodbye (bounded by
 * GOODBYE_TIMEOUT_MS: exiting earlier would drop a goodbye still queued behind data, and the server
 * would then hold the name for the whole resume grace); 1 when the tunnel closes on its own (a
 * final error). A second signal stops waiting.
 */
function waitForSignal(close: () => Promise<void>, tunnel?: Tunnel): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const done = (code: number): void => {
      process.off('SIGINT', onSig);
      process.off('SIGTERM', onSig);
      resolve(code);
    };
    const onSig = (): void => {
      if (stopping) {
        done(0);
        return;
      }
      stopping = true;
      close().then(
        () => done(0),
        () => done(0),
      );
    };
    process.on('SIGINT', onSig);
    process.on('SIGTERM', onSig);
    tunnel?.once('close', () => {
      if (!stopping) done(1);
    });
  });
}

export function registerHttpCommands(program: Command): void {
  const http = program
    .command('http')
    .argument('<target>', 'local port, host:port or URL (e.g. 3000, http://localhost:3000)')
    .description('put a local HTTP service on a public URL');
  addHttpFlags(http).action(async (target: string, flags: HttpFlags) => {
    try {
      process.exitCode = await runHttp(target, flags);
    } catch (err) {
      process.exitCode = printError(err);
    }
    // exit even if a socket lingers
    setImmediate(() => process.exit(process.exitCode ?? 0));
  });

  const client = program
    .command('client')
    .description("alias of `burrow http` in pipenet's words: --port N --host URL")
    .requiredOption('--port <port>', 'local port', parseIntArg(1, 65535))
    .option('--host <url>', 'server URL (same as --server)');
  addHttpFlags(client).action(async (flags: HttpFlags & { port: number; host?: string }) => {
    try {
      const f: HttpFlags = { ...flags };
      if (flags.host && !flags.server) f.server = flags.host;
      process.exitCode = await runHttp(String(flags.port), f);
    } catch (err) {
      process.exitCode = printError(err);
    }
    setImmediate(() => process.exit(process.exitCode ?? 0));
  });
}
