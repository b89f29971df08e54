import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { BurrowError } from '../core/errors.js';
import { MAX_IP_RULES } from './limits.js';

export interface ParsedCidr {
  readonly family: 'ipv4' | 'ipv6';
  readonly address: string;
  readonly prefix: number;
  /** Normalised text (`10.0.0.0/8`). */
  readonly text: string;
}

/**
 * Parse `10.0.0.0/8`, `192.168.1.7` (= /32), `2001:db8::/32`, `::1` (= /128). IPv4-mapped IPv6
 * rules (`::ffff:10.0.0.0/104`) become IPv4 rules. Throws BURROW_ERR_INVALID_ACCESS_RULE.
 */
export function parseCidr(text: string, flag = '--allow-ip'): ParsedCidr {
  const value = text.trim();
  const slash = value.indexOf('/');
  const addr = slash === -1 ? value : value.slice(0, slash);
  const prefixText = slash === -1 ? undefined : value.slice(slash + 1);
  const bad = (why: string) =>
    new BurrowError('BURROW_ERR_INVALID_ACCESS_RULE', `${flag} "${value.slice(0, 60)}": ${why}`);
  let family: 'ipv4' | 'ipv6';
  if (isIPv4(addr)) family = 'ipv4';
  else if (isIPv6(addr) && !addr.includes('%')) family = 'ipv6';
  else throw bad('not an IPv4 or IPv6 address');
  const max = family === 'ipv4' ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) throw bad(`the prefix must be 0–${max}`);
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) throw bad(`the prefix must be 0–${max}`);
  const mapped = family === 'ipv6' ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr)?.[1] : undefined;
  if (mapped !== undefined && prefix >= 96) {
    return { family: 'ipv4', address: mapped, prefix: prefix - 96, text: `${mapped}/${prefix - 96}` };
  }
  return { family, address: addr.toLowerCase(), prefix, text: `${addr.toLowerCase()}/${prefix}` };
}

/** The address to compare: IPv4-mapped IPv6 (`::ffff:1.2.3.4`, how dual-stack sockets report IPv4) → IPv4. */
export function normalizeAddress(address: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined && isIPv4(mapped)) return { address: mapped, family: 'ipv4' };
  if (isIPv4(address)) return { address, family: 'ipv4' };
  const bare = address.split('%')[0] ?? '';
  if (isIPv6(bare)) return { address: bare, family: 'ipv6' };
  return undefined;
}

/**
 * Allow/deny lists for visitor addresses. Deny wins; when the allow list is not empty, only
 * addresses in it pass. An address that cannot be parsed passes only when there is no allow list
 * and is never matched by a deny rule.
 */
export class IpRules {
  readonly allow: readonly ParsedCidr[];
  readonly deny: readonly ParsedCidr[];
  readonly #allow = new BlockList();
  readonly #deny = new BlockList();

  constructor(allow: readonly string[], deny: readonly string[]) {
    if (allow.length + deny.length > MAX_IP_RULES) {
      throw new BurrowError('BURROW_ERR_INVALID_ACCESS_RULE', `at most ${MAX_IP_RULES} IP rules per tunnel`);
    }
    this.allow = allow.map((c) => parseCidr(c, '--allow-ip'));
    this.deny = deny.map((c) => parseCidr(c, '--deny-ip'));
    for (const c of this.allow) this.#allow.addSubnet(c.address, c.prefix, c.family);
    for (const c of this.deny) this.#deny.addSubnet(c.address, c.prefix, c.family);
  }

  get empty(): boolean {
    return this.allow.length === 0 && this.deny.length === 0;
  }

  allows(address: string): boolean {
    const norm = normalizeAddress(address);
    if (!norm) return this.allow.length === 0;
    if (this.deny.length > 0 && this.#deny.check(norm.address, norm.family)) return false;
    if (this.allow.length === 0) return true;
    return this.#allow.check(norm.address, norm.family);
  }
}
