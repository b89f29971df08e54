import { existsSync } from 'node:fs';
import { InvalidArgumentError, type Command } from '../commander.js';
import { BurrowError, isBurrowError } from '../../core/errors.js';
import type { AdminBackend, AdminTarget } from '../../auth/admin-backend.js';
import { parseDuration } from '../../auth/duration.js';
import { REVOCATION_POLL_INTERVAL_MS } from '../../auth/limits.js';
import type { TokenView } from '../../auth/views.js';
import { parseDbUrl, resolveDbUrl } from '../../store/url.js';
import { flag } from '../env.js';
import { runCommand } from '../run.js';
import { collect, parseServerUrl } from '../util.js';
import { caFlag, insecureFlag, serverTrust } from './connecting.js';

/** Options every admin command takes: where to act. */
export interface TargetFlags extends Omit<AdminTarget, 'trust'> {
  json?: boolean | undefined;
  /** --ca / --insecure, for an https:// --server. */
  ca?: string | undefined;
  insecure?: boolean | undefined;
}

/** Add --db / --server / --admin-token / --ca / --insecure / --json to an admin command. */
export function addTargetOptions(cmd: Command): Command {
  return cmd
    .addOption(
      flag('--db <url>', "the server's database: sqlite:/path/file.db or postgres://… (it must exist)", {
        env: 'BURROW_DB',
        defaultDescription: 'sqlite:./data/burrow.db',
      }),
    )
    .addOption(
      flag('--server <url>', "act through a running server's admin API instead of the database", {
        env: 'BURROW_ADMIN_SERVER',
        parse: parseServerUrl,
      }),
    )
    .addOption(flag('--admin-token <token>', 'admin token for --server', { env: 'BURROW_ADMIN_TOKEN' }))
    .addOption(caFlag())
    .addOption(insecureFlag())
    .addOption(flag('--json', 'print JSON instead of text', { env: 'BURROW_JSON' }));
}

/**
 * Admin commands open an existing database only: a token written to a new file in the wrong folder
 * would be invisible to the server. (`burrow server` creates the database.)
 */
function checkDatabaseExists(db: string | undefined): void {
  const target = parseDbUrl(resolveDbUrl(db));
  if (target.backend !== 'sqlite' || target.path === ':memory:' || existsSync(target.path)) return;
  throw new BurrowError('BURROW_ERR_STORE', `no database at ${target.path}`, {
    fix: "Pass the server's database with --db sqlite:/path/to/burrow.db (or BURROW_DB), or run the command in the folder `burrow server` runs in; or act through the server: --server URL --admin-token T.",
  });
}

/** Print one line (or a block) on the command's stdout (configureOutput-aware, so tests can capture it). */
export function out(cmd: Command, text: string): void {
  const line = text.endsWith('\n') ? text : `${text}\n`;
  const config = cmd.configureOutput();
  if (config.writeOut) config.writeOut(line);
  else process.stdout.write(line);
}

/**
 * Open the backend (an existing database, or a server's admin API), say which on stderr, run `fn`,
 * close; failures print in the one format (src/cli/errors.ts).
 */
export async function withBackend(
  cmd: Command,
  flags: TargetFlags,
  fn: (backend: AdminBackend) => Promise<void>,
): Promise<void> {
  const viaServer = flags.server !== undefined;
  const command = cmd.parent ? `${cmd.parent.name()} ${cmd.name()}` : cmd.name();
  await runCommand(cmd, { command, viaServer }, async () => {
    if (!viaServer) checkDatabaseExists(flags.db);
    const { openAdminBackend } = await import('../../auth/admin-backend.js');
    const warn = (line: string): void => cmd.configureOutput().writeErr?.(`${line}\n`);
    const trust = viaServer ? serverTrust(flags, warn) : undefined;
    const backend = await openAdminBackend(
      { db: flags.db, server: flags.server, adminToken: flags.adminToken, trust },
      {},
    );
    try {
      cmd.configureOutput().writeErr?.(`using ${backend.where}\n`);
      await fn(backend);
    } finally {
      await backend.close();
    }
  });
}

/** A plain text table: columns padded to the widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

function duration(value: string): string {
  try {
    parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError(isBurrowError(err) ? (err.detail ?? err.message) : String(err));
  }
  return value;
}

const day = (iso: string | null): string => (iso === null ? '-' : iso.replace('T', ' ').slice(0, 16));

interface CreateFlags extends TargetFlags {
  label?: string;
  name?: string[];
  kind?: string[];
  maxTunnels?: number;
  expires?: string;
  format: 'burrow' | 'tunely';
}

/**
 * `burrow token create|list|revoke`: agent tokens, on the local database (--db, BURROW_DB) or
 * through a running server (--server URL --admin-token T). See docs/accounts.md.
 */
