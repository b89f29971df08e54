import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isBurrowError } from '../../src/core/errors.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { LATEST_MIGRATION, MIGRATIONS } from '../../src/store/migrations.js';
import type { StoredAccessRules, TokenRecord } from '../../src/store/types.js';
import type { Backend } from './helpers.js';

let seq = 0;
/** A token record with unique id and hash. */
export function tokenRecord(overrides: Partial<TokenRecord> = {}): TokenRecord {
  seq++;
  return {
    id: `tok_test${seq}_${Math.random().toString(36).slice(2, 8)}`,
    prefix: `brw_pref${seq}`,
    hash: `${seq}`.padStart(64, 'a') + Math.random().toString(16).slice(2, 6),
    label: `label ${seq}`,
    format: 'burrow',
    scopes: ['http', 'tcp'],
    names: [],
    maxTunnels: null,
    createdAt: 1_700_000_000_000 + seq,
    lastUsedAt: null,
    expiresAt: null,
    revokedAt: null,
    ...overrides,
  };
}

const SQLISH = "x'); drop table tokens;--";

export function rules(overrides: Partial<StoredAccessRules> = {}): StoredAccessRules {
  return {
    basicUser: 'alice',
    basicPasswordHash: 'scrypt$16384$8$1$c2FsdA==$a2V5',
    bearerHash: null,
    allowIps: ['10.0.0.0/8', '2001:db8::/32'],
    denyIps: [],
    rateLimit: '100/s',
    updatedAt: 1_700_000_000_500,
    ...overrides,
  };
}

/** One suite, every backend: each Store operation, restart, migrations, literal SQL-looking input. */
export function storeConformance(backend: Backend): void {
  void describe(`Store: ${backend.name}`, () => {
    after(() => backend.cleanup());
    operations(backend);
    migrations(backend);
  });
}

