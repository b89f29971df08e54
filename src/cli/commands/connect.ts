import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import {
  startTcpTunnel,
  type BurrowTcpTunnel,
  type TcpTunnelTlsOptions,
  type TunnelConnectionState,
  type TunnelMode,
} from '../../client/tcp-ws/tcp-tunnel.js';
import { connectStdio } from '../../client/tcp-ws/stdio.js';
import type { LinkEnd } from '../../client/tcp-ws/singleton-link.js';
import { envBool, printError } from '../util.js';

export interface ConnectOptions {
  localPort: number;
  localAddress: string;
  mode: TunnelMode;
  token?: string | undefined;
  stdio?: boolean | undefined;
  json?: boolean | undefined;
  logLevel: 'none' | 'error' | 'warn' | 'info' | 'debug';
  /** PEM file of the CA(s) to trust for a wss:// server instead of Node's list (read at start). */
  ca?: string | undefined;
  /** Do not verify the wss:// server's certificate (a warning goes to stderr). */
  insecure?: boolean | undefined;
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

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
};

/** --ca / --insecure → the tunnel's tls option; the CA file is read now, and a failure names it. */
export function connectTls(options: Pick<ConnectOptions, 'ca' | 'insecure'>): TcpTunnelTlsOptions | undefined {
  const tls: TcpTunnelTlsOptions = {};
  if (options.ca !== undefined) {
    let pem: Buffer;
    try {
      pem = readFileSync(options.ca);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new Error(
        `cannot read the CA file ${options.ca} (--ca / BURROW_CA): ${READ_ERRORS[e.code ?? ''] ?? e.message}`,
      );
    }
    if (!/-----BEGIN (?:TRUSTED )?CERTIFICATE-----/.test(pem.toString('latin1')))
      throw new Error(
        `the CA file ${options.ca} (--ca / BURROW_CA) holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
      );
    tls.ca = pem;
  }
  if (options.insecure) tls.rejectUnauthorized = false;
  return Object.keys(tls).length > 0 ? tls : undefined;
}

/**
 * `burrow connect`, as a function the CLI and tests call. Prints to io.stdout (one JSON object per
 * line with --json); with --stdio, stdout carries the connection and messages go to io.stderr.
 */
export async function runConnect(url: string, options: ConnectOptions, io: ConnectIO): Promise<ConnectHandle> {
  const token = options.token ?? '';
  const tls = connectTls(options);
  if (options.insecure) {
    io.stderr.write(
      "warning: --insecure: the server's TLS certificate is not verified; anyone on the path can read and change this connection\n",
    );
  }
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
      tls,
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
    tls,
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
      new Option(
        '--mode <mode>',
        'singleton: one local connection at a time (a second is refused), on its own WebSocket; multiplexed: any number, on one WebSocket',
      )
        .choices(['singleton', 'multiplexed'])
        .default('singleton'),
    )
    .addOption(new Option('--token <token>', 'Bearer token for the target').env('BURROW_TOKEN'))
    .addOption(
      new Option('--ca <file>', "wss://: trust the CA certificate(s) in this PEM file instead of Node's list").env(
        'BURROW_CA',
      ),
    )
    .addOption(
      new Option('--insecure', "wss://: do not verify the server's certificate (testing only)").env('BURROW_INSECURE'),
    )
    .option('--stdio', 'carry one connection over stdin/stdout (SSH ProxyCommand)')
    .option('--json', 'print one JSON object per line')
    .addOption(
      new Option('--log-level <level>', 'client log level (stderr)')
        .choices(['none', 'error', 'warn', 'info', 'debug'])
        .default('warn'),
    )
    .action(async (url: string, opts: ConnectOptions, command: Command) => {
      let handle: ConnectHandle;
      try {
        // From the environment, 1/true/yes/on mean true and anything else false, as for `burrow
        // server` (commander alone would take any value, even 0, as true).
        const fromEnv = command.getOptionValueSource('insecure') === 'env';
        const options = fromEnv ? { ...opts, insecure: envBool('BURROW_INSECURE') ?? false } : opts;
        handle = await runConnect(url, options, {
          stdin: process.stdin,
          stdout: process.stdout,
          stderr: process.stderr,
        });
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
