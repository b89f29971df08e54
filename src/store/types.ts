/**
 * What burrow remembers across restarts: tokens, reserved names (with their visitor access rules),
 * persistent tunnel ids and tiflis workstations. Live traffic state stays in memory.
 * Times are milliseconds since the epoch; absent values are null.
 */

/** What a token may open. `admin` allows the admin HTTP API (/api/admin/…). */
export type TokenScope = 'http' | 'tcp' | 'tiflis' | 'pipe' | 'admin';
export const TOKEN_SCOPES: readonly TokenScope[] = ['http', 'tcp', 'tiflis', 'pipe', 'admin'];
/** Scopes a new token gets when none are given: every tunnel kind, not admin. */
export const DEFAULT_TOKEN_SCOPES: readonly TokenScope[] = ['http', 'tcp', 'tiflis', 'pipe'];

/** `burrow` tokens look like `brw_…`; `tunely` tokens like `tun_…` (what tunely clients expect). */
export type TokenFormat = 'burrow' | 'tunely';

export interface TokenRecord {
  /** Public identifier (`tok_…`), used by `token revoke ID` and in logs. Not a secret. */
  readonly id: string;
  /** First characters of the secret (e.g. `brw_Ab12Cd34`), shown so people can tell tokens apart. */
  readonly prefix: string;
  /** Hex SHA-256 of the whole secret. The secret itself is never stored. */
  readonly hash: string;
  readonly label: string;
  readonly format: TokenFormat;
  readonly scopes: readonly TokenScope[];
  /** Names/domains the token may claim (exact, or `*` at one end: `alice-*`, `*.example.com`); empty = any. */
  readonly names: readonly string[];
  /** Most tunnels this token may hold open at once; null = no per-token cap. */
  readonly maxTunnels: number | null;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
}

/** Visitor access rules stored with a reserved name. Secrets are stored hashed. */
export interface StoredAccessRules {
  readonly basicUser: string | null;
  /** scrypt hash (`scrypt$N$r$p$salt$hash`, see src/auth/password.ts). */
  readonly basicPasswordHash: string | null;
  /** Hex SHA-256 of the bearer token visitors must send. */
  readonly bearerHash: string | null;
  readonly allowIps: readonly string[];
  readonly denyIps: readonly string[];
  /** e.g. `100/s`, `20/m` (src/auth/rate-limit.ts). */
  readonly rateLimit: string | null;
  readonly updatedAt: number;
}

export interface ReservedName {
  /** A tunnel name (DNS label) or a full domain. Lowercase. */
  readonly name: string;
  readonly tokenId: string;
  readonly createdAt: number;
  readonly access: StoredAccessRules | null;
}

/** A stable tunnel id: the same agent (same token + name) gets the same id back, even after a restart. */
export interface TunnelIdRecord {
  readonly id: string;
  readonly name: string;
  /** Owning token; null when the server runs with `--auth none`. */
  readonly tokenId: string | null;
  readonly protocol: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
}

export interface ClaimTunnelIdInput {
  readonly name: string;
  readonly tokenId: string | null;
  readonly protocol: string;
  /** An id the agent had before (e.g. after a reconnect); given back when it belongs to the same token. */
  readonly previousId?: string | undefined;
  /** Id to use when a new record is created (the caller's id format). */
  readonly newId: string;
  readonly now: number;
}

export interface ClaimTunnelIdResult {
  readonly record: TunnelIdRecord;
  /** True when an existing id was given back. */
  readonly restored: boolean;
}

/** A tiflis workstation (docs/tiflis.md): its tunnel_id survives server restarts. */
export interface WorkstationRecord {
  readonly id: string;
  readonly name: string;
  /** Hex SHA-256 of the workstation's auth_key (clients must present the same key). */
  readonly authKeyHash: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
}

/** An automatic-TLS (ACME) certificate kept in the store, so every node of a cluster serves it. */
export interface AcmeCertificateRecord {
  /** The host name (or `*.<domain>`) it is for. */
  readonly name: string;
  /** PEM chain, leaf first. */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
  readonly updatedAt: number;
}

export type StoreBackend = 'sqlite' | 'postgres';

/**
 * The data layer. Two implementations share one set of queries (Kysely): SQLite (default) and
 * PostgreSQL. Every method is safe to call concurrently; input is always bound, never spliced.
 */
export interface Store {
  readonly backend: StoreBackend;
  /** File path, `:memory:`, or the PostgreSQL URL without its password (safe to print). */
  readonly location: string;
  /** Names of the applied migrations, oldest first. */
  appliedMigrations(): Promise<string[]>;

  insertToken(token: TokenRecord): Promise<void>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  findTokenByHash(hash: string): Promise<TokenRecord | undefined>;
  listTokens(): Promise<TokenRecord[]>;
  /** Sets revoked_at (first revocation wins). Returns the record, or undefined for an unknown id. */
  revokeToken(id: string, at: number): Promise<TokenRecord | undefined>;
  touchToken(id: string, at: number): Promise<void>;
  /** Ids of tokens revoked at or after `since` (lets several servers notice revocations). */
  listRevokedSince(since: number): Promise<Array<{ id: string; revokedAt: number }>>;

  /** Bind a name to a token. Idempotent for the same token; BURROW_ERR_NAME_TAKEN for another. */
  reserveName(input: { name: string; tokenId: string; now: number }): Promise<ReservedName>;
  getReservedName(name: string): Promise<ReservedName | undefined>;
  listReservedNames(filter?: { tokenId?: string }): Promise<ReservedName[]>;
  /** Returns false when the name was not reserved. Its access rules go with it. */
  releaseName(name: string): Promise<boolean>;
  /** Replace (or with null remove) the access rules of a reserved name. False when not reserved. */
  setAccessRules(name: string, rules: StoredAccessRules | null): Promise<boolean>;

  claimTunnelId(input: ClaimTunnelIdInput): Promise<ClaimTunnelIdResult>;
  getTunnelId(id: string): Promise<TunnelIdRecord | undefined>;
  findTunnelIdByName(name: string): Promise<TunnelIdRecord | undefined>;
  listTunnelIds(): Promise<TunnelIdRecord[]>;
  touchTunnelId(id: string, at: number): Promise<void>;
  deleteTunnelId(id: string): Promise<boolean>;

  /** Insert or replace a workstation (same id → name/auth key updated, created_at kept). */
  saveWorkstation(ws: WorkstationRecord): Promise<void>;
  getWorkstation(id: string): Promise<WorkstationRecord | undefined>;
  listWorkstations(): Promise<WorkstationRecord[]>;
  touchWorkstation(id: string, at: number): Promise<void>;
  deleteWorkstation(id: string): Promise<boolean>;

  /** The ACME account key (PEM), if one was saved. */
  getAcmeAccountKey(): Promise<string | undefined>;
  /** Save the ACME account key (replacing one saved before). */
  setAcmeAccountKey(pem: string, now: number): Promise<void>;
  /** Insert or replace the certificate for `name`. */
  putAcmeCertificate(c: AcmeCertificateRecord): Promise<void>;
  getAcmeCertificate(name: string): Promise<AcmeCertificateRecord | undefined>;
  listAcmeCertificates(): Promise<AcmeCertificateRecord[]>;

  close(): Promise<void>;
}
