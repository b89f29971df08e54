/**
 * The built store loads kysely from its one-file build (dist/vendor/kysely.cjs, scripts/vendor-bundles.mjs:
 * ~1 MiB less in an idle server than the package's 262 files), and a SQLite store works on it: the
 * migrations apply, and what is written reads back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const NOT_BUILT = existsSync(`${DIST}vendor/kysely.cjs`) ? undefined : 'dist/ is not built: run `npm run build` first';

test('the built store runs on the vendored kysely', { skip: NOT_BUILT }, async () => {
  const { kysely } = (await import(`${DIST}store/packages.js`)) as { kysely: object };
  const cache = createRequire(import.meta.url).cache;
  assert.equal(kysely, cache[`${DIST}vendor/kysely.cjs`]?.exports, 'kysely is dist/vendor/kysely.cjs');
  const dir = mkdtempSync(join(tmpdir(), 'burrow-vendored-'));
  try {
    const { openStore } = (await import(`${DIST}store/open.js`)) as typeof import('../../src/store/open.js');
    const { LATEST_MIGRATION } = (await import(
      `${DIST}store/migrations.js`
    )) as typeof import('../../src/store/migrations.js');
    const store = await openStore(`sqlite:${join(dir, 'b.db')}`);
    try {
      assert.equal((await store.appliedMigrations()).at(-1), LATEST_MIGRATION);
      assert.deepEqual(await store.listTokens(), []);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
