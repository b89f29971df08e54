import type { Kysely, Selectable } from 'kysely';
import { kysely } from './packages.js';
import { BurrowError, isBurrowError } from '../core/errors.js';
import { MIGRATION_TABLE } from './migrations.js';
import type { AcmeCertificatesTable, Database, TokensTable, TunnelIdsTable, WorkstationsTable } from './schema.js';
import type {
  AcmeCertificateRecord,
  ClaimTunnelIdInput,
  ClaimTunnelIdResult,
  ReservedName,
  Store,
  StoreBackend,
  StoredAccessRules,
  TokenFormat,
  TokenRecord,
  TokenScope,
  TunnelIdRecord,
  WorkstationRecord,
} from './types.js';

const { sql } = kysely;

/**
 * The Store over Kysely: the same queries for SQLite and PostgreSQL. Values are always bound
 * parameters. Driver errors become BURROW_ERR_STORE (with the cause kept, never the bound values).
 */
export class KyselyStore implements Store {
  readonly backend: StoreBackend;
  readonly location: string;
  readonly #db: Kysely<Database>;
  readonly #schema: string | undefined;
  readonly #onClose: () => Promise<void>;
  #closed = false;

  constructor(options: {
    db: Kysely<Database>;
    backend: StoreBackend;
    location: string;
    /** PostgreSQL schema holding the migration table. */
    schema?: string | undefined;
    onClose?: () => Promise<void>;
  }) {
    this.#db = options.db;
    this.backend = options.backend;
    this.location = options.location;
    this.#schema = options.schema;
    this.#onClose = options.onClose ?? (async () => {});
  }

  /** The Kysely instance, for tests and future migrations. */
  get db(): Kysely<Database> {
    return this.#db;
  }