export function registerTokenCommands(program: Command): void {
  const token = program
    .command('token')
    .description('create, list and revoke agent tokens (stored hashed; a secret is shown once)');

  addTargetOptions(
    token
      .command('create')
      .description('create a token and print its secret once')
      .addOption(flag('--label <text>', 'a note to recognise the token by', { env: 'BURROW_TOKEN_LABEL' }))
      .addOption(
        flag('--name <name>', 'a name or domain the token may use (repeatable; alice-* and *.example.com allowed)', {
          env: 'BURROW_TOKEN_NAMES',
          parse: collect,
        }),
      )
      .addOption(
        flag(
          '--kind <kind>',
          'what it may open: http, tcp, tiflis, pipe, admin (repeatable or comma-separated; default all but admin)',
          { env: 'BURROW_TOKEN_KINDS', parse: collect },
        ),
      )
      .addOption(
        flag('--max-tunnels <n>', 'most tunnels open at once with this token', {
          env: 'BURROW_TOKEN_MAX_TUNNELS',
          parse: positiveInt,
        }),
      )
      .addOption(
        flag('--expires <duration>', 'lifetime such as 30d, 12h, 2w', {
          env: 'BURROW_TOKEN_EXPIRES',
          parse: duration,
          defaultDescription: 'never',
        }),
      )
      .addOption(
        flag('--format <format>', 'burrow (brw_…) or tunely (tun_…, for tunely clients)', {
          env: 'BURROW_TOKEN_FORMAT',
          choices: ['burrow', 'tunely'],
          default: 'burrow',
        }),
      ),
  ).action(async (flags: CreateFlags, cmd: Command) => {
    await withBackend(cmd, flags, async (backend) => {
      const {
        token: t,
        secret,
        serverAuth,
      } = await backend.createToken({
        label: flags.label,
        names: flags.name,
        kinds: flags.kind,
        maxTunnels: flags.maxTunnels,
        expires: flags.expires,
        format: flags.format,
      });
      if (serverAuth === 'none') {
        process.stderr.write(
          `warning: ${backend.where} runs with --auth none: agents connect without any token, so this one is not asked for until the server runs with --auth token\n`,
        );
      }
      if (flags.json) {
        out(cmd, JSON.stringify({ token: t, secret, ...(serverAuth ? { serverAuth } : {}) }));
        return;
      }
      out(
        cmd,
        [
          'Token created. Copy it now: it is shown only this once.',
          '',
          `  ${secret}`,
          '',
          `id:      ${t.id}`,
          ...(t.label ? [`label:   ${t.label}`] : []),
          `kinds:   ${t.scopes.join(', ')}`,
          `names:   ${t.names.length ? t.names.join(', ') : 'any (not reserved by another token)'}`,
          ...(t.maxTunnels !== null ? [`tunnels: at most ${t.maxTunnels}`] : []),
          `expires: ${t.expiresAt ?? 'never'}`,
          `in:      ${backend.where}`,
          '',
          'Agents use it with: burrow http 3000 --token <token>   (or the BURROW_TOKEN environment variable)',
          ...(serverAuth === 'token'
            ? []
            : ['A server asks agents for a token only with --auth token (its start banner says `auth: …`).']),
        ].join('\n'),
      );
    });
  });

  addTargetOptions(
    token.command('list').description('list tokens (prefix, label, kinds, status; never the secret)'),
  ).action(async (flags: TargetFlags, cmd: Command) => {
    await withBackend(cmd, flags, async (backend) => {
      const tokens = await backend.listTokens();
      if (flags.json) {
        out(cmd, JSON.stringify(tokens));
        return;
      }
      if (tokens.length === 0) {
        out(cmd, `No tokens in ${backend.where}. Create one: burrow token create --label NAME`);
        return;
      }
      out(cmd, table(['ID', 'PREFIX', 'STATUS', 'KINDS', 'NAMES', 'LAST USED', 'EXPIRES', 'LABEL'], tokens.map(row)));
    });
  });

  addTargetOptions(
    token
      .command('revoke')
      .description('revoke a token: its agents are disconnected')
      .argument('<id>', 'token id (tok_…)'),
  ).action(async (id: string, flags: TargetFlags, cmd: Command) => {
    await withBackend(cmd, flags, async (backend) => {
      const t = await backend.revokeToken(id);
      if (flags.json) {
        out(cmd, JSON.stringify(t));
        return;
      }
      const when = backend.where.startsWith('server')
        ? 'its agents were disconnected'
        : `a server using this database disconnects its agents within ${REVOCATION_POLL_INTERVAL_MS / 1000} s`;
      out(cmd, `Revoked ${t.id} (${t.prefix}…): ${when}.`);
    });
  });
}

function row(t: TokenView): string[] {
  return [
    t.id,
    `${t.prefix}…`,
    t.status,
    t.scopes.join(','),
    t.names.length ? t.names.join(',') : '*',
    day(t.lastUsedAt),
    day(t.expiresAt),
    t.label,
  ];
}