function operations(backend: Backend): void {
  void describe('operations', () => {
    let store: KyselyStore;
    before(async () => {
      store = await backend.open();
    });
    after(async () => {
      await store.close();
    });

    void it('applies every migration on an empty database', async () => {
      assert.deepEqual(await store.appliedMigrations(), Object.keys(MIGRATIONS).sort());
    });

    void it('inserts, finds and lists tokens with every field', async () => {
      const t = tokenRecord({
        names: ['alice-*', 'app.example.com'],
        scopes: ['http', 'admin'],
        maxTunnels: 3,
        expiresAt: 2_000_000_000_000,
      });
      await store.insertToken(t);
      assert.deepEqual(await store.getToken(t.id), t);
      assert.deepEqual(await store.findTokenByHash(t.hash), t);
      assert.equal(await store.getToken('tok_nope'), undefined);
      assert.equal(await store.findTokenByHash('0'.repeat(64)), undefined);
      const list = await store.listTokens();
      assert.ok(list.some((x) => x.id === t.id));
    });

    void it('refuses a second token with the same hash', async () => {
      const t = tokenRecord();
      await store.insertToken(t);
      await assert.rejects(
        store.insertToken({ ...t, id: `${t.id}x` }),
        (e) => isBurrowError(e) && e.code === 'BURROW_ERR_STORE',
      );
    });

    void it('stores SQL-looking input literally', async () => {
      const t = tokenRecord({ label: SQLISH, names: [SQLISH] });
      await store.insertToken(t);
      const back = await store.getToken(t.id);
      assert.equal(back?.label, SQLISH);
      assert.deepEqual(back?.names, [SQLISH]);
      assert.equal(await store.getToken(SQLISH), undefined);
      assert.equal(await store.findTokenByHash(SQLISH), undefined);
      assert.equal(await store.getReservedName(SQLISH), undefined);
      assert.ok((await store.listTokens()).length > 0, 'the tokens table is still there');
    });

    void it('revokes once (first revocation time wins) and lists revocations since a time', async () => {
      const t = tokenRecord();
      await store.insertToken(t);
      const first = await store.revokeToken(t.id, 5_000);
      assert.equal(first?.revokedAt, 5_000);
      const again = await store.revokeToken(t.id, 9_000);
      assert.equal(again?.revokedAt, 5_000);
      assert.equal(await store.revokeToken('tok_missing', 1), undefined);
      const since = await store.listRevokedSince(4_000);
      assert.ok(since.some((r) => r.id === t.id && r.revokedAt === 5_000));
      assert.ok(!(await store.listRevokedSince(6_000)).some((r) => r.id === t.id));
    });

    void it('touches last_used_at', async () => {
      const t = tokenRecord();
      await store.insertToken(t);
      await store.touchToken(t.id, 1_800_000_000_000);
      assert.equal((await store.getToken(t.id))?.lastUsedAt, 1_800_000_000_000);
    });

    void it('reserves names: idempotent for the owner, NAME_TAKEN for another, TOKEN_NOT_FOUND for unknown tokens', async () => {
      const a = tokenRecord();
      const b = tokenRecord();
      await store.insertToken(a);
      await store.insertToken(b);
      const r = await store.reserveName({ name: 'reserved-one', tokenId: a.id, now: 42 });
      assert.deepEqual(r, { name: 'reserved-one', tokenId: a.id, createdAt: 42, access: null });
      assert.deepEqual(await store.reserveName({ name: 'reserved-one', tokenId: a.id, now: 99 }), r);
      await assert.rejects(
        store.reserveName({ name: 'reserved-one', tokenId: b.id, now: 1 }),
        (e) => isBurrowError(e) && e.code === 'BURROW_ERR_NAME_TAKEN',
      );
      await assert.rejects(
        store.reserveName({ name: 'other', tokenId: 'tok_missing', now: 1 }),
        (e) => isBurrowError(e) && e.code === 'BURROW_ERR_TOKEN_NOT_FOUND',
      );
      await store.reserveName({ name: 'app.example.com', tokenId: b.id, now: 43 });
      assert.deepEqual(
        (await store.listReservedNames({ tokenId: b.id })).map((n) => n.name),
        ['app.example.com'],
      );
      assert.ok((await store.listReservedNames()).length >= 2);
    });

    void it('keeps access rules with a reserved name, replaces and removes them, and drops them on release', async () => {
      const t = tokenRecord();
      await store.insertToken(t);
      await store.reserveName({ name: 'guarded', tokenId: t.id, now: 1 });
      assert.equal(await store.setAccessRules('not-reserved', rules()), false);
      assert.equal(await store.setAccessRules('guarded', rules()), true);
      assert.deepEqual((await store.getReservedName('guarded'))?.access, rules());
      const replaced = rules({
        basicUser: null,
        basicPasswordHash: null,
        bearerHash: 'ab'.repeat(32),
        allowIps: [],
        denyIps: ['::1/128'],
        rateLimit: null,
      });
      assert.equal(await store.setAccessRules('guarded', replaced), true);
      assert.deepEqual((await store.getReservedName('guarded'))?.access, replaced);
      assert.equal(await store.setAccessRules('guarded', null), true);
      assert.equal((await store.getReservedName('guarded'))?.access, null);
      await store.setAccessRules('guarded', rules());
      assert.equal(await store.releaseName('guarded'), true);
      assert.equal(await store.releaseName('guarded'), false);
      assert.equal(await store.getReservedName('guarded'), undefined);
      // Reserving again starts without the old rules.
      await store.reserveName({ name: 'guarded', tokenId: t.id, now: 2 });
      assert.equal((await store.getReservedName('guarded'))?.access, null);
    });

    void it('claims stable tunnel ids: same owner and name → same id; previous id follows a rename; other owner → new id', async () => {
      const a = tokenRecord();
      const b = tokenRecord();
      await store.insertToken(a);
      await store.insertToken(b);
      const first = await store.claimTunnelId({
        name: 'stable-app',
        tokenId: a.id,
        protocol: 'burrow',
        newId: 'id-a1',
        now: 10,
      });
      assert.equal(first.restored, false);
      assert.equal(first.record.id, 'id-a1');
      const again = await store.claimTunnelId({
        name: 'stable-app',
        tokenId: a.id,
        protocol: 'burrow',
        newId: 'id-a2',
        now: 20,
      });
      assert.deepEqual(
        [again.restored, again.record.id, again.record.lastSeenAt, again.record.createdAt],
        [true, 'id-a1', 20, 10],
      );
      const renamed = await store.claimTunnelId({
        name: 'stable-app2',
        tokenId: a.id,
        protocol: 'burrow',
        previousId: 'id-a1',
        newId: 'id-a3',
        now: 30,
      });
      assert.deepEqual([renamed.restored, renamed.record.id, renamed.record.name], [true, 'id-a1', 'stable-app2']);
      assert.equal(await store.findTunnelIdByName('stable-app'), undefined);
      // Another token naming a's previous id does not get it.
      const stolen = await store.claimTunnelId({
        name: 'thief',
        tokenId: b.id,
        protocol: 'burrow',
        previousId: 'id-a1',
        newId: 'id-b1',
        now: 40,
      });
      assert.deepEqual([stolen.restored, stolen.record.id], [false, 'id-b1']);
      // Another owner taking the name gets a fresh id; the old record goes.
      const other = await store.claimTunnelId({
        name: 'stable-app2',
        tokenId: b.id,
        protocol: 'burrow',
        newId: 'id-b2',
        now: 50,
      });
      assert.deepEqual([other.restored, other.record.id], [false, 'id-b2']);
      assert.equal(await store.getTunnelId('id-a1'), undefined);
      // Anonymous (--auth none) records work with a null owner.
      const anon = await store.claimTunnelId({
        name: 'anon-app',
        tokenId: null,
        protocol: 'localtunnel',
        newId: 'id-n1',
        now: 60,
      });
      const anon2 = await store.claimTunnelId({
        name: 'anon-app',
        tokenId: null,
        protocol: 'localtunnel',
        newId: 'id-n2',
        now: 70,
      });
      assert.deepEqual(
        [anon.record.id, anon2.record.id, anon2.restored, anon2.record.tokenId],
        ['id-n1', 'id-n1', true, null],
      );
      await store.touchTunnelId('id-n1', 80);
      assert.equal((await store.getTunnelId('id-n1'))?.lastSeenAt, 80);
      assert.ok((await store.listTunnelIds()).some((t) => t.id === 'id-b2'));
      assert.equal(await store.deleteTunnelId('id-n1'), true);
      assert.equal(await store.deleteTunnelId('id-n1'), false);
    });

    void it('keeps the ACME account key and certificates (one row per name, replaced on renewal)', async () => {
      assert.equal(await store.getAcmeAccountKey(), undefined);
      await store.setAcmeAccountKey('-----BEGIN PRIVATE KEY-----\nA\n', 10);
      await store.setAcmeAccountKey('-----BEGIN PRIVATE KEY-----\nB\n', 20);
      assert.equal(await store.getAcmeAccountKey(), '-----BEGIN PRIVATE KEY-----\nB\n');
      const wild = { name: '*.example.com', cert: 'CERT-1', key: 'KEY-1', updatedAt: 30 };
      await store.putAcmeCertificate(wild);
      await store.putAcmeCertificate({ name: 'example.com', cert: 'C', key: 'K', updatedAt: 31 });
      await store.putAcmeCertificate({ ...wild, cert: 'CERT-2', key: 'KEY-2', updatedAt: 40 });
      assert.deepEqual(await store.getAcmeCertificate('*.example.com'), {
        name: '*.example.com',
        cert: 'CERT-2',
        key: 'KEY-2',
        updatedAt: 40,
      });
      assert.deepEqual(
        (await store.listAcmeCertificates()).map((c) => c.name),
        ['*.example.com', 'example.com'],
      );
      assert.equal(await store.getAcmeCertificate('nope.example.com'), undefined);
    });

    void it('saves tiflis workstations (upsert keeps created_at), touches and deletes them', async () => {
      const ws = {
        id: 'Z6q62aKz-F96',
        name: "dev box'; --",
        authKeyHash: 'cd'.repeat(32),
        createdAt: 100,
        lastSeenAt: 100,
      };
      await store.saveWorkstation(ws);
      assert.deepEqual(await store.getWorkstation(ws.id), ws);
      await store.saveWorkstation({
        ...ws,
        name: 'renamed',
        authKeyHash: 'ef'.repeat(32),
        createdAt: 999,
        lastSeenAt: 200,
      });
      assert.deepEqual(await store.getWorkstation(ws.id), {
        ...ws,
        name: 'renamed',
        authKeyHash: 'ef'.repeat(32),
        lastSeenAt: 200,
      });
      await store.touchWorkstation(ws.id, 300);
      assert.equal((await store.getWorkstation(ws.id))?.lastSeenAt, 300);
      assert.equal((await store.listWorkstations()).length, 1);
      assert.equal(await store.deleteWorkstation(ws.id), true);
      assert.equal(await store.getWorkstation(ws.id), undefined);
    });

    void it('settles concurrent claims of one name on one id and one owner', async () => {
      const a = tokenRecord();
      await store.insertToken(a);
      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.claimTunnelId({ name: 'raced-name', tokenId: a.id, protocol: 'burrow', newId: `id-race-${i}`, now: 1 }),
        ),
      );
      assert.equal(new Set(claims.map((c) => c.record.id)).size, 1);
      const reservations = await Promise.allSettled(
        Array.from({ length: 6 }, () => store.reserveName({ name: 'raced-reservation', tokenId: a.id, now: 1 })),
      );
      assert.ok(reservations.every((r) => r.status === 'fulfilled'));
    });

    void it('serves concurrent calls', async () => {
      const many = Array.from({ length: 25 }, () => tokenRecord());
      await Promise.all(many.map((t) => store.insertToken(t)));
      const found = await Promise.all(many.map((t) => store.findTokenByHash(t.hash)));
      assert.deepEqual(
        found.map((t) => t?.id),
        many.map((t) => t.id),
      );
    });

    void it('keeps tokens, names, rules, tunnel ids and workstations across a restart', async () => {
      const t = tokenRecord({ label: 'survivor' });
      await store.insertToken(t);
      await store.reserveName({ name: 'survivor', tokenId: t.id, now: 5 });
      await store.setAccessRules('survivor', rules());
      await store.claimTunnelId({ name: 'survivor', tokenId: t.id, protocol: 'burrow', newId: 'id-survivor', now: 5 });
      await store.saveWorkstation({
        id: 'ws-survivor',
        name: 'w',
        authKeyHash: '00'.repeat(32),
        createdAt: 5,
        lastSeenAt: 5,
      });
      await store.close();
      store = await backend.open();
      assert.deepEqual(await store.getToken(t.id), t);
      assert.deepEqual((await store.getReservedName('survivor'))?.access, rules());
      const claim = await store.claimTunnelId({
        name: 'survivor',
        tokenId: t.id,
        protocol: 'burrow',
        newId: 'id-new',
        now: 6,
      });
      assert.deepEqual([claim.record.id, claim.restored], ['id-survivor', true]);
      assert.equal((await store.getWorkstation('ws-survivor'))?.name, 'w');
      assert.deepEqual(await store.appliedMigrations(), Object.keys(MIGRATIONS).sort());
    });

    void it('fails clearly after close', async () => {
      const s = await backend.open();
      await s.close();
      await assert.rejects(
        s.listTokens(),
        (e) => isBurrowError(e) && e.code === 'BURROW_ERR_STORE' && /closed/.test(e.message),
      );
    });
  });
}

