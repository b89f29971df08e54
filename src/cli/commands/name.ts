import type { Command } from 'commander';
import { addTargetOptions, out, table, withBackend, type TargetFlags } from './token.js';

/**
 * `burrow name reserve|list|release`: names (or domains) bound to a token, so only that token's
 * agents may use them. On the local database or through --server. See docs/accounts.md.
 */
export function registerNameCommands(program: Command): void {
  const name = program.command('name').description('reserve tunnel names and domains for a token');

  addTargetOptions(
    name
      .command('reserve')
      .description('bind a name (or domain) to a token')
      .argument('<name>', 'tunnel name (myapp) or domain (app.example.com)')
      .requiredOption('--token <id>', 'token id (tok_…) that may use the name'),
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
