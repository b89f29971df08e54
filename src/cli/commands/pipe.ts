/**
 * `burrow pipe serve|send|receive|progress|url|health|forward-tcp|help-cheatsheet`: the zero-storage
 * pipe from a terminal. The commands' flags live here; what they do is loaded when one runs
 * (pipe-transfer.ts: send/receive/progress; pipe-forward.ts: forward-tcp; pipe-service.ts: the
 * rest), so registering them costs the CLI nothing. A thin shell over src/app/pipe (library + SDK).
 */
import { Option, type Command, type CommanderError } from 'commander';
import { DEFAULT_PIPE_SERVER as DEFAULT_SERVER } from '../../client/pipe/limits.js';
import { MAX_RECEIVERS } from '../../wire/pipe/limits.js';
import { envFirst, parseDurationMs, parseIntArg } from '../util.js';
import { EXIT_USAGE } from './pipe-errors.js';
import type { ForwardFlags } from './pipe-forward.js';
import type { ServeFlags } from './pipe-service.js';
import type { ReceiveFlags, SendFlags, ServerFlags } from './pipe-transfer.js';

const transfer = () => import('./pipe-transfer.js');
const service = () => import('./pipe-service.js');

function quiet(): Option {
  return new Option('-q, --quiet', 'no progress bar and no summary line').env('BURROW_QUIET');
}

function addServerFlag(cmd: Command, token = true): Command {
  cmd.option(
    '-s, --server <url>',
    `burrow server or pipe URL (env BURROW_PIPE_SERVER, BURROW_SERVER; default ${DEFAULT_SERVER})`,
  );
  if (token)
    cmd.addOption(
      new Option('--token <token>', 'token for a server that requires one (kind pipe)').env('BURROW_TOKEN'),
    );
  return cmd;
}

function exit(code: number): void {
  process.exitCode = code;
}

export function registerPipeCommands(program: Command): void {
  const cmd = program.command('pipe').description('zero-storage streaming transfers (piping-server compatible)');
  // usage errors (a bad -n, a missing path) end like every other pipe error: fix and code lines, exit 2
  cmd.exitOverride((err: CommanderError) => {
    if (err.exitCode !== 0 && err.code !== 'commander.help' && err.code !== 'commander.version') {
      process.stderr.write('fix: See `burrow pipe <command> --help`.\ncode: BURROW_ERR_INVALID_CONFIG\n');
      process.exit(EXIT_USAGE);
    }
    process.exit(err.exitCode);
  });
  const nArg = parseIntArg(1, MAX_RECEIVERS);

  cmd
    .command('serve')
    .description('run the pipe service alone (bare /<path>, like piping-server)')
    .option('-p, --port <port>', 'port to listen on (env BURROW_PIPE_PORT, PORT; default 8080)', parseIntArg(0, 65535))
    .option('-a, --address <address>', 'bind address (env BURROW_PIPE_ADDRESS, HOST; default all interfaces)')
    .option('--max-pending <n>', 'most pipes waiting for peers (default 1000)', parseIntArg(1, 1_000_000))
    .option('--max-active <n>', 'most pipes streaming at once (default 1000)', parseIntArg(1, 1_000_000))
    .option('--pending-timeout <duration>', 'evict half-pipes after this long (default 5m)', parseDurationMs)
    .option('--idle-timeout <duration>', 'close streaming pipes idle this long (default 5m)', parseDurationMs)
    .option('--log-level <level>', 'fatal|error|warn|info|debug|silent (env LOG_LEVEL; default info)')
    .action(async (o: Partial<ServeFlags>) => {
      const port = o.port ?? Number(envFirst('BURROW_PIPE_PORT', 'PORT') ?? 8080);
      const address = o.address ?? envFirst('BURROW_PIPE_ADDRESS', 'HOST');
      const logLevel = o.logLevel ?? envFirst('LOG_LEVEL') ?? 'info';
      exit(await (await service()).runServe({ ...o, port, logLevel, ...(address !== undefined ? { address } : {}) }));
    });

  addServerFlag(
    cmd
      .command('send')
      .description('send a file (or stdin) to <path>; waits for the receiver(s)')
      .argument('<path>', 'pipe path, e.g. mysecret123')
      .argument('[file]', 'file to send, or - for stdin (default stdin)')
      .option('-n, --n <count>', 'number of receivers (1-256, all peers must agree)', nArg)
      .option('--content-type <type>', 'Content-Type receivers get')
      .option('--filename <name>', 'file name receivers get (default: the file name)')
      .addOption(quiet()),
  ).action(async (path: string, file: string | undefined, o: SendFlags) =>
    exit(await (await transfer()).runSend(path, file, o)),
  );

  addServerFlag(
    cmd
      .command('receive')
      .description('receive <path> to stdout or a file; waits for the sender')
      .argument('<path>', 'pipe path')
      .option('-o, --output <file>', 'write to this file (default stdout)')
      .option('-n, --n <count>', 'number of receivers (1-256, all peers must agree)', nArg)
      .addOption(quiet()),
  ).action(async (path: string, o: ReceiveFlags) => exit(await (await transfer()).runReceive(path, o)));

  addServerFlag(
    cmd
      .command('progress')
      .description('watch a transfer live (takes no receiver slot); JSON lines when not a terminal')
      .argument('<path>', 'pipe path')
      .option('--json', 'print one JSON object per event'),
  ).action(async (path: string, o: ServerFlags & { json?: boolean }) =>
    exit(await (await transfer()).runProgress(path, o)),
  );

  addServerFlag(
    cmd
      .command('url')
      .description('print the send/receive/progress/video URLs and curl lines for <path>')
      .argument('<path>', 'pipe path')
      .option('-n, --n <count>', 'number of receivers', nArg),
    false,
  ).action(async (path: string, o: ServerFlags & { n?: number }) => exit((await service()).runUrl(path, o)));

  addServerFlag(cmd.command('health').description("print the pipe service's health JSON"), false).action(
    async (o: ServerFlags) => exit(await (await service()).runHealth(o)),
  );

  addServerFlag(
    cmd
      .command('forward-tcp')
      .description(
        'carry TCP connections over a pair of pipes (SSH, a database): --listen on one side, --target on the other',
      )
      .argument('<up-path>', 'pipe the listening side sends on')
      .argument('<down-path>', 'pipe the target side sends on')
      .option('--listen <[host:]port>', 'accept TCP connections here (default host 127.0.0.1)')
      .option('--target <host:port>', 'open each carried connection to this address'),
  ).action(async (up: string, down: string, o: ForwardFlags) =>
    exit(await (await import('./pipe-forward.js')).runForwardTcp(up, down, o)),
  );

  addServerFlag(
    cmd
      .command('help-cheatsheet')
      .description(
        'print copy-pasteable pipe recipes (curl, fan-out, progress, video, tar, gpg, forward-tcp) for --server',
      ),
    false,
  ).action(async (o: ServerFlags) => exit((await service()).runCheatSheet(o)));
}
