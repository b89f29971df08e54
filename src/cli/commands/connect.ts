import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import {
  startTcpTunnel,
  type BurrowTcpTunnel,
  type TunnelConnectionState,
  type TunnelMode,
} from '../../client/tcp-tunnel.js';
import { connectStdio } from '../../client/tcp/stdio.js';
import type { LinkEnd } from '../../client/tcp/singleton-link.js';
import { printError } from '../util.js';

export interface ConnectOptions {
  localPort: number;
  localAddress: string;
  mode: TunnelMode;
  token?: string | undefined;
  stdio?: boolean | undefined;
  json?: boolean | undefined;
  logLevel: 'none' | 'error' | 'warn' | 'info' | 'debug';
}

export interface ConnectIO {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface ConnectHandle {
  /** The local listener (not in --stdio mode). */
  tunnel?: BurrowTcpTunnel;
  /** Resolves with the process exit code once the command is over. */
  done: Promise<number>;
  close(): void;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0–65535');
  return n;
}

function checkUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected a ws:// or wss:// URL');
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new InvalidArgumentError('expected a ws:// or wss:// URL');
  return value;
}

/** The URL without its query (it may hold secrets) for printing. */
function printable(url: string): string {
  const u = new URL(url);
  u.search = '';
  u.username = '';
  u.password = '';
  return u.toString();
}

/**
 * `burrow connect`, as a function the CLI and tests call. Prints to io.stdout (one JSON object per
 * line with --json); with --stdio, stdout carries the connection and messages go to io.stderr.
 */
export async function runConnect(url: string, options: ConnectOptions, io: ConnectIO): Promise<ConnectHandle> {
  const token = options.token ?? '';
  const out = options.stdio ? io.stderr : io.stdout;
  const say = (event: Record<string, unknown>, human: string): void => {
    out.write(options.json ? `${JSON.stringify(event)}\n` : `${human}\n`);
  };
  const onState = (state: TunnelConnectionState): void => say({ event: 'state', state }, `state: ${state}`);

  if (options.stdio) {
    const conn = connectStdio(url, token, {
      input: io.stdin,
      output: io.stdout,
      logLevel: options.logLevel,
      onStateChange: onState,
    });
    const done = conn.done.then((end: LinkEnd) => {
      if (end.reason === 'refused')
        say({ event: 'error', status: end.status }, `error: the server refused the connection (HTTP ${end.status})`);
      if (end.reason === 'exhausted')
        say({ event: 'error', reason: 'exhausted' }, 'error: could not reconnect; giving up');
      return end.reason === 'refused' || end.reason === 'exhausted' ? 1 : 0;
    });
    return { done, close: () => conn.close() };
  }

  const tunnel = await startTcpTunnel(url, token, options.localAddress, options.localPort, {
    mode: options.mode,
    logLevel: options.logLevel,
  });
  const { address, port } = tunnel.address;
  say(
    { event: 'ready', address, port, url: printable(url), mode: options.mode },
    `Listening on ${address}:${port} → ${printable(url)} (${options.mode})`,
  );
  tunnel.onConnectionStateChange(onState);
  const done = tunnel.closed.then((end) => {
    if (end.reason === 'refused')
      say({ event: 'error', status: end.status }, `error: the server refused the connection (HTTP ${end.status})`);
    if (end.reason === 'exhausted')
      say({ event: 'error', reason: 'exhausted' }, 'error: could not reconnect; giving up');
    return end.reason === 'closed' ? 0 : 1;
  });
  return { tunnel, done, close: () => tunnel.close() };
}

/** Registers `burrow connect <ws-url>`. */
export function registerConnectCommand(program: Command): void {
  program
    .command('connect')
    .description('Forward a local TCP port (or stdin/stdout) over a WebSocket to a TCP target (limrun-compatible)')
    .argument('<ws-url>', 'WebSocket URL of the target, e.g. wss://burrow.example.com/tcp/adb', checkUrl)
    .option('--local-port <port>', 'local port to listen on (0 = any free port)', parsePort, 0)
    .option('--local-address <address>', 'local address to listen on', '127.0.0.1')
    .addOption(
      new Option('--mode <mode>', 'one WebSocket per connection, or all connections on one')
        .choices(['singleton', 'multiplexed'])
        .default('singleton'),
    )
    .addOption(new Option('--token <token>', 'Bearer token for the target').env('BURROW_TOKEN'))
    .option('--stdio', 'carry one connection over stdin/stdout (SSH ProxyCommand)')
    .option('--json', 'print one JSON object per line')
    .addOption(
      new Option('--log-level <level>', 'client log level (stderr)')
        .choices(['none', 'error', 'warn', 'info', 'debug'])
        .default('warn'),
    )
    .action(async (url: string, opts: ConnectOptions) => {
      let handle: ConnectHandle;
      try {
        handle = await runConnect(url, opts, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
      } catch (err) {
        process.exitCode = printError(err);
        return;
      }
      const stop = (): void => handle.close();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const code = await handle.done;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.exitCode = code;
      // stdin may keep the event loop alive after the connection is over.
      if (opts.stdio) process.stdin.destroy();
    });
}
