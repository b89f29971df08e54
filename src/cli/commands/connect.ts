/** `burrow connect <ws-url>`: a local TCP listener (or stdin/stdout) forwarded over a WebSocket. */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../commander.js';
import type { BurrowTcpTunnel, TunnelConnectionState, TunnelMode } from '../../client/tcp-ws/tcp-tunnel.js';
import type { LinkEnd } from '../../client/tcp-ws/singleton-link.js';
import { BurrowError } from '../../core/errors.js';
import { flag } from '../env.js';
import { caFlag, insecureFlag, serverTrust } from './connecting.js';
import { formatError } from '../errors.js';
import { runCommand } from '../run.js';

export interface ConnectOptions {
  localPort: number;
  localAddress: string;
  mode: TunnelMode;
  token?: string | undefined;
  stdio?: boolean | undefined;
  json?: boolean | undefined;
  /** The one log-level vocabulary (`burrow server`'s); `none` is kept as another word for silent. */
  logLevel: ConnectLogLevel;
  /** PEM file of the CA(s) to trust for a wss:// server instead of Node's list (read at start). */
  ca?: string | undefined;
  /** Do not verify the wss:// server's certificate (a warning goes to stderr). */
  insecure?: boolean | undefined;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent', 'none'] as const;
type ConnectLogLevel = (typeof LOG_LEVELS)[number];

/** The tcp-ws client's own level names. */
function clientLevel(level: ConnectLogLevel): 'none' | 'error' | 'warn' | 'info' | 'debug' {
  if (level === 'silent' || level === 'none') return 'none';
  if (level === 'fatal') return 'error';
  if (level === 'trace') return 'debug';
  return level;
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
  const tls = serverTrust(options, (line) => io.stderr.write(`${line}\n`));
  const out = options.stdio ? io.stderr : io.stdout;
  const say = (event: Record<string, unknown>, human: string): void => {
    out.write(options.json ? `${JSON.stringify(event)}\n` : `${human}\n`);
  };
  const onState = (state: TunnelConnectionState): void => say({ event: 'state', state }, `state: ${state}`);
  /** How the tunnel ended → exit status; a failure is printed in the one format (JSON too with --json). */
  const ended = (end: Pick<LinkEnd, 'reason'> & { status?: number | undefined }): number => {
    if (end.reason !== 'refused' && end.reason !== 'exhausted') return 0;
    const err =
      end.reason === 'refused'
        ? new BurrowError('BURROW_ERR_FORBIDDEN', `the server refused the connection (HTTP ${end.status ?? '?'})`, {
            fix: "The tunnel behind this URL went away or its token changed: check `burrow tcp`'s output for the current URL and token.",
          })
        : new BurrowError('BURROW_ERR_SERVER_UNREACHABLE', 'lost the server and could not reconnect; giving up', {
            fix: 'Check that the server (and `burrow tcp` behind it) still runs, then start `burrow connect` again.',
          });
    if (options.json) say({ event: 'error', code: err.code, message: err.message, fix: err.fix }, '');
    io.stderr.write(formatError(err));
    return 1;
  };
  const level = clientLevel(options.logLevel);
  // the client's log lines are for a person: short lines on stderr, not JSON
  const { createLogger, humanLines } = await import('../../core/logger.js');
  const logger = createLogger({
    level: level === 'none' ? 'silent' : level,
    name: 'burrow-tcp',
    destination: humanLines(io.stderr),
  });

  // Fail before listening when the server, the name or the token is wrong (not at the first connection).
  const { checkTcpTarget } = await import('../../client/tcp-ws/probe.js');
  await checkTcpTarget(url, token, { tls });

  if (options.stdio) {
    const { connectStdio } = await import('../../client/tcp-ws/stdio.js');
    const conn = connectStdio(url, token, {
      input: io.stdin,
      output: io.stdout,
      logger,
      tls,
      onStateChange: onState,
    });
    return { done: conn.done.then(ended), close: () => conn.close() };
  }

  const { startTcpTunnel } = await import('../../client/tcp-ws/tcp-tunnel.js');
  const tunnel = await startTcpTunnel(url, token, options.localAddress, options.localPort, {
    mode: options.mode,
    logger,
    tls,
  });
  const { address, port } = tunnel.address;
  say(
    { event: 'ready', address, port, url: printable(url), mode: options.mode },
    `Listening on ${address}:${port} → ${printable(url)} (${options.mode})`,
  );
  tunnel.onConnectionStateChange(onState);
  const done = tunnel.closed.then(ended);
  return { tunnel, done, close: () => tunnel.close() };
}

/** Registers `burrow connect <ws-url>`. */
export function registerConnectCommand(program: Command): void {
  program
    .command('connect')
    .description('forward a local TCP port (or stdin/stdout) over a WebSocket to a TCP target (`burrow tcp`)')
    .argument('<ws-url>', 'WebSocket URL of the target, e.g. wss://burrow.example.com/tcp/adb', checkUrl)
    .addOption(
      flag('--local-port <port>', 'local port to listen on (0 = any free port)', {
        env: 'BURROW_LOCAL_PORT',
        parse: parsePort,
        default: 0,
      }),
    )
    .addOption(
      flag('--local-address <address>', 'local address to listen on', {
        env: 'BURROW_LOCAL_ADDRESS',
        default: '127.0.0.1',
      }),
    )
    .addOption(
      flag(
        '--mode <mode>',
        'singleton: one local connection at a time (a second is refused), on its own WebSocket; multiplexed: any number, on one WebSocket',
        { env: 'BURROW_MODE', choices: ['singleton', 'multiplexed'], default: 'singleton' },
      ),
    )
    .addOption(flag('--token <token>', 'token for the target (`burrow tcp` prints it)', { env: 'BURROW_TOKEN' }))
    .addOption(caFlag())
    .addOption(insecureFlag())
    .addOption(flag('--stdio', 'carry one connection over stdin/stdout (SSH ProxyCommand)', { env: 'BURROW_STDIO' }))
    .addOption(flag('--json', 'print one JSON object per line', { env: 'BURROW_JSON' }))
    .addOption(
      flag('--log-level <level>', 'client log level (stderr)', {
        env: 'BURROW_LOG_LEVEL',
        choices: LOG_LEVELS,
        default: 'warn',
      }),
    )
    .action(async (url: string, opts: ConnectOptions, cmd: Command) =>
      runCommand(cmd, { command: 'connect', tokenGiven: opts.token !== undefined }, async (stop) => {
        const handle = await runConnect(url, opts, {
          stdin: process.stdin,
          stdout: process.stdout,
          stderr: process.stderr,
        });
        const onStop = (): void => handle.close();
        stop.signal.addEventListener('abort', onStop, { once: true });
        const code = await handle.done;
        stop.signal.removeEventListener('abort', onStop);
        // stdin may keep the event loop alive after the connection is over.
        if (opts.stdio) process.stdin.destroy();
        return code;
      }),
    );
}
