import type { Kysely, Migration, MigrationProvider, MigrationResultSet, Migrator } from 'kysely';
import { kysely } from './packages.js';
import { BurrowError } from '../core/errors.js';

/**
 * Versioned schema migrations, applied in name order and recorded in `burrow_migrations`.
 * Never edit a released migration: add the next one. Each must work on SQLite and PostgreSQL
 * (only portable types: text, integer, bigint; JSON arrays as text).
 */

/** 001: tokens, names reserved by tokens, persistent tunnel ids. */
const m001Initial: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('prefix', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull().unique())
      .addColumn('label', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('format', 'text', (c) => c.notNull())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('names', 'text', (c) => c.notNull())
      .addColumn('max_tunnels', 'integer')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .addColumn('expires_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema
      .createTable('reserved_names')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('token_id', 'text', (c) => c.notNull().references('tokens.id').onDelete('cascade'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('reserved_names_token_id').on('reserved_names').column('token_id').execute();
    await db.schema
      .createTable('tunnel_ids')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('token_id', 'text', (c) => c.references('tokens.id').onDelete('set null'))
      .addColumn('protocol', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('tunnel_ids').execute();
    await db.schema.dropTable('reserved_names').execute();
    await db.schema.dropTable('tokens').execute();
  },
};

/** 002: visitor access rules (basic auth, bearer, IP allow/deny, rate limit) kept with reserved names. */
const m002AccessRules: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('access_rules')
      .addColumn('name', 'text', (c) => c.primaryKey().references('reserved_names.name').onDelete('cascade'))
      .addColumn('basic_user', 'text')
      .addColumn('basic_password_hash', 'text')
      .addColumn('bearer_hash', 'text')
      .addColumn('allow_ips', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('deny_ips', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('rate_limit', 'text')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('access_rules').execute();
  },
};

/** 003: tiflis workstations, so their tunnel_id survives a restart; index for revocation polling. */
const m003Workstations: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('workstations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('auth_key_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('tokens_revoked_at').on('tokens').column('revoked_at').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropIndex('tokens_revoked_at').execute();
    await db.schema.dropTable('workstations').execute();
  },
};

/** 004: automatic-TLS certificates and the ACME account key, shared by every node (src/server/tls/). */
const m004Acme: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('acme_account')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('acme_certificates')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('cert', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('acme_certificates').execute();
    await db.schema.dropTable('acme_account').execute();
  },
};

/** Every migration, by name. Names sort in application order. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '001_initial': m001Initial,
  '002_access_rules': m002AccessRules,
  '003_workstations': m003Workstations,
  '004_acme': m004Acme,
};

export const LATEST_MIGRATION = Object.keys(MIGRATIONS).sort().at(-1)!;
export const MIGRATION_TABLE = 'burrow_migrations';
export const MIGRATION_LOCK_TABLE = 'burrow_migrations_lock';

const provider: MigrationProvider = { getMigrations: async () => ({ ...MIGRATIONS }) };

/** Migration names in code-unit order (what `Object.keys(MIGRATIONS).sort()` gives). */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function createMigrator(db: Kysely<unknown>, schema?: string): Migrator {
  return new kysely.Migrator({
    db,
    provider,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
    ...(schema !== undefined ? { migrationTableSchema: schema } : {}),
    // names are ASCII (0001_…): kysely's default, localeCompare, pages in ~1.3 MiB of ICU's collation
    // data for good on every start with an existing database
    nameComparator: compareNames,
  });
}

/**
 * Apply migrations up to `target` (default: the latest). A database with migrations this version
 * does not know (written by a newer burrow) is refused rather than guessed at.
 */
export async function migrate(db: Kysely<unknown>, options: { schema?: string; target?: string } = {}): Promise<void> {
  const migrator = createMigrator(db, options.schema);
  const target = options.target ?? LATEST_MIGRATION;
  if (!(target in MIGRATIONS)) {
    throw new BurrowError('BURROW_ERR_INVALID_CONFIG', `unknown migration "${target}"`);
  }
  let result: MigrationResultSet | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      // migrateToLatest never goes down; migrateTo(target) is for tests that build an older schema.
      result = target === LATEST_MIGRATION ? await migrator.migrateToLatest() : await migrator.migrateTo(target);
    } catch (err) {
      // Kysely's introspection scans every schema of the database; a schema dropped by someone else
      // at that moment fails the scan (3F000) though ours is fine. Scan again.
      if (attempt < MIGRATION_ATTEMPTS && isSchemaGone(err)) continue;
      throw storeError('migration failed', err);
    }
    if (result.error !== undefined && attempt < MIGRATION_ATTEMPTS && isSchemaGone(result.error)) continue;
    break;
  }
  if (result.error !== undefined) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
    throw storeError(failed ? `migration ${failed} failed` : 'migration failed', result.error);
  }
}

/** Tries at a migration when a concurrent schema drop disturbs the catalog scan. */
export const MIGRATION_ATTEMPTS = 3;

function isSchemaGone(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    if ((e as { code?: unknown }).code === '3F000') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function storeError(what: string, cause: unknown): BurrowError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new BurrowError('BURROW_ERR_STORE', `${what}: ${reason}`, { cause });
}
