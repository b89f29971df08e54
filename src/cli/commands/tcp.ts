/** `burrow tcp <port>`: expose a local TCP service (public port and/or WebSocket access). */
import type { Command } from 'commander';
import type { ExposeTcpOptions } from '../../client/burrow/expose-tcp.js';
import { isBurrowError } from '../../core/errors.js';
import { flag } from '../env.js';
import { usageError } from '../errors.js';
import { runCommand, type StopRequests } from '../run.js';
import { parseIntArg } from '../util.js';
import {
  caFlag,
  connectTimeoutFlag,
  firstContact,
  holdUntilStopped,
  insecureFlag,
  serverTrust,
  localHostFlag,
  retryEvent,
  retryLine,
  serverFlag,
  tokenFlag,
} from './connecting.js';

export interface TcpFlags {
  server: string;
  /** --ca: PEM file of the CA(s) the server's certificate is checked against. */
  ca?: string;
  /** --insecure: no check of the server's certificate. */
  insecure?: boolean;
  name?: string;
  remotePort?: number;
  publicPort?: boolean;
  token?: string;
  localHost?: string;
  json?: boolean;
  connectTimeout: number;
}

/**
 * The exposeTcp() options these flags ask for (the first-contact ones aside), every value checked
 * first: a typo is a usage error (exit 2) before anything connects. `burrow start` builds each tcp
 * tunnel of its file with it.
 */
export async function tcpTunnelOptions(port: string, f: TcpFlags): Promise<ExposeTcpOptions> {
  const { parseLocalTarget } = await import('../../client/burrow/local-target.js');
  try {
    parseLocalTarget(port, { host: f.localHost ?? 'localhost' });
  } catch (err) {
    if (isBurrowError(err))
      throw usageError(
        err.detail ?? err.message,
        'Give the local TCP port (1–65535) or host:port, e.g. `burrow tcp 22`.',
      );
    throw err;
  }
  if (f.publicPort === false && f.remotePort !== undefined)
    throw usageError('--remote-port asks for a public port; --no-public-port refuses one', 'Pass one of the two.');
  const o: ExposeTcpOptions = { port, server: f.server };
  if (f.name) o.name = f.name;
  if (f.remotePort) o.remotePort = f.remotePort;
  if (f.publicPort === false) o.publicPort = false;
  if (f.token) o.token = f.token;
  if (f.localHost) o.localHost = f.localHost;
  return o;
}

async function runTcp(port: string, f: TcpFlags, stop: StopRequests): Promise<number> {
  const say = (human: string, ev: Record<string, unknown>): void => {
    process.stdout.write((f.json ? JSON.stringify(ev) : human) + '\n');
  };
  const { exposeTcp } = await import('../../client/burrow/expose-tcp.js');
  const o: ExposeTcpOptions = {
    ...(await tcpTunnelOptions(port, f)),
    ...firstContact(f.server, f.connectTimeout, stop, say),
  };
  const tls = serverTrust(f, (line) => process.stderr.write(`${line}\n`));
  if (tls) o.tls = tls;
  const t = await exposeTcp(o);
  const local = `${t.target.host}:${t.target.port}`;
  say(
    [
      `Forwarding ${t.tcpAddress ?? '(no public port)'} -> ${local}`,
      `WebSocket access: ${t.wsUrl ?? '-'}`,
      `  token: ${t.accessToken ?? '-'}`,
      `  connect: burrow connect ${t.wsUrl ?? ''} --token ${t.accessToken ?? ''} --local-port 0`,
    ].join('\n'),
    { event: 'ready', name: t.name, tcpAddress: t.tcpAddress, wsUrl: t.wsUrl, accessToken: t.accessToken, local },
  );
  t.on('disconnected', (e) =>
    say(`connection lost: ${e.message}`, { event: 'disconnected', code: e.code, message: e.message }),
  );
  t.on('reconnecting', (r) => say(retryLine(r), retryEvent('reconnecting', r)));
  // The server may hand out a new public port and access token after a reconnect: say so.
  let lastToken = t.accessToken;
  t.on('reconnected', (r) => {
    const lines = [`reconnected: ${r.tcpAddress ?? r.wsUrl ?? r.name}`];
    if (r.accessToken && r.accessToken !== lastToken) lines.push(`  new token: ${r.accessToken}`);
    lastToken = r.accessToken;
    say(lines.join('\n'), { event: 'reconnected', ...r });
  });
  return holdUntilStopped(t, stop, say, f.json === true);
}

export function registerTcpCommand(program: Command): void {
  const tcp = program
    .command('tcp')
    .argument('<port>', 'local TCP port (or host:port)')
    .description('expose a local TCP service (SSH, ADB, databases) through a burrow server');
  addTcpFlags(tcp).action(async (port: string, f: TcpFlags, cmd: Command) =>
    runCommand(cmd, { command: 'tcp', tokenGiven: f.token !== undefined }, (stop) => runTcp(port, f, stop)),
  );
}

/** The flags of `burrow tcp` (also the keys of a tcp tunnel in `burrow start`'s file). */
export function addTcpFlags(cmd: Command): Command {
  return cmd
    .addOption(serverFlag())
    .addOption(caFlag())
    .addOption(insecureFlag())
    .addOption(flag('--name <name>', 'ask for this name (the /tcp/<name> WebSocket path)', { env: 'BURROW_TCP_NAME' }))
    .addOption(
      flag('--remote-port <port>', "ask for this public TCP port (within the server's --tcp-ports range)", {
        env: 'BURROW_REMOTE_PORT',
        parse: parseIntArg(1, 65535),
      }),
    )
    .addOption(
      flag('--no-public-port', 'no public TCP port: reachable only through the WebSocket access', {
        env: 'BURROW_NO_PUBLIC_PORT',
      }),
    )
    .addOption(tokenFlag())
    .addOption(localHostFlag())
    .addOption(flag('--json', 'print one JSON object per line', { env: 'BURROW_JSON' }))
    .addOption(connectTimeoutFlag());
}
