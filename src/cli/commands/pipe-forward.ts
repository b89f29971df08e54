/**
 * `burrow pipe forward-tcp --listen [HOST:]PORT | --target HOST:PORT <up-path> <down-path>`: TCP over
 * a pair of pipes (src/client/pipe/forward-tcp.ts). Prints what happens, runs until Ctrl-C / SIGTERM
 * (exit 0).
 */
import {
  forwardTcpListen,
  forwardTcpTarget,
  type ForwardEvent,
  type ForwardTcp,
} from '../../client/pipe/forward-tcp.js';
import { usageError } from '../errors.js';
import { EXIT_OK, reportPipeError } from './pipe-errors.js';
import { clientOptions, type PipeServerFlags } from './pipe-transfer.js';

export interface ForwardFlags extends PipeServerFlags {
  listen?: string;
  target?: string;
}

/** `[HOST:]PORT` (IPv6 as `[::1]:PORT`) → host and port. */
export function parseHostPort(value: string, defaultHost: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]:|([^:]*):)?(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535)
    throw usageError(
      `${flag} ${value} is not [HOST:]PORT`,
      `Give ${flag} as PORT or HOST:PORT, e.g. ${flag} 127.0.0.1:2222.`,
    );
  return { host: m[1] ?? (m[2] || defaultHost), port };
}

function describe(e: ForwardEvent): string {
  switch (e.type) {
    case 'waiting':
      return `waiting for the other side on up=${e.up} down=${e.down}...`;
    case 'connected':
      return e.mode === 'mux'
        ? `connected to a burrow peer: connections are multiplexed (up=${e.up} down=${e.down})`
        : `connected to a plain peer (curl | nc): one connection at a time (up=${e.up} down=${e.down})`;
    case 'retry':
      return `${e.error.message}\n  fix: ${retryFix(e.error.code)}\n  retrying in ${(e.delayMs / 1000).toFixed(1)} s`;
    case 'fresh-paths':
      return `a path is taken on the server: moving to a fresh pair up=${e.up} down=${e.down} (the other side moves too)`;
    case 'session-ended':
      return `the other side is gone (${e.error?.message ?? 'pipes closed'}); waiting for it again`;
    case 'connection-error':
      return `a connection failed: ${e.error.message}`;
  }
}

function retryFix(code: string): string {
  switch (code) {
    case 'BURROW_ERR_SERVER_UNREACHABLE':
      return 'Check --server (or BURROW_PIPE_SERVER) and that the pipe server runs; forward-tcp keeps trying.';
    case 'BURROW_ERR_UNAUTHORIZED':
    case 'BURROW_ERR_FORBIDDEN':
      return 'Pass a token of kind pipe with --token or BURROW_TOKEN.';
    default:
      return 'forward-tcp keeps trying; if the paths stay taken, pick other paths on both sides.';
  }
}

export async function runForwardTcp(up: string, down: string, f: ForwardFlags): Promise<number> {
  let fwd: ForwardTcp;
  try {
    if ((f.listen === undefined) === (f.target === undefined))
      throw usageError(
        'give exactly one of --listen and --target',
        'On the machine with the TCP client: --listen [HOST:]PORT; on the machine with the service: --target HOST:PORT.',
      );
    const say = (e: ForwardEvent): void => void process.stderr.write(`forward-tcp: ${describe(e)}\n`);
    const opts = { ...clientOptions(f), up, down, onEvent: say };
    if (f.listen !== undefined) {
      const at = parseHostPort(f.listen, '127.0.0.1', '--listen');
      fwd = await forwardTcpListen(at, opts).catch((err: NodeJS.ErrnoException) => {
        throw usageError(
          `cannot listen on ${at.host}:${at.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}`,
          'Pick another --listen port (or stop what uses it).',
        );
      });
      const a = fwd.address!;
      process.stdout.write(`forward-tcp: listening on ${a.address}:${a.port}; connections go through ${opts.server}\n`);
    } else {
      const to = parseHostPort(f.target!, 'localhost', '--target');
      fwd = forwardTcpTarget(to, opts);
      process.stdout.write(`forward-tcp: carrying connections to ${to.host}:${to.port} via ${opts.server}\n`);
    }
  } catch (err) {
    return reportPipeError(err);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await fwd.close();
  return EXIT_OK;
}