function migrations(backend: Backend): void {
  void describe('migrations', () => {
    void it('upgrades a database created at the first version, keeping its data', async () => {
      const old = await backend.openFresh('001_initial');
      const t = tokenRecord();
      try {
        assert.deepEqual(await old.appliedMigrations(), ['001_initial']);
        // Write rows as version 1 of burrow did: plain inserts into the v1 tables.
        await old.insertToken(t);
        await old.db.insertInto('reserved_names').values({ name: 'from-v1', token_id: t.id, created_at: 7 }).execute();
        await old.db
          .insertInto('tunnel_ids')
          .values({ id: 'id-v1', name: 'from-v1', token_id: t.id, protocol: 'burrow', created_at: 7, last_seen_at: 7 })
          .execute();
        // Tables of later migrations are not there yet.
        await assert.rejects(old.listWorkstations(), (e) => isBurrowError(e) && e.code === 'BURROW_ERR_STORE');
      } finally {
        await old.close();
      }
      const upgraded = await backend.reopenFresh();
      try {
        assert.equal((await upgraded.appliedMigrations()).at(-1), LATEST_MIGRATION);
        assert.deepEqual(await upgraded.getToken(t.id), t);
        assert.equal((await upgraded.getReservedName('from-v1'))?.access, null);
        assert.equal(await upgraded.setAccessRules('from-v1', rules()), true);
        assert.equal((await upgraded.getTunnelId('id-v1'))?.name, 'from-v1');
        assert.deepEqual(await upgraded.listWorkstations(), []);
      } finally {
        await upgraded.close();
      }
    });

    void it('upgrades from the previous version (one before the latest)', async () => {
      const names = Object.keys(MIGRATIONS).sort();
      const previous = names[names.length - 2]!;
      const old = await backend.openFresh(previous);
      try {
        assert.deepEqual(await old.appliedMigrations(), names.slice(0, -1));
      } finally {
        await old.close();
      }
      const upgraded = await backend.reopenFresh();
      try {
        assert.deepEqual(await upgraded.appliedMigrations(), names);
      } finally {
        await upgraded.close();
      }
    });
  });
}
