import { chmodSync, existsSync, mkdirSync, rmdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type SqliteDatabase from 'better-sqlite3';
import type { Pool } from 'pg';
import type { Kysely } from 'kysely';
import { BurrowError, isBurrowError } from '../core/errors.js';
import { KyselyStore } from './kysely-store.js';
import { PG_CONNECT_TIMEOUT_MS, PG_POOL_MAX, SQLITE_BUSY_TIMEOUT_MS, SQLITE_WAL_RETRY_MS } from './limits.js';
import { migrate } from './migrations.js';
import type { Database } from './schema.js';
import { parseDbUrl, resolveDbUrl } from './url.js';
import { kysely, loadDriver } from './packages.js';

const { sql } = kysely;

export interface OpenStoreOptions {
  /** PostgreSQL schema (overrides `?schema=` in the URL); created when missing. Tests use one per run. */
  schema?: string;
  /** Stop migrating at this migration (tests build an older database with it). Default: the latest. */
  migrateTo?: string;
  /** Resolve relative SQLite paths against this folder (default: process.cwd()). */
  cwd?: string;
}

/**
 * Open the database named by `url` (default: BURROW_DB, else sqlite:./data/burrow.db), create the
 * SQLite file and its folder on first use, apply pending migrations, and return the Store.
 * `store.location` says which file or server is used (safe to print: no password).
 */
export async function openStore(url?: string, options: OpenStoreOptions = {}): Promise<KyselyStore> {
  const target = parseDbUrl(resolveDbUrl(url), options.cwd);
  if (target.backend === 'sqlite') {
    const db = await openSqlite(loadSqlite(), target.path);
    const store = new KyselyStore({ db, backend: 'sqlite', location: target.path });
    return migrateOrClose(store, db, options.migrateTo, undefined, true);
  }
  const schema = options.schema ?? target.schema;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new BurrowError(
      'BURROW_ERR_INVALID_CONFIG',
      `PostgreSQL schema "${schema.slice(0, 80)}" is not a plain name`,
    );
  }
  const { Pool: PgPool } = loadPg();
  const pool: Pool = new PgPool({
    connectionString: target.connectionString,
    max: PG_POOL_MAX,
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    // Every connection resolves unqualified table names in burrow's schema.
    options: `-c search_path=${schema}`,
  });
  // An idle client losing its server connection must not crash the process: the next query fails cleanly.
  pool.on('error', () => {});
  const db = new kysely.Kysely<Database>({ dialect: new kysely.PostgresDialect({ pool }) });
  const location = schema === target.schema ? target.display : `${target.display} (schema ${schema})`;
  const store = new KyselyStore({ db, backend: 'postgres', location, schema });
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (err) {
    await store.close().catch(() => {});
    throw new BurrowError('BURROW_ERR_STORE', `cannot reach PostgreSQL at ${target.display}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return migrateOrClose(store, db, options.migrateTo, schema);
}

function loadSqlite(): typeof SqliteDatabase {
  return loadDriver<typeof SqliteDatabase>('better-sqlite3', 'use PostgreSQL: --db postgres://…');
}

function loadPg(): { Pool: typeof Pool } {
  return loadDriver<{ Pool: typeof Pool }>('pg', 'use SQLite: --db sqlite:/path/burrow.db');
}

async function openSqlite(Sqlite: typeof SqliteDatabase, path: string): Promise<Kysely<Database>> {
  let database: SqliteDatabase.Database | undefined;
  const created = path !== ':memory:' && !existsSync(path);
  // the first folder mkdir made (undefined when they all existed), removed again if opening fails
  let madeDir: string | undefined;
  try {
    if (created) madeDir = mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    database = new Sqlite(path);
    // Token hashes and access rules are nobody else's business: a new file is readable by its owner only.
    if (created) chmodSync(path, 0o600);
    // busy_timeout waits for another process's write lock; WAL lets `burrow token …` write while the server reads.
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    if (path !== ':memory:') await enableWal(database);
    database.pragma('foreign_keys = ON');
  } catch (err) {
    database?.close();
    if (created) removeCreated(path, madeDir);
    throw new BurrowError('BURROW_ERR_STORE', `cannot open SQLite database ${path}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return new kysely.Kysely<Database>({ dialect: new kysely.SqliteDialect({ database }) });
}

/**
 * Switch to WAL. On a new file another process may be doing the same, or hold its write lock for its migrations: the
 * switch starts as a read and upgrades to a write, and SQLite answers a blocked upgrade with SQLITE_BUSY at once, without
 * the busy handler (it could deadlock otherwise). So try again, without blocking the event loop, for as long as
 * busy_timeout would have waited.
 */
async function enableWal(database: SqliteDatabase.Database): Promise<void> {
  const deadline = Date.now() + SQLITE_BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      database.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw err;
    }
    await sleep(SQLITE_WAL_RETRY_MS);
  }
}

async function migrateOrClose(
  store: KyselyStore,
  db: Kysely<Database>,
  target: string | undefined,
  schema: string | undefined,
  sqliteLock = false,
): Promise<KyselyStore> {
  try {
    const run = () =>
      migrate(db as Kysely<unknown>, {
        ...(schema !== undefined ? { schema } : {}),
        ...(target ? { target } : {}),
      });
    if (sqliteLock) await withSqliteWriteLock(db, run);
    else await run();
  } catch (err) {
    await store.close().catch(() => {});
    throw isBurrowError(err) ? err : new BurrowError('BURROW_ERR_STORE', errorMessage(err), { cause: err });
  }
  return store;
}

/**
 * SQLite migrations run inside one BEGIN IMMEDIATE transaction: processes opening a new file at
 * the same time (the server and a `burrow token` command) wait for each other (busy_timeout)
 * instead of both creating the same tables. Kysely runs SQLite migrations without a transaction
 * of its own, so they join this one.
 */
async function withSqliteWriteLock(db: Kysely<Database>, fn: () => Promise<void>): Promise<void> {
  await sql`begin immediate`.execute(db);
  try {
    await fn();
  } catch (err) {
    await sql`rollback`.execute(db).catch(() => {});
    throw err;
  }
  await sql`commit`.execute(db);
}

/** Undo a failed first open: the new database file (and its WAL files), then the folders made for it if empty. */
function removeCreated(path: string, madeDir: string | undefined): void {
  for (const f of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    try {
      rmSync(f, { force: true });
    } catch {
      // best effort: the open error is what gets reported
    }
  }
  if (madeDir === undefined) return;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    try {
      rmdirSync(dir);
    } catch {
      return; // not empty (someone else's files): keep it and its parents
    }
    if (dir === madeDir || dirname(dir) === dir) return;
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
