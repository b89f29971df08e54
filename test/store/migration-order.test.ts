/**
 * Regression (idle memory, existing database): kysely sorts the executed migrations it reads back with
 * `localeCompare` when their timestamps are equal, and that first collation pages ~1.3 MiB of ICU's data
 * into every server started on an existing database for good (an idle server 65.2 -> 62.8 MiB without
 * it). burrow's migrator compares the ASCII names by code unit instead, in the same order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type SqliteDatabase from 'better-sqlite3';
import { openStore } from '../../src/store/open.js';
import { compareNames, LATEST_MIGRATION, MIGRATION_TABLE, MIGRATIONS } from '../../src/store/migrations.js';

test('compareNames orders migration names as sort() does', () => {
  const names = Object.keys(MIGRATIONS).reverse();
  assert.deepEqual([...names].sort(compareNames), [...names].sort());
  assert.equal(compareNames('001_a', '001_a'), 0);
});

test('regression (ICU at rest): reopening a database whose migrations share a timestamp calls no localeCompare', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-migration-order-'));
  const path = join(dir, 'b.db');
  const Sqlite = createRequire(import.meta.url)('better-sqlite3') as typeof SqliteDatabase;
  const descriptor = Object.getOwnPropertyDescriptor(String.prototype, 'localeCompare')!;
  const original = descriptor.value as (this: string, ...args: unknown[]) => number;
  let calls = 0;
  try {
    await (await openStore(`sqlite:${path}`)).close();
    // the same timestamp on every row: kysely then orders them by name
    const raw = new Sqlite(path);
    raw.prepare(`update ${MIGRATION_TABLE} set timestamp = ?`).run('2026-12-07T00:00:00.000Z');
    raw.close();
    Object.defineProperty(String.prototype, 'localeCompare', {
      ...descriptor,
      value: function (this: string, ...args: unknown[]) {
        calls++;
        return original.apply(this, args);
      },
    });
    const store = await openStore(`sqlite:${path}`);
    try {
      assert.equal((await store.appliedMigrations()).at(-1), LATEST_MIGRATION);
    } finally {
      await store.close();
    }
  } finally {
    Object.defineProperty(String.prototype, 'localeCompare', descriptor);
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(calls, 0, 'localeCompare was called while opening the store');
});