  async appliedMigrations(): Promise<string[]> {
    return this.#run('read migrations', async () => {
      const table = this.#schema !== undefined ? `${this.#schema}.${MIGRATION_TABLE}` : MIGRATION_TABLE;
      const rows = await sql<{ name: string }>`select name from ${sql.table(table)} order by name`.execute(this.#db);
      return rows.rows.map((r) => r.name);
    });
  }

  // ---- tokens ----

  async insertToken(t: TokenRecord): Promise<void> {
    await this.#run('insert token', () =>
      this.#db
        .insertInto('tokens')
        .values({
          id: t.id,
          prefix: t.prefix,
          hash: t.hash,
          label: t.label,
          format: t.format,
          scopes: JSON.stringify(t.scopes),
          names: JSON.stringify(t.names),
          max_tunnels: t.maxTunnels,
          created_at: t.createdAt,
          last_used_at: t.lastUsedAt,
          expires_at: t.expiresAt,
          revoked_at: t.revokedAt,
        })
        .execute(),
    );
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const row = await this.#run('read token', () =>
      this.#db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst(),
    );
    return row && toToken(row);
  }

  async findTokenByHash(hash: string): Promise<TokenRecord | undefined> {
    const row = await this.#run('read token', () =>
      this.#db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst(),
    );
    return row && toToken(row);
  }

  async listTokens(): Promise<TokenRecord[]> {
    const rows = await this.#run('list tokens', () =>
      this.#db.selectFrom('tokens').selectAll().orderBy('created_at').orderBy('id').execute(),
    );
    return rows.map(toToken);
  }

  async revokeToken(id: string, at: number): Promise<TokenRecord | undefined> {
    await this.#run('revoke token', () =>
      this.#db
        .updateTable('tokens')
        .set({ revoked_at: at })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .execute(),
    );
    return this.getToken(id);
  }

  async touchToken(id: string, at: number): Promise<void> {
    await this.#run('update token', () =>
      this.#db.updateTable('tokens').set({ last_used_at: at }).where('id', '=', id).execute(),
    );
  }

  async listRevokedSince(since: number): Promise<Array<{ id: string; revokedAt: number }>> {
    const rows = await this.#run('list revoked tokens', () =>
      this.#db.selectFrom('tokens').select(['id', 'revoked_at']).where('revoked_at', '>=', since).execute(),
    );
    return rows.map((r) => ({ id: r.id, revokedAt: Number(r.revoked_at) }));
  }

  // ---- reserved names and their access rules ----

  async reserveName(input: { name: string; tokenId: string; now: number }): Promise<ReservedName> {
    return this.#run('reserve name', () =>
      retryOnConflict(() =>
        this.#db.transaction().execute(async (trx) => {
          const token = await trx.selectFrom('tokens').select('id').where('id', '=', input.tokenId).executeTakeFirst();
          if (!token) throw new BurrowError('BURROW_ERR_TOKEN_NOT_FOUND', `"${input.tokenId}"`);
          const existing = await trx
            .selectFrom('reserved_names')
            .select('token_id')
            .where('name', '=', input.name)
            .executeTakeFirst();
          if (existing && existing.token_id !== input.tokenId) {
            throw new BurrowError('BURROW_ERR_NAME_TAKEN', `"${input.name}" is reserved for another token`);
          }
          if (!existing) {
            await trx
              .insertInto('reserved_names')
              .values({ name: input.name, token_id: input.tokenId, created_at: input.now })
              .execute();
          }
          const row = await this.#reservedQuery(trx)
            .where('reserved_names.name', '=', input.name)
            .executeTakeFirstOrThrow();
          return toReserved(row);
        }),
      ),
    );
  }

  async getReservedName(name: string): Promise<ReservedName | undefined> {
    const row = await this.#run('read reserved name', () =>
      this.#reservedQuery(this.#db).where('reserved_names.name', '=', name).executeTakeFirst(),
    );
    return row && toReserved(row);
  }

  async listReservedNames(filter: { tokenId?: string } = {}): Promise<ReservedName[]> {
    const rows = await this.#run('list reserved names', () => {
      let q = this.#reservedQuery(this.#db);
      if (filter.tokenId !== undefined) q = q.where('reserved_names.token_id', '=', filter.tokenId);
      return q.orderBy('reserved_names.name').execute();
    });
    return rows.map(toReserved);
  }

  async releaseName(name: string): Promise<boolean> {
    return this.#run('release name', () =>
      this.#db.transaction().execute(async (trx) => {
        await trx.deleteFrom('access_rules').where('name', '=', name).execute();
        const res = await trx.deleteFrom('reserved_names').where('name', '=', name).executeTakeFirst();
        return Number(res.numDeletedRows) > 0;
      }),
    );
  }

  async setAccessRules(name: string, rules: StoredAccessRules | null): Promise<boolean> {
    return this.#run('save access rules', () =>
      this.#db.transaction().execute(async (trx) => {
        const reserved = await trx
          .selectFrom('reserved_names')
          .select('name')
          .where('name', '=', name)
          .executeTakeFirst();
        if (!reserved) return false;
        await trx.deleteFrom('access_rules').where('name', '=', name).execute();
        if (rules) {
          await trx
            .insertInto('access_rules')
            .values({
              name,
              basic_user: rules.basicUser,
              basic_password_hash: rules.basicPasswordHash,
              bearer_hash: rules.bearerHash,
              allow_ips: JSON.stringify(rules.allowIps),
              deny_ips: JSON.stringify(rules.denyIps),
              rate_limit: rules.rateLimit,
              updated_at: rules.updatedAt,
            })
            .execute();
        }
        return true;
      }),
    );
  }

  #reservedQuery(db: Kysely<Database>) {
    return db
      .selectFrom('reserved_names')
      .leftJoin('access_rules', 'access_rules.name', 'reserved_names.name')
      .select([
        'reserved_names.name as name',
        'reserved_names.token_id as token_id',
        'reserved_names.created_at as created_at',
        'access_rules.name as rule_name',
        'access_rules.basic_user as basic_user',
        'access_rules.basic_password_hash as basic_password_hash',
        'access_rules.bearer_hash as bearer_hash',
        'access_rules.allow_ips as allow_ips',
        'access_rules.deny_ips as deny_ips',
        'access_rules.rate_limit as rate_limit',
        'access_rules.updated_at as updated_at',
      ]);
  }

  // ---- persistent tunnel ids ----

  async claimTunnelId(input: ClaimTunnelIdInput): Promise<ClaimTunnelIdResult> {
    return this.#run('claim tunnel id', () =>
      retryOnConflict(() =>
        this.#db.transaction().execute(async (trx) => {
          const byName = await trx
            .selectFrom('tunnel_ids')
            .selectAll()
            .where('name', '=', input.name)
            .executeTakeFirst();
          // 1. The agent names the id it had: give it back if it is its own (same owning token).
          if (input.previousId !== undefined && input.previousId !== '') {
            const prev = await trx
              .selectFrom('tunnel_ids')
              .selectAll()
              .where('id', '=', input.previousId)
              .executeTakeFirst();
            if (prev && prev.token_id === input.tokenId) {
              if (prev.name !== input.name) {
                // The name moves to this id; a stale record holding the name loses it.
                if (byName) await trx.deleteFrom('tunnel_ids').where('id', '=', byName.id).execute();
                await trx.updateTable('tunnel_ids').set({ name: input.name }).where('id', '=', prev.id).execute();
              }
              await trx
                .updateTable('tunnel_ids')
                .set({ last_seen_at: input.now, protocol: input.protocol })
                .where('id', '=', prev.id)
                .execute();
              return {
                record: { ...toTunnelId(prev), name: input.name, protocol: input.protocol, lastSeenAt: input.now },
                restored: true,
              };
            }
          }
          // 2. Same name, same owner: the same id.
          if (byName && byName.token_id === input.tokenId) {
            await trx
              .updateTable('tunnel_ids')
              .set({ last_seen_at: input.now, protocol: input.protocol })
              .where('id', '=', byName.id)
              .execute();
            return {
              record: { ...toTunnelId(byName), protocol: input.protocol, lastSeenAt: input.now },
              restored: true,
            };
          }
          // 3. A new id (a name that changed owner gets a fresh id: ids are per owner and name).
          if (byName) await trx.deleteFrom('tunnel_ids').where('id', '=', byName.id).execute();
          const record: TunnelIdRecord = {
            id: input.newId,
            name: input.name,
            tokenId: input.tokenId,
            protocol: input.protocol,
            createdAt: input.now,
            lastSeenAt: input.now,
          };
          await trx
            .insertInto('tunnel_ids')
            .values({
              id: record.id,
              name: record.name,
              token_id: record.tokenId,
              protocol: record.protocol,
              created_at: record.createdAt,
              last_seen_at: record.lastSeenAt,
            })
            .execute();
          return { record, restored: false };
        }),
      ),
    );
  }

  async getTunnelId(id: string): Promise<TunnelIdRecord | undefined> {
    const row = await this.#run('read tunnel id', () =>
      this.#db.selectFrom('tunnel_ids').selectAll().where('id', '=', id).executeTakeFirst(),
    );
    return row && toTunnelId(row);
  }

  async findTunnelIdByName(name: string): Promise<TunnelIdRecord | undefined> {
    const row = await this.#run('read tunnel id', () =>
      this.#db.selectFrom('tunnel_ids').selectAll().where('name', '=', name).executeTakeFirst(),
    );
    return row && toTunnelId(row);
  }

  async listTunnelIds(): Promise<TunnelIdRecord[]> {
    const rows = await this.#run('list tunnel ids', () =>
      this.#db.selectFrom('tunnel_ids').selectAll().orderBy('name').execute(),
    );
    return rows.map(toTunnelId);
  }

  async touchTunnelId(id: string, at: number): Promise<void> {
    await this.#run('update tunnel id', () =>
      this.#db.updateTable('tunnel_ids').set({ last_seen_at: at }).where('id', '=', id).execute(),
    );
  }

  async deleteTunnelId(id: string): Promise<boolean> {
    const res = await this.#run('delete tunnel id', () =>
      this.#db.deleteFrom('tunnel_ids').where('id', '=', id).executeTakeFirst(),
    );
    return Number(res.numDeletedRows) > 0;
  }

  // ---- automatic TLS (ACME) ----

  async getAcmeAccountKey(): Promise<string | undefined> {
    const row = await this.#run('read ACME account', () =>
      this.#db.selectFrom('acme_account').select('key').where('id', '=', ACME_ACCOUNT_ID).executeTakeFirst(),
    );
    return row?.key;
  }

  async setAcmeAccountKey(pem: string, now: number): Promise<void> {
    await this.#run('save ACME account', () =>
      this.#db
        .insertInto('acme_account')
        .values({ id: ACME_ACCOUNT_ID, key: pem, updated_at: now })
        .onConflict((oc) => oc.column('id').doUpdateSet({ key: pem, updated_at: now }))
        .execute(),
    );
  }

  async putAcmeCertificate(c: AcmeCertificateRecord): Promise<void> {
    await this.#run('save ACME certificate', () =>
      this.#db
        .insertInto('acme_certificates')
        .values({ name: c.name, cert: c.cert, key: c.key, updated_at: c.updatedAt })
        .onConflict((oc) => oc.column('name').doUpdateSet({ cert: c.cert, key: c.key, updated_at: c.updatedAt }))
        .execute(),
    );
  }

  async getAcmeCertificate(name: string): Promise<AcmeCertificateRecord | undefined> {
    const row = await this.#run('read ACME certificate', () =>
      this.#db.selectFrom('acme_certificates').selectAll().where('name', '=', name).executeTakeFirst(),
    );
    return row && toAcmeCertificate(row);
  }

  async listAcmeCertificates(): Promise<AcmeCertificateRecord[]> {
    const rows = await this.#run('list ACME certificates', () =>
      this.#db.selectFrom('acme_certificates').selectAll().orderBy('name').execute(),
    );
    return rows.map(toAcmeCertificate);
  }

  // ---- tiflis workstations ----

  async saveWorkstation(ws: WorkstationRecord): Promise<void> {
    await this.#run('save workstation', () =>
      this.#db
        .insertInto('workstations')
        .values({
          id: ws.id,
          name: ws.name,
          auth_key_hash: ws.authKeyHash,
          created_at: ws.createdAt,
          last_seen_at: ws.lastSeenAt,
        })
        .onConflict((oc) =>
          oc.column('id').doUpdateSet({ name: ws.name, auth_key_hash: ws.authKeyHash, last_seen_at: ws.lastSeenAt }),
        )
        .execute(),
    );
  }

  async getWorkstation(id: string): Promise<WorkstationRecord | undefined> {
    const row = await this.#run('read workstation', () =>
      this.#db.selectFrom('workstations').selectAll().where('id', '=', id).executeTakeFirst(),
    );
    return row && toWorkstation(row);
  }

  async listWorkstations(): Promise<WorkstationRecord[]> {
    const rows = await this.#run('list workstations', () =>
      this.#db.selectFrom('workstations').selectAll().orderBy('created_at').orderBy('id').execute(),
    );
    return rows.map(toWorkstation);
  }

  async touchWorkstation(id: string, at: number): Promise<void> {
    await this.#run('update workstation', () =>
      this.#db.updateTable('workstations').set({ last_seen_at: at }).where('id', '=', id).execute(),
    );
  }

  async deleteWorkstation(id: string): Promise<boolean> {
    const res = await this.#run('delete workstation', () =>
      this.#db.deleteFrom('workstations').where('id', '=', id).executeTakeFirst(),
    );
    return Number(res.numDeletedRows) > 0;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#db.destroy();
    await this.#onClose();
  }

  async #run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new BurrowError('BURROW_ERR_STORE', `${what}: the store is closed`);
    try {
      return await fn();
    } catch (err) {
      if (isBurrowError(err)) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      throw new BurrowError('BURROW_ERR_STORE', `${what}: ${reason}`, { cause: err });
    }
  }
}

