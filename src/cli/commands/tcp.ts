/** `burrow tcp <port>`: expose a local TCP service (public port and/or WebSocket access). */
import type { Command } from 'commander';
import { exposeTcp, type ExposeTcpOptions } from '../../client/burrow/expose-tcp.js';
import { envFirst, parseIntArg, printError } from '../util.js';

export interface TcpFlags {
  server?: string;
  name?: string;
  remotePort?: number;
  publicPort?: boolean;
  token?: string;
  localHost?: string;
  json?: boolean;
}

export function registerTcpCommand(program: Command): void {
  program
    .command('tcp')
    .argument('<port>', 'local TCP port (or host:port)')
    .description('expose a local TCP service (SSH, ADB, databases) through a burrow server')
    .option('-s, --server <url>', 'burrow server URL (env BURROW_SERVER; default http://localhost:8080)')
    .option('--name <name>', 'ask for this name (the /tcp/<name> WebSocket path)')
    .option(
      '--remote-port <port>',
      'ask for this public TCP port (within the server --tcp-ports range)',
      parseIntArg(1, 65535),
    )
    .option('--no-public-port', 'no public TCP port: reachable only through the WebSocket access')
    .option('-t, --token <token>', 'access token when the server requires one (env BURROW_TOKEN)')
    .option('--local-host <host>', 'host of the local service (default localhost)')
    .option('--json', 'print one JSON object per line')
    .action(async (port: string, f: TcpFlags) => {
      try {
        const o: ExposeTcpOptions = {
          port,
          server: f.server ?? envFirst('BURROW_SERVER') ?? 'http://localhost:8080',
        };
        if (f.name) o.name = f.name;
        if (f.remotePort) o.remotePort = f.remotePort;
        if (f.publicPort === false) o.publicPort = false;
        const token = f.token ?? envFirst('BURROW_TOKEN');
        if (token) o.token = token;
        if (f.localHost) o.localHost = f.localHost;
        const t = await exposeTcp(o);
        // Listen for signals before saying "ready" (a script may send one as soon as it reads it).
        // A signal is a clean stop (exit 0); the tunnel closing on its own (final error) exits 1.
        // The close that t.close() itself causes must not count as the latter.
        const exit = new Promise<number>((resolve) => {
          const onSig = (): void => {
            t.off('close', onClose);
            resolve(0);
          };
          const onClose = (): void => {
            process.off('SIGINT', onSig);
            process.off('SIGTERM', onSig);
            resolve(1);
          };
          process.once('SIGINT', onSig);
          process.once('SIGTERM', onSig);
          t.once('close', onClose);
        });
        const say = (human: string, ev: Record<string, unknown>): void => {
          process.stdout.write((f.json ? JSON.stringify(ev) : human) + '\n');
        };
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
        t.on('reconnecting', (r) =>
          say(`reconnecting in ${(r.delayMs / 1000).toFixed(1)}s (attempt ${r.attempt})`, {
            event: 'reconnecting',
            ...r,
            error: r.error.message,
          }),
        );
        // The server may hand out a new public port and access token after a reconnect: say so.
        let lastToken = t.accessToken;
        t.on('reconnected', (r) => {
          const lines = [`reconnected: ${r.tcpAddress ?? r.wsUrl ?? r.name}`];
          if (r.accessToken && r.accessToken !== lastToken) lines.push(`  new token: ${r.accessToken}`);
          lastToken = r.accessToken;
          say(lines.join('\n'), { event: 'reconnected', ...r });
        });
        t.on('error', (e) => say(`error: ${e.message}`, { event: 'error', code: e.code, message: e.message }));
        process.exitCode = await exit;
        t.close();
        await t.whenClosed(); // the goodbye must leave before the process does
      } catch (err) {
        process.exitCode = printError(err);
      }
      setImmediate(() => process.exit(process.exitCode ?? 0));
    });
}
