import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import { isBurrowError } from '../../src/core/errors.js';
import { openStore } from '../../src/store/open.js';
import { SqlWorkstationStore } from '../../src/app/tiflis-workstations.js';
import { parseDbUrl, resolveDbUrl } from '../../src/store/url.js';
import { DEFAULT_DB_URL } from '../../src/store/limits.js';
import { MIGRATION_TABLE } from '../../src/store/migrations.js';

const dir = mkdtempSync(join(tmpdir(), 'burrow-open-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const code = (c: string) => (e: unknown) => isBurrowError(e) && e.code === c;

void describe('parseDbUrl / resolveDbUrl', () => {
  void it('picks the flag, then BURROW_DB, then the default', () => {
    assert.equal(resolveDbUrl('sqlite::memory:', { BURROW_DB: 'x' }), 'sqlite::memory:');
    assert.equal(resolveDbUrl(undefined, { BURROW_DB: 'postgres://h/db' }), 'postgres://h/db');
    assert.equal(resolveDbUrl(undefined, {}), DEFAULT_DB_URL);
    assert.equal(resolveDbUrl('', {}), DEFAULT_DB_URL);
  });

  void it('understands the SQLite spellings', () => {
    assert.deepEqual(parseDbUrl('sqlite::memory:'), { backend: 'sqlite', path: ':memory:' });
    assert.deepEqual(parseDbUrl(':memory:'), { backend: 'sqlite', path: ':memory:' });
    assert.deepEqual(parseDbUrl('sqlite:./data/burrow.db', '/srv'), { backend: 'sqlite', path: '/srv/data/burrow.db' });
    assert.deepEqual(parseDbUrl('sqlite:/var/lib/burrow.db', '/srv'), {
      backend: 'sqlite',
      path: '/var/lib/burrow.db',
    });
    assert.deepEqual(parseDbUrl('sqlite:///var/lib/burrow.db', '/srv'), {
      backend: 'sqlite',
      path: '/var/lib/burrow.db',
    });
    assert.deepEqual(parseDbUrl('data/x.db', '/srv'), { backend: 'sqlite', path: '/srv/data/x.db' });
    assert.deepEqual(parseDbUrl('', '/srv'), { backend: 'sqlite', path: '/srv/data/burrow.db' });
  });

  void it('understands PostgreSQL URLs, hides the password and takes ?schema=', () => {
    const t = parseDbUrl('postgres://u:secret@db.example:5432/burrow?schema=tunnels&sslmode=require');
    assert.equal(t.backend, 'postgres');
    if (t.backend !== 'postgres') return;
    assert.equal(t.schema, 'tunnels');
    assert.ok(!t.connectionString.includes('schema='));
    assert.ok(t.connectionString.includes('sslmode=require'));
    assert.ok(!t.display.includes('secret'), t.display);
    assert.ok(t.display.includes('***'));
    assert.equal(parseDbUrl('postgresql://h/db').backend, 'postgres');
  });

  void it('refuses unsupported schemes and bad schemas with a fix', () => {
    assert.throws(() => parseDbUrl('mysql://h/db'), code('BURROW_ERR_INVALID_CONFIG'));
    assert.throws(() => parseDbUrl('postgres://h/db?schema=x;drop'), code('BURROW_ERR_INVALID_CONFIG'));
    assert.throws(() => parseDbUrl('sqlite:'), code('BURROW_ERR_INVALID_CONFIG'));
  });
});

void describe('openStore', () => {
  void it('creates the SQLite file and its folders on first use and says where', async () => {
    const path = join(dir, 'a', 'b', 'burrow.db');
    const store = await openStore(`sqlite:${path}`);
    try {
      assert.equal(store.location, path);
      assert.equal(store.backend, 'sqlite');
      assert.ok(existsSync(path));
      assert.equal(statSync(path).mode & 0o777, 0o600);
    } finally {
      await store.close();
    }
  });

  void it('uses ./data/burrow.db under the working directory by default', async () => {
    const store = await openStore(undefined, { cwd: dir });
    try {
      assert.equal(store.location, join(dir, 'data', 'burrow.db'));
      assert.ok(existsSync(join(dir, 'data', 'burrow.db')));
    } finally {
      await store.close();
    }
  });

  void it('refuses a database written by a newer burrow (unknown migration)', async () => {
    const path = join(dir, 'newer.db');
    const store = await openStore(`sqlite:${path}`);
    await sql`insert into ${sql.table(MIGRATION_TABLE)} (name, timestamp) values (${'999_from_the_future'}, ${new Date().toISOString()})`.execute(
      store.db,
    );
    await store.close();
    await assert.rejects(
      openStore(`sqlite:${path}`),
      (e) => code('BURROW_ERR_STORE')(e) && /999_from_the_future/.test((e as Error).message),
    );
  });

  void it('fails with BURROW_ERR_STORE when the SQLite path is not writable', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    await assert.rejects(openStore(`sqlite:${join(file, 'sub', 'x.db')}`), code('BURROW_ERR_STORE'));
  });

  void it('fails with BURROW_ERR_STORE, without the password, when PostgreSQL is unreachable', async () => {
    await assert.rejects(openStore('postgres://u:hunter2@127.0.0.1:1/db'), (e) => {
      assert.ok(code('BURROW_ERR_STORE')(e));
      assert.ok(!(e as Error).message.includes('hunter2'), (e as Error).message);
      return true;
    });
  });
});

void describe('SqlWorkstationStore (tiflis adapter shape)', () => {
  void it('gets, puts and touches snake_case records', async () => {
    const store = await openStore('sqlite::memory:');
    try {
      const ws = new SqlWorkstationStore(store);
      assert.equal(await ws.get('nope'), undefined);
      const rec = {
        tunnel_id: 'abc123',
        name: 'laptop',
        auth_key_hash: 'aa'.repeat(32),
        created_at: 1,
        last_seen_at: 1,
      };
      await ws.put(rec);
      assert.deepEqual(await ws.get('abc123'), rec);
      await ws.touch('abc123', 5);
      assert.equal((await ws.get('abc123'))?.last_seen_at, 5);
      await ws.touch('unknown', 5);
    } finally {
      await store.close();
    }
  });
});
