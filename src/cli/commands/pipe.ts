/**
 * `burrow pipe serve|send|receive|progress|url|health|forward-tcp|help-cheatsheet`: the zero-storage
 * pipe from a terminal. The commands' flags live here; what they do is loaded when one runs
 * (pipe-transfer.ts: send/receive/progress; pipe-forward.ts: forward-tcp; pipe-service.ts: the
 * rest), so registering them costs the CLI nothing. A thin shell over src/app/pipe (library + SDK).
 */
import type { Command, Option } from 'commander';
import { DEFAULT_PIPE_SERVER as DEFAULT_SERVER } from '../../client/pipe/limits.js';
import { MAX_RECEIVERS } from '../../wire/pipe/limits.js';
import { flag } from '../env.js';
import { caFlag, insecureFlag } from './connecting.js';
import { parseDurationMs, parseIntArg } from '../util.js';
import type { ForwardFlags } from './pipe-forward.js';
import type { ServeFlags } from './pipe-serve.js';
import type { ReceiveFlags, SendFlags, PipeServerFlags } from './pipe-transfer.js';

const transfer = () => import('./pipe-transfer.js');
const service = () => import('./pipe-service.js');

function quiet(): Option {
  return flag('-q, --quiet', 'no progress bar and no summary line', { env: 'BURROW_QUIET' });
}

function receivers(parse: (v: string) => number): Option {
  return flag('-n, --n <count>', `number of receivers (1-${MAX_RECEIVERS}, all peers must agree)`, {
    env: 'BURROW_PIPE_RECEIVERS',
    parse,
    defaultDescription: '1',
  });
}

function addServerFlag(cmd: Command, token = true): Command {
  cmd.addOption(
    flag('-s, --server <url>', 'burrow server or pipe URL', {
      env: 'BURROW_PIPE_SERVER',
      aliases: ['BURROW_SERVER'],
      defaultDescription: DEFAULT_SERVER,
    }),
  );
  if (token)
    cmd.addOption(flag('--token <token>', 'token for a server that requires one (kind pipe)', { env: 'BURROW_TOKEN' }));
  return cmd.addOption(caFlag()).addOption(insecureFlag());
}

function exit(code: number): void {
  process.exitCode = code;
}