/** Attempts for a transaction that lost a race on a unique key (two agents claiming one name at once). */
const CONFLICT_RETRIES = 3;

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Run a transaction again when a concurrent one inserted the same key first: the retry sees its row. */
async function retryOnConflict<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= CONFLICT_RETRIES || !isUniqueViolation(err)) throw err;
    }
  }
}

function millis(v: number | string): number {
  return Number(v);
}

function nullableMillis(v: number | string | null): number | null {
  return v === null ? null : Number(v);
}

function stringArray(text: string | null): string[] {
  if (text === null) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

function toToken(row: Selectable<TokensTable>): TokenRecord {
  return {
    id: row.id,
    prefix: row.prefix,
    hash: row.hash,
    label: row.label,
    format: (row.format === 'tunely' ? 'tunely' : 'burrow') satisfies TokenFormat,
    scopes: stringArray(row.scopes) as TokenScope[],
    names: stringArray(row.names),
    maxTunnels: row.max_tunnels === null ? null : Number(row.max_tunnels),
    createdAt: millis(row.created_at),
    lastUsedAt: nullableMillis(row.last_used_at),
    expiresAt: nullableMillis(row.expires_at),
    revokedAt: nullableMillis(row.revoked_at),
  };
}

interface ReservedRow {
  name: string;
  token_id: string;
  created_at: number | string;
  rule_name: string | null;
  basic_user: string | null;
  basic_password_hash: string | null;
  bearer_hash: string | null;
  allow_ips: string | null;
  deny_ips: string | null;
  rate_limit: string | null;
  updated_at: number | string | null;
}

function toReserved(row: ReservedRow): ReservedName {
  return {
    name: row.name,
    tokenId: row.token_id,
    createdAt: millis(row.created_at),
    access:
      row.rule_name === null
        ? null
        : {
            basicUser: row.basic_user,
            basicPasswordHash: row.basic_password_hash,
            bearerHash: row.bearer_hash,
            allowIps: stringArray(row.allow_ips),
            denyIps: stringArray(row.deny_ips),
            rateLimit: row.rate_limit,
            updatedAt: nullableMillis(row.updated_at) ?? 0,
          },
  };
}

function toTunnelId(row: Selectable<TunnelIdsTable>): TunnelIdRecord {
  return {
    id: row.id,
    name: row.name,
    tokenId: row.token_id,
    protocol: row.protocol,
    createdAt: millis(row.created_at),
    lastSeenAt: millis(row.last_seen_at),
  };
}

/** The one row of acme_account. */
const ACME_ACCOUNT_ID = 'account';

function toAcmeCertificate(row: Selectable<AcmeCertificatesTable>): AcmeCertificateRecord {
  return { name: row.name, cert: row.cert, key: row.key, updatedAt: millis(row.updated_at) };
}

function toWorkstation(row: Selectable<WorkstationsTable>): WorkstationRecord {
  return {
    id: row.id,
    name: row.name,
    authKeyHash: row.auth_key_hash,
    createdAt: millis(row.created_at),
    lastSeenAt: millis(row.last_seen_at),
  };
}
