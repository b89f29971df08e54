import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openStore } from '../../src/store/open.js';
import { MIGRATIONS } from '../../src/store/migrations.js';

const dir = mkdtempSync(join(tmpdir(), 'burrow-race-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const run = promisify(execFile);

void it('several processes opening a new SQLite file at once (server + CLI) migrate it once, without errors', async () => {
  const db = `sqlite:${join(dir, 'fresh.db')}`;
  const child = fileURLToPath(new URL('./open-child.ts', import.meta.url));
  await Promise.all(Array.from({ length: 4 }, () => run(process.execPath, ['--import', 'tsx', child, db])));
  const store = await openStore(db);
  try {
    assert.deepEqual(await store.appliedMigrations(), Object.keys(MIGRATIONS).sort());
  } finally {
    await store.close();
  }
});

void it('regression: switching a new file to WAL while another process holds its write lock waits instead of failing with SQLITE_BUSY', async () => {
  // SQLite answers the switch's read-to-write upgrade with SQLITE_BUSY at once, without the busy handler: the CI flake
  // of the test above (one of four processes failed at open). A second connection stands for the other process.
  const path = join(dir, 'locked.db');
  const Sqlite = (await import('better-sqlite3')).default;
  const other = new Sqlite(path);
  other.exec('create table other_process (a)');
  other.exec('begin immediate');
  other.exec('insert into other_process values (1)');
  const opening = openStore(`sqlite:${path}`);
  // the open must still be waiting for the lock, not failed; then the other process commits
  await new Promise((r) => setTimeout(r, 50));
  other.exec('commit');
  other.close();
  const store = await opening;
  try {
    assert.deepEqual(await store.appliedMigrations(), Object.keys(MIGRATIONS).sort());
  } finally {
    await store.close();
  }
});
