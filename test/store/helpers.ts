import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { OpenStoreOptions } from '../../src/store/open.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';

/** PostgreSQL URL for tests, or undefined (tests then skip with this message). */
export const PG_URL = process.env['BURROW_TEST_DATABASE_URL'] || undefined;
export const PG_SKIP = PG_URL
  ? false
  : 'BURROW_TEST_DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)';

/** A fresh schema name for one test run. */
export function uniqueSchema(): string {
  return `burrow_test_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Drop a test schema with everything in it (through a short-lived store connection). */
export async function dropSchema(schema: string): Promise<void> {
  // a plain client: opening a store here would migrate (and scan every schema) just to drop one
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${client.escapeIdentifier(schema)} cascade`);
  } finally {
    await client.end();
  }
}

/** How the conformance suite opens stores of one backend. */
export interface Backend {
  readonly name: string;
  /** The suite's database (every call opens the same data: a restart). */
  open(): Promise<KyselyStore>;
  /** A new empty database migrated up to `migrateTo` (default latest). */
  openFresh(migrateTo?: string): Promise<KyselyStore>;
  /** The last fresh database again, migrated to the latest version. */
  reopenFresh(): Promise<KyselyStore>;
  /** Remove every database the backend created. */
  cleanup(): Promise<void>;
}

export type { OpenStoreOptions };
