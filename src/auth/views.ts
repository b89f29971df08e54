import type { ReservedName, TokenRecord, TokenScope, TunnelIdRecord } from '../store/types.js';

/** A token as the admin API and the CLI show it: never the hash, never the secret. */
export interface TokenView {
  id: string;
  prefix: string;
  label: string;
  format: string;
  scopes: TokenScope[];
  names: string[];
  maxTunnels: number | null;
  status: 'active' | 'revoked' | 'expired';
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

export interface ReservedNameView {
  name: string;
  tokenId: string;
  createdAt: string;
  /** What is enforced for visitors (no secrets). */
  access: {
    basicAuth: boolean;
    bearer: boolean;
    allowIps: string[];
    denyIps: string[];
    rateLimit: string | null;
  } | null;
}

export interface TunnelIdView {
  id: string;
  name: string;
  tokenId: string | null;
  protocol: string;
  createdAt: string;
  lastSeenAt: string;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function tokenStatus(t: TokenRecord, now: number = Date.now()): TokenView['status'] {
  if (t.revokedAt !== null) return 'revoked';
  if (t.expiresAt !== null && t.expiresAt <= now) return 'expired';
  return 'active';
}

export function tokenView(t: TokenRecord, now: number = Date.now()): TokenView {
  return {
    id: t.id,
    prefix: t.prefix,
    label: t.label,
    format: t.format,
    scopes: [...t.scopes],
    names: [...t.names],
    maxTunnels: t.maxTunnels,
    status: tokenStatus(t, now),
    createdAt: new Date(t.createdAt).toISOString(),
    lastUsedAt: iso(t.lastUsedAt),
    expiresAt: iso(t.expiresAt),
    revokedAt: iso(t.revokedAt),
  };
}

export function reservedNameView(r: ReservedName): ReservedNameView {
  const a = r.access;
  return {
    name: r.name,
    tokenId: r.tokenId,
    createdAt: new Date(r.createdAt).toISOString(),
    access: a && {
      basicAuth: a.basicUser !== null && a.basicPasswordHash !== null,
      bearer: a.bearerHash !== null,
      allowIps: [...a.allowIps],
      denyIps: [...a.denyIps],
      rateLimit: a.rateLimit,
    },
  };
}

export function tunnelIdView(t: TunnelIdRecord): TunnelIdView {
  return {
    id: t.id,
    name: t.name,
    tokenId: t.tokenId,
    protocol: t.protocol,
    createdAt: new Date(t.createdAt).toISOString(),
    lastSeenAt: new Date(t.lastSeenAt).toISOString(),
  };
}
