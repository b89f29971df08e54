/**
 * `burrow start [names…]`: open every tunnel of a config file (burrow.yml), or the named ones, over
 * ONE agent connection. The file is read and checked by src/cli/config-file/ (the same flag parsers
 * and flags → options functions as `burrow http` and `burrow tcp`); the tunnels open with
 * openTunnels(). Output as those commands print it, each line or JSON event with its tunnel's name.
 */
import type { Command } from 'commander';
import type { GroupMember, TunnelGroup } from '../../client/burrow/open-tunnels.js';
import type { RequestEvent } from '../../wire/mux/messages.js';
import { BurrowError, ERROR_CODES, isBurrowError } from '../../core/errors.js';
import type { ConfigFile } from '../config-file/load.js';
import { didYouMean } from '../config-file/suggest.js';
import { flag } from '../env.js';
import { qrFlag } from '../panel/flags.js';
import { usageError } from '../errors.js';
import { runCommand, type StopRequests } from '../run.js';
import { parseServerUrl } from '../util.js';
import {
  caFlag,
  connectTimeoutFlag,
  firstContact,
  holdUntilStopped,
  insecureFlag,
  retryEvent,
  retryLine,
  serverTrust,
} from './connecting.js';
import { configFlag, readConfig } from './config.js';

export interface StartFlags {
  config: string;
  server?: string;
  token?: string;
  json?: boolean;
  qr?: boolean;
  connectTimeout: number;
  /** --ca: PEM file of the CA(s) the server's certificate is checked against. */
  ca?: string;
  /** --insecure: no check of the server's certificate. */
  insecure?: boolean;
}

type Say = (human: string, event: Record<string, unknown>) => void;

/** The tunnels asked for by name (all when none is named); an unknown name is a usage error. */
function pick(config: ConfigFile, names: readonly string[]): ConfigFile['tunnels'] {
  if (names.length === 0) return config.tunnels;
  const known = config.tunnels.map((t) => t.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length) {
    throw usageError(
      `${config.file} has no tunnel ${unknown.map((n) => `"${n}"${didYouMean(n, known)}`).join(', ')}`,
      `Name tunnels of the file: ${known.join(', ')} (or none to start them all).`,
    );
  }
  return config.tunnels.filter((t) => names.includes(t.name));
}

/** A refusal, its fix in the file's words (the printer's generic fix speaks of flags). */
function inFileWords(err: unknown, file: string, tokenGiven: boolean): unknown {
  if (!isBurrowError(err) || err.fix !== ERROR_CODES[err.code].fix) return err;
  const tunnel = /^tunnel (\S+):/.exec(err.detail ?? '')?.[1] ?? 'the tunnel';
  let fix: string | undefined;
  switch (err.code) {
    case 'BURROW_ERR_NAME_TAKEN':
      fix = `Choose another \`subdomain:\` (tcp: \`name:\`) for ${tunnel} in ${file}, or stop the other client first.`;
      break;
    case 'BURROW_ERR_NAME_RESERVED':
    case 'BURROW_ERR_INVALID_NAME':
      fix = `Choose another \`subdomain:\` (tcp: \`name:\`) for ${tunnel} in ${file}: ${err.fix}`;
      break;
    case 'BURROW_ERR_UNAUTHORIZED':
      fix = tokenGiven
        ? `The server does not know this token (mistyped, revoked or expired): give a valid one as \`token:\` in ${file}, --token or BURROW_TOKEN.`
        : `This server requires a token: give \`token: \${BURROW_TOKEN}\` in ${file} (or --token / BURROW_TOKEN).`;
      break;
  }
  return fix ? new BurrowError(err.code, err.detail, { cause: err, fix }) : err;
}

