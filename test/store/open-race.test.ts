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
