/**
 * `burrow config check|init`: check `burrow start`'s config file (every problem with its line, exit 2
 * on any) or write a commented starter file that passes the check.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ConfigFile, ConfigOverrides } from '../config-file/load.js';
import { DEFAULT_CONFIG_FILE } from '../config-file/limits.js';
import { flag } from '../env.js';
import { usageError } from '../errors.js';
import { runCommand } from '../run.js';

/** `-c, --config <file>` (BURROW_CONFIG). */
export function configFlag() {
  return flag('-c, --config <file>', 'the config file', { env: 'BURROW_CONFIG', default: DEFAULT_CONFIG_FILE });
}

/**
 * Read and check a config file. Its problems are printed on stderr, one `file:line:col: message`
 * line each, and end the command as one configuration error (exit 2).
 */
export async function readConfig(file: string, overrides: ConfigOverrides = {}): Promise<ConfigFile> {
  const { ConfigFileError, loadConfigFile } = await import('../config-file/load.js');
  try {
    return await loadConfigFile(file, overrides);
  } catch (err) {
    if (!(err instanceof ConfigFileError)) throw err;
    process.stderr.write(err.lines().join('\n') + '\n');
    throw usageError(
      `${err.message} (listed above)`,
      `Correct ${err.problems.length === 1 ? 'it' : 'them'} and run \`burrow config check --config ${file}\` again; docs/configuration.md describes the file.`,
    );
  }
}

interface ConfigFlags {
  config: string;
}

interface InitFlags extends ConfigFlags {
  force?: boolean;
}

async function check(f: ConfigFlags): Promise<void> {
  const config = await readConfig(f.config);
  const list = config.tunnels.map((t) => `  ${t.name}: ${t.kind} ${t.target}`);
  const server = config.server ?? 'not set (http://localhost:8080, or --server / BURROW_SERVER)';
  process.stdout.write(
    [
      `${config.file}: OK, ${config.tunnels.length} tunnel${config.tunnels.length === 1 ? '' : 's'}`,
      ...list,
      `server: ${server}`,
    ].join('\n') + '\n',
  );
}

async function init(f: InitFlags): Promise<void> {
  const { STARTER_FILE } = await import('../config-file/starter.js');
  try {
    await writeFile(f.config, STARTER_FILE, { flag: f.force ? 'w' : 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw usageError(`${f.config} exists already`, 'Pass --force to overwrite it, or another --config FILE.');
    throw err;
  }
  process.stdout.write(
    `wrote ${f.config}: edit its tunnels, check it with \`burrow config check\`, then run \`burrow start\`\n`,
  );
}

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description("check or write `burrow start`'s config file (burrow.yml)");
  config
    .command('check')
    .description('check a config file: every problem with its line (exit 2 on any)')
    .addOption(configFlag())
    .action(async (f: ConfigFlags, cmd: Command) =>
      runCommand(cmd, { command: 'config check' }, async () => {
        await check(f);
      }),
    );
  config
    .command('init')
    .description('write a commented starter config file')
    .addOption(configFlag())
    .addOption(flag('-f, --force', 'overwrite the file if it exists', { env: 'BURROW_CONFIG_FORCE' }))
    .action(async (f: InitFlags, cmd: Command) =>
      runCommand(cmd, { command: 'config init' }, async () => {
        await init(f);
      }),
    );
}