async function runStart(names: string[], f: StartFlags, stop: StopRequests): Promise<number> {
  const json = f.json === true;
  const out = (line: string): void => void process.stdout.write(line + '\n');
  const say: Say = (human, event) => out(json ? JSON.stringify(event) : human);
  const config = await readConfig(f.config, { server: f.server, token: f.token });
  const chosen = pick(config, names);
  const server = f.server ?? config.server;
  const { DEFAULT_SERVER } = await import('./connecting.js');
  const serverUrl = server ?? DEFAULT_SERVER;
  const { openTunnels } = await import('../../client/burrow/open-tunnels.js');
  const { panelWanted, showPanel } = await import('../panel/attach.js');
  const panel = panelWanted({ json });
  const token = f.token ?? config.token;
  const tls = serverTrust(f, (line) => process.stderr.write(`${line}\n`));
  let group: TunnelGroup;
  try {
    group = await openTunnels({
      server: serverUrl,
      ...(token ? { token } : {}),
      ...(tls ? { tls } : {}),
      // request events feed --json, print-requests and the panel's request list
      tunnels: chosen.map((t) =>
        t.entry.kind === 'http'
          ? { ...t.entry, options: { ...t.entry.options, requestEvents: json || panel || t.printRequests } }
          : t.entry,
      ),
      ...firstContact(serverUrl, f.connectTimeout, stop, say),
    });
  } catch (err) {
    throw inFileWords(err, config.file, Boolean(token));
  }
  const width = Math.max(...group.members.map((m) => m.name.length));
  const label = (m: GroupMember): string => m.name.padEnd(width);
  for (const m of group.members) {
    const printRequests = json || chosen.find((t) => t.name === m.name)?.printRequests === true;
    if (m.kind === 'http') sayHttpReady(m, label(m), say, printRequests);
    else sayTcpReady(m, label(m), say);
  }
  const inspectors = new Set(
    group.members.flatMap((m) => (m.kind === 'http' && m.tunnel.inspector ? [m.tunnel.inspector.url] : [])),
  );
  if (!json) for (const url of inspectors) out(`Inspector  ${url}`);
  if (!json && process.stdout.isTTY && !panel) out('Press Ctrl-C to stop.');
  group.on('disconnected', (e) =>
    say(`connection lost: ${e.message}`, { event: 'disconnected', code: e.code, message: e.message }),
  );
  group.on('reconnecting', (r) => say(retryLine(r), retryEvent('reconnecting', r)));
  group.on('unregistered', (m, e) =>
    say(`${m.name}: closed by the server: ${e.message}`, {
      event: 'closed',
      tunnel: m.name,
      code: e.code,
      message: e.message,
    }),
  );
  await showPanel(group, f, out);
  return holdUntilStopped(group, stop, say, json);
}

function sayHttpReady(
  m: Extract<GroupMember, { kind: 'http' }>,
  label: string,
  say: Say,
  printRequests: boolean,
): void {
  const t = m.tunnel;
  const local = `${t.target.https ? 'https://' : 'http://'}${t.target.host}:${t.target.port}`;
  say(`${label}  Forwarding ${t.url} -> ${local}`, {
    event: 'ready',
    tunnel: m.name,
    kind: 'http',
    url: t.url,
    name: t.name,
    id: t.id,
    local,
    ...(t.inspector ? { inspector: t.inspector.url } : {}),
  });
  t.on('reconnected', (r) =>
    say(`${label}  reconnected: ${r.url}`, { event: 'reconnected', tunnel: m.name, url: r.url }),
  );
  if (printRequests)
    t.on('request', (r: RequestEvent) =>
      say(`${label}  ${r.method} ${r.path} ${r.status} ${r.durationMs.toFixed(1)}ms`, {
        event: 'request',
        tunnel: m.name,
        method: r.method,
        path: r.path,
        status: r.status,
        durationMs: r.durationMs,
      }),
    );
}

function sayTcpReady(m: Extract<GroupMember, { kind: 'tcp' }>, label: string, say: Say): void {
  const t = m.tunnel;
  const local = `${t.target.host}:${t.target.port}`;
  say(
    [
      `${label}  Forwarding ${t.tcpAddress ?? '(no public port)'} -> ${local}`,
      `${' '.repeat(label.length)}  WebSocket access: ${t.wsUrl ?? '-'} (token: ${t.accessToken ?? '-'})`,
    ].join('\n'),
    {
      event: 'ready',
      tunnel: m.name,
      kind: 'tcp',
      url: t.tcpAddress ?? t.wsUrl,
      name: t.name,
      tcpAddress: t.tcpAddress,
      wsUrl: t.wsUrl,
      accessToken: t.accessToken,
      local,
    },
  );
  t.on('reconnected', (r) =>
    say(`${label}  reconnected: ${r.tcpAddress ?? r.wsUrl ?? r.name}`, { event: 'reconnected', tunnel: m.name, ...r }),
  );
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .argument('[names...]', 'start only these tunnels of the file (default: all)')
    .description('open the tunnels of a config file (burrow.yml) over one connection')
    .addOption(configFlag())
    .addOption(
      flag('-s, --server <url>', "burrow server, over the file's `server:`", {
        env: 'BURROW_SERVER',
        parse: parseServerUrl,
        defaultDescription: "the file's server, else http://localhost:8080",
      }),
    )
    .addOption(flag('-t, --token <token>', "access token, over the file's `token:`", { env: 'BURROW_TOKEN' }))
    .addOption(
      flag('--json', 'print one JSON object per line ({"event":"ready","tunnel":…,"url":…} per tunnel)', {
        env: 'BURROW_JSON',
      }),
    )
    .addOption(qrFlag())
    .addOption(caFlag())
    .addOption(insecureFlag())
    .addOption(connectTimeoutFlag())
    .action(async (names: string[], f: StartFlags, cmd: Command) =>
      runCommand(cmd, { command: 'start', tokenGiven: f.token !== undefined }, (stop) => runStart(names, f, stop)),
    );
}
