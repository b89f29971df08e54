import type { ColumnType } from 'kysely';

/** BIGINT milliseconds. PostgreSQL returns int8 as a string, SQLite as a number: rows go through Number(). */
type Millis = ColumnType<number | string, number, number>;
type NullableMillis = ColumnType<number | string | null, number | null, number | null>;

/** Table shapes as Kysely sees them (the SQL is in migrations.ts). JSON arrays are stored as text. */
export interface TokensTable {
  id: string;
  prefix: string;
  hash: string;
  label: string;
  format: string;
  scopes: string;
  names: string;
  max_tunnels: number | null;
  created_at: Millis;
  last_used_at: NullableMillis;
  expires_at: NullableMillis;
  revoked_at: NullableMillis;
}

export interface ReservedNamesTable {
  name: string;
  token_id: string;
  created_at: Millis;
}

export interface AccessRulesTable {
  name: string;
  basic_user: string | null;
  basic_password_hash: string | null;
  bearer_hash: string | null;
  allow_ips: string;
  deny_ips: string;
  rate_limit: string | null;
  updated_at: Millis;
}

export interface TunnelIdsTable {
  id: string;
  name: string;
  token_id: string | null;
  protocol: string;
  created_at: Millis;
  last_seen_at: Millis;
}

export interface WorkstationsTable {
  id: string;
  name: string;
  auth_key_hash: string;
  created_at: Millis;
  last_seen_at: Millis;
}

export interface AcmeAccountTable {
  id: string;
  key: string;
  updated_at: Millis;
}

export interface AcmeCertificatesTable {
  name: string;
  cert: string;
  key: string;
  updated_at: Millis;
}

export interface Database {
  tokens: TokensTable;
  reserved_names: ReservedNamesTable;
  access_rules: AccessRulesTable;
  tunnel_ids: TunnelIdsTable;
  workstations: WorkstationsTable;
  acme_account: AcmeAccountTable;
  acme_certificates: AcmeCertificatesTable;
}
