import type { Command } from 'commander';
import type { AccessRuleInput } from '../../auth/access-policy.js';
import { flag } from '../env.js';
import { usageError } from '../errors.js';
import { collect } from '../util.js';
import { addTargetOptions, out, table, withBackend, type TargetFlags } from './token.js';

interface AccessFlags extends TargetFlags {
  basicAuth?: string;
  bearer?: string;
  allowIp?: string[];
  denyIp?: string[];
  rateLimit?: string;
  clear?: boolean;
}

/**
 * `burrow name reserve|list|access|release`: names (or domains) bound to a token, so only that token's
 * agents may use them. On the local database or through --server. See docs/accounts.md.
 */
export function registerNameCommands(program: Command): void {
  const name = program.command('name').description('reserve tunnel names and domains for a token');

  addTargetOptions(
    name
      .command('reserve')
      .description('bind a name (or domain) to a token')
      .argument('<name>', 'tunnel name (myapp) or domain (app.example.com)')
      .addOption(
        flag('--token <id>', 'token id (tok_…) that may use the name (required)', {
          env: 'BURROW_NAME_TOKEN_ID',
        }).makeOptionMandatory(),
      ),
  ).action(async (nameArg: string, flags: TargetFlags & { token: string }, cmd: Command) => {
    await withBackend(cmd, flags, async (backend) => {
      const r = await backend.reserveName(nameArg, flags.token);
      out(cmd, flags.json ? JSON.stringify(r) : `Reserved ${r.name} for ${r.tokenId}.`);
    });
  });

  addTargetOptions(name.command('list').description('list reserved names')).action(
    async (flags: TargetFlags, cmd: Command) => {
      await withBackend(cmd, flags, async (backend) => {
        const names = await backend.listNames();
        if (flags.json) {
          out(cmd, JSON.stringify(names));
          return;
        }
        if (names.length === 0) {
          out(cmd, `No reserved names in ${backend.where}. Reserve one: burrow name reserve NAME --token ID`);
          return;
        }
        out(
          cmd,
          table(
            ['NAME', 'TOKEN', 'RESERVED', 'VISITOR RULES'],
            names.map((n) => [n.name, n.tokenId, n.createdAt.replace('T', ' ').slice(0, 16), rules(n.access)]),
          ),
        );
      });
    },
  );

  addTargetOptions(
    name
      .command('access')
      .description('set the visitor rules stored with a reserved name (used when its agent passes none)')
      .argument('<name>', 'the reserved name')
      .addOption(flag('--basic-auth <user:pass>', 'require HTTP Basic credentials', { env: 'BURROW_NAME_BASIC_AUTH' }))
      .addOption(flag('--bearer <token>', 'require Authorization: Bearer <token>', { env: 'BURROW_NAME_BEARER' }))
      .addOption(
        flag('--allow-ip <cidr>', 'only these visitor addresses (repeatable; IPv4 or IPv6)', {
          env: 'BURROW_NAME_ALLOW_IP',
          parse: collect,
        }),
      )
      .addOption(
        flag('--deny-ip <cidr>', 'refuse these visitor addresses (repeatable)', {
          env: 'BURROW_NAME_DENY_IP',
          parse: collect,
        }),
      )
      .addOption(
        flag('--rate-limit <rate>', 'requests per tunnel, e.g. 100/s, 20/m', { env: 'BURROW_NAME_RATE_LIMIT' }),
      )
      .addOption(flag('--clear', 'remove the stored rules', { env: 'BURROW_NAME_CLEAR' })),
  ).action(async (nameArg: string, flags: AccessFlags, cmd: Command) => {
    const input: AccessRuleInput = {
      basicAuth: flags.basicAuth,
      bearer: flags.bearer,
      allowIps: flags.allowIp,
      denyIps: flags.denyIp,
      rateLimit: flags.rateLimit,
    };
    const given = Object.values(input).some((v) => v !== undefined);
    await withBackend(cmd, flags, async (backend) => {
      if (flags.clear === true && given)
        throw usageError('--clear and rule flags were both given', 'Use either --clear or rule flags, not both.');
      if (flags.clear !== true && !given)
        throw usageError(
          'no rule given',
          'Give at least one rule (--basic-auth, --bearer, --allow-ip, --deny-ip, --rate-limit) or --clear.',
        );
      const r = await backend.setAccess(nameArg, flags.clear === true ? null : input);
      out(cmd, flags.json ? JSON.stringify(r) : `Visitor rules of ${r.name}: ${rules(r.access)}.`);
    });
  });

  addTargetOptions(
    name.command('release').description('release a reserved name').argument('<name>', 'the reserved name'),
  ).action(async (nameArg: string, flags: TargetFlags, cmd: Command) => {
    await withBackend(cmd, flags, async (backend) => {
      await backend.releaseName(nameArg);
      out(cmd, flags.json ? JSON.stringify({ released: nameArg.toLowerCase() }) : `Released ${nameArg.toLowerCase()}.`);
    });
  });
}

function rules(
  a: { basicAuth: boolean; bearer: boolean; allowIps: string[]; denyIps: string[]; rateLimit: string | null } | null,
): string {
  if (!a) return '-';
  const parts: string[] = [];
  if (a.basicAuth) parts.push('basic-auth');
  if (a.bearer) parts.push('bearer');
  if (a.allowIps.length) parts.push(`allow ${a.allowIps.join(',')}`);
  if (a.denyIps.length) parts.push(`deny ${a.denyIps.join(',')}`);
  if (a.rateLimit) parts.push(`rate ${a.rateLimit}`);
  return parts.join('; ') || '-';
}
