#!/usr/bin/env node
/**
 * The `burrow` command: a thin shell over the library (src/cli/commands/*). Only the command being
 * run is loaded (`burrow --version` and `burrow http --help` start without the server or a
 * database driver); `burrow --help` loads them all to list them.
 */
import { Command, type CommanderError } from './cli/commander.js';
import { VERSION } from './version.js';
import { normalizeEnv } from './cli/env.js';
import { EXIT_OK, EXIT_USAGE, printError } from './cli/errors.js';
import { COMMAND_FAILED, guardProcess } from './cli/run.js';
import { deferMallocThresholds, settleMallocThresholds } from './core/malloc.js';
import { holdStartupMemory } from './cli/startup-memory.js';

type Register = (program: Command) => void;

/** Each command's module, loaded only when needed. */
const COMMANDS: Record<string, () => Promise<Register>> = {
  server: async () => (await import('./cli/commands/server.js')).registerServerCommand,
  http: async () => (await import('./cli/commands/http.js')).registerHttpCommands,
  tcp: async () => (await import('./cli/commands/tcp.js')).registerTcpCommand,
  connect: async () => (await import('./cli/commands/connect.js')).registerConnectCommand,
  pipe: async () => (await import('./cli/commands/pipe.js')).registerPipeCommands,
  token: async () => (await import('./cli/commands/token.js')).registerTokenCommands,
  name: async () => (await import('./cli/commands/name.js')).registerNameCommands,
  start: async () => (await import('./cli/commands/start.js')).registerStartCommand,
  config: async () => (await import('./cli/commands/config.js')).registerConfigCommands,
};
/** Commands that run until stopped, moving bytes (src/core/malloc.ts). */
const LONG_RUNNING = new Set(['server', 'http', 'tcp', 'connect', 'pipe', 'start']);
/** Commands registered by another command's module. */
const ALIASES: Record<string, string> = { client: 'http' };

guardProcess();

const argv = process.argv.slice(2);
const program = new Command();
program
  .name('burrow')
  .description('Self-hostable tunnels: HTTP on a public URL, TCP over WebSocket, device relays, zero-storage pipes.')
  .version(VERSION, '-v, --version')
  .exitOverride((err: CommanderError) => {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') process.exit(EXIT_OK);
    if (err.code === 'commander.help') process.exit(EXIT_USAGE); // a command group without its subcommand
    // commander printed `error: <message>`; the fix and the code follow, as for every error
    process.stderr.write(
      `fix: Run \`${commandPath().join(' ')} --help\` for the flags and arguments.\ncode: BURROW_ERR_INVALID_CONFIG\n`,
    );
    process.exit(EXIT_USAGE);
  })
  .hook('preAction', (_program, action) => normalizeEnv(action));

/** `burrow token create` from argv, as far as it names commands. */
function commandPath(): string[] {
  const path = ['burrow'];
  let cmd: Command = program;
  for (const word of argv) {
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) break;
    path.push(word);
    cmd = sub;
  }
  return path;
}

const first = argv[0] ?? '';
const wanted = COMMANDS[ALIASES[first] ?? first];
// the commands that move bytes for a long time keep glibc from trimming its heap per buffer
if (LONG_RUNNING.has(ALIASES[first] ?? first) && !argv.some((a) => a === '--help' || a === '-h')) {
  // the servers keep start-up from growing the young generation and paging in TurboFan for good
  // (src/cli/startup-memory.ts; before the primer, whose collection would grow the young generation).
  // They release it once they listen; a client's first seconds of traffic would run unoptimized.
  // The servers settle glibc's thresholds at their first traffic (an idle one keeps its heap trimmed).
  if (first === 'server' || (first === 'pipe' && argv[1] === 'serve')) {
    holdStartupMemory();
    deferMallocThresholds();
  } else settleMallocThresholds();
}
if (wanted) (await wanted())(program);
else if (!/^(-v|--version)$/.test(first)) for (const load of Object.values(COMMANDS)) (await load())(program);

try {
  await program.parseAsync(process.argv);
  // every command is over when its action resolves: exit even if a socket lingers
  setImmediate(() => process.exit(process.exitCode ?? EXIT_OK));
} catch (err) {
  // a command that failed has printed its error already (src/cli/run.ts)
  const failed = (err as { code?: unknown }).code === COMMAND_FAILED;
  process.exit(
    failed ? (err as CommanderError).exitCode : printError(err, { command: commandPath().slice(1).join(' ') }),
  );
}
