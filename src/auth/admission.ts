/** The core's AgentAdmission answered from the accounts store (tokens, reserved names, access rules). */
import type { AgentAdmission, VisitorAccess } from '../server/admission.js';
import { AccessPolicy, type AccessRuleInput } from './access-policy.js';
import type { Accounts } from './accounts.js';

export function accountsAdmission(accounts: Accounts): AgentAdmission {
  return {
    async authenticate({ token, remoteAddress }) {
      if ((token === undefined || token === '') && accounts.auth === 'none') return { tokenId: null };
      const record = await accounts.tokens.authenticate(token, remoteAddress, 'agent');
      return { tokenId: record.id, secret: token };
    },
    async admit(req) {
      const grant = await accounts.admitAgent({
        secret: req.principal.secret,
        kind: req.kind,
        name: req.name,
        address: req.remoteAddress,
        openTunnels: req.openTunnels,
      });
      const input = toAccessInput(req.access);
      let access: VisitorAccess | undefined;
      if (grant.name) access = await accounts.accessPolicyFor(grant.name, grant.token?.id ?? null, input);
      else if (input) access = AccessPolicy.fromInput(input, { limiter: accounts.tokens.limiter });
      return { name: grant.name, access };
    },
    async tunnelId({ name, tokenId, protocol }) {
      const { record } = await accounts.tunnelId({ name, tokenId, protocol });
      return record.id;
    },
  };
}

/** The access object an agent sends (from its flags), validated field by field. */
export function toAccessInput(access: Record<string, unknown> | undefined): AccessRuleInput | undefined {
  if (!access) return undefined;
  const str = (k: string): string | undefined => (typeof access[k] === 'string' ? access[k] : undefined);
  const list = (k: string): string[] | undefined =>
    Array.isArray(access[k]) ? (access[k] as unknown[]).filter((x): x is string => typeof x === 'string') : undefined;
  const input: AccessRuleInput = {
    basicAuth: str('basicAuth'),
    bearer: str('bearer'),
    allowIps: list('allowIps'),
    denyIps: list('denyIps'),
    rateLimit: str('rateLimit'),
  };
  return Object.values(input).some((v) => v !== undefined) ? input : undefined;
}