export function registerPipeCommands(program: Command): void {
  const cmd = program.command('pipe').description('zero-storage streaming transfers (piping-server compatible)');
  const nArg = parseIntArg(1, MAX_RECEIVERS);

  cmd
    .command('serve')
    .description('run the pipe service alone (bare /<path>, like piping-server)')
    .addOption(
      flag('-p, --port <port>', 'port to listen on', {
        env: 'BURROW_PIPE_PORT',
        aliases: ['PORT'],
        parse: parseIntArg(0, 65535),
        defaultDescription: '8080',
      }),
    )
    .addOption(
      flag('-a, --address <address>', 'bind address', {
        env: 'BURROW_PIPE_ADDRESS',
        aliases: ['HOST'],
        defaultDescription: 'all interfaces',
      }),
    )
    .addOption(
      flag('--max-pending <n>', 'most pipes waiting for peers', {
        env: 'BURROW_PIPE_MAX_PENDING',
        parse: parseIntArg(1, 1_000_000),
        defaultDescription: '1000',
      }),
    )
    .addOption(
      flag('--max-active <n>', 'most pipes streaming at once', {
        env: 'BURROW_PIPE_MAX_ACTIVE',
        parse: parseIntArg(1, 1_000_000),
        defaultDescription: '1000',
      }),
    )
    .addOption(
      flag('--pending-timeout <duration>', 'evict half-pipes after this long', {
        env: 'BURROW_PIPE_PENDING_TIMEOUT',
        parse: parseDurationMs,
        defaultDescription: '5m',
      }),
    )
    .addOption(
      flag('--idle-timeout <duration>', 'close streaming pipes idle this long', {
        env: 'BURROW_PIPE_IDLE_TIMEOUT',
        parse: parseDurationMs,
        defaultDescription: '5m',
      }),
    )
    .addOption(
      flag('--log-level <level>', 'how much to log', {
        env: 'BURROW_LOG_LEVEL',
        aliases: ['LOG_LEVEL'],
        choices: ['fatal', 'error', 'warn', 'info', 'debug', 'silent'],
        defaultDescription: 'info',
      }),
    )
    .action(async (o: Partial<ServeFlags>) => {
      exit(
        await (
          await import('./pipe-serve.js')
        ).runServe({ ...o, port: o.port ?? 8080, logLevel: o.logLevel ?? 'info' }),
      );
    });

  addServerFlag(
    cmd
      .command('send')
      .description('send a file (or stdin) to <path>; waits for the receiver(s)')
      .argument('<path>', 'pipe path, e.g. mysecret123')
      .argument('[file]', 'file to send, or - for stdin (default stdin)')
      .addOption(receivers(nArg))
      .addOption(flag('--content-type <type>', 'Content-Type receivers get', { env: 'BURROW_PIPE_CONTENT_TYPE' }))
      .addOption(
        flag('--filename <name>', 'file name receivers get', {
          env: 'BURROW_PIPE_FILENAME',
          defaultDescription: 'the file name',
        }),
      )
      .addOption(quiet()),
  ).action(async (path: string, file: string | undefined, o: SendFlags) =>
    exit(await (await transfer()).runSend(path, file, o)),
  );

  addServerFlag(
    cmd
      .command('receive')
      .description('receive <path> to stdout or a file; waits for the sender')
      .argument('<path>', 'pipe path')
      .addOption(
        flag('-o, --output <file>', 'write to this file (- for stdout)', {
          env: 'BURROW_PIPE_OUTPUT',
          defaultDescription: 'stdout',
        }),
      )
      .addOption(receivers(nArg))
      .addOption(quiet()),
  ).action(async (path: string, o: ReceiveFlags) => exit(await (await transfer()).runReceive(path, o)));

  addServerFlag(
    cmd
      .command('progress')
      .description('watch a transfer live (takes no receiver slot); JSON lines when not a terminal')
      .argument('<path>', 'pipe path')
      .addOption(
        flag('--json', 'print one JSON object per event', {
          env: 'BURROW_JSON',
          defaultDescription: 'on when stdout is not a terminal',
        }),
      ),
  ).action(async (path: string, o: PipeServerFlags & { json?: boolean }) =>
    exit(await (await transfer()).runProgress(path, o)),
  );

  addServerFlag(
    cmd
      .command('url')
      .description('print the send/receive/progress/video URLs and curl lines for <path>')
      .argument('<path>', 'pipe path')
      .addOption(receivers(nArg)),
    false,
  ).action(async (path: string, o: PipeServerFlags & { n?: number }) => exit((await service()).runUrl(path, o)));

  addServerFlag(cmd.command('health').description("print the pipe service's health JSON"), false).action(
    async (o: PipeServerFlags) => exit(await (await service()).runHealth(o)),
  );

  addServerFlag(
    cmd
      .command('forward-tcp')
      .description(
        'carry TCP connections over a pair of pipes (SSH, a database): --listen on one side, --target on the other',
      )
      .argument('<up-path>', 'pipe the listening side sends on')
      .argument('<down-path>', 'pipe the target side sends on')
      .addOption(
        flag('--listen <[host:]port>', 'accept TCP connections here (host 127.0.0.1 when only a port is given)', {
          env: 'BURROW_PIPE_LISTEN',
        }),
      )
      .addOption(
        flag('--target <host:port>', 'open each carried connection to this address', { env: 'BURROW_PIPE_TARGET' }),
      ),
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
  ).action(async (o: PipeServerFlags) => exit((await service()).runCheatSheet(o)));
}
