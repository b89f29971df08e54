import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isBurrowError } from '../../src/core/errors.js';
import { Accounts } from '../../src/auth/accounts.js';
import { basicAuthorization } from '../../src/auth/authorization.js';

const dir = mkdtempSync(join(tmpdir(), 'burrow-accounts-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const is = (code: string) => (e: unknown) => isBurrowError(e) && e.code === code;

void describe('Accounts', () => {
  void it('--auth none admits anyone but keeps reserved names for their token', async () => {
    const accounts = await Accounts.open({ db: 'sqlite::memory:', revocationPollMs: 0 });
    try {
      assert.deepEqual(await accounts.admitAgent({ kind: 'http', name: 'free-app' }), {
        token: null,
        name: 'free-app',
      });
      assert.deepEqual(await accounts.admitAgent({ kind: 'http' }), { token: null, name: undefined });
      const { token, secret } = await accounts.tokens.create();
      await accounts.tokens.reserveName('kept-app', token.id);
      await assert.rejects(accounts.admitAgent({ kind: 'http', name: 'kept-app' }), is('BURROW_ERR_FORBIDDEN'));
      const grant = await accounts.admitAgent({ kind: 'http', secret });
      assert.deepEqual([grant.token?.id, grant.name], [token.id, 'kept-app']);
      await assert.rejects(
        accounts.admitAgent({ kind: 'http', secret: 'brw_' + 'q'.repeat(40) }),
        is('BURROW_ERR_UNAUTHORIZED'),
      );
    } finally {
      await accounts.close();
    }
  });

  void it('--auth token requires a valid token allowed for the kind and name', async () => {
    const accounts = await Accounts.open({ db: 'sqlite::memory:', auth: 'token', revocationPollMs: 0 });
    try {
      await assert.rejects(accounts.admitAgent({ kind: 'http', name: 'x-app' }), is('BURROW_ERR_UNAUTHORIZED'));
      const { secret } = await accounts.tokens.create({ format: 'tunely', names: ['bound-domain'], scopes: ['http'] });
      assert.equal((await accounts.admitAgent({ kind: 'http', secret })).name, 'bound-domain');
      await assert.rejects(accounts.admitAgent({ kind: 'tcp', secret }), is('BURROW_ERR_FORBIDDEN'));
      await assert.rejects(
        accounts.admitAgent({ kind: 'http', secret, name: 'elsewhere' }),
        is('BURROW_ERR_FORBIDDEN'),
      );
    } finally {
      await accounts.close();
    }
  });

  void it('refuses a bad --auth value and a short admin token', async () => {
    await assert.rejects(
      Accounts.open({ db: 'sqlite::memory:', auth: 'maybe' as never }),
      is('BURROW_ERR_INVALID_CONFIG'),
    );
    await assert.rejects(
      Accounts.open({ db: 'sqlite::memory:', adminToken: 'short' }),
      is('BURROW_ERR_INVALID_CONFIG'),
    );
  });

  void it('visitor policies: flags win and are stored with the reserved name; stored rules apply after a restart', async () => {
    const db = `sqlite:${join(dir, 'policy.db')}`;
    let accounts = await Accounts.open({ db, revocationPollMs: 0 });
    const { token } = await accounts.tokens.create();
    await accounts.tokens.reserveName('guarded-app', token.id);
    assert.equal(await accounts.accessPolicyFor('guarded-app', token.id), undefined);
    const live = await accounts.accessPolicyFor('guarded-app', token.id, {
      basicAuth: 'ann:pw',
      allowIps: ['127.0.0.0/8'],
    });
    assert.ok(live);
    assert.equal((await live.check({ remoteAddress: '127.0.0.1' })).allow, false);
    // Another token's flags are enforced for its live tunnel but not stored on this name.
    await accounts.accessPolicyFor('guarded-app', 'tok_other', { bearer: 'zzz' });
    const free = await accounts.accessPolicyFor('unreserved-app', null, { rateLimit: '5/s' });
    assert.deepEqual(free?.describe().rateLimit, '5/s');
    assert.equal(await accounts.store.getReservedName('unreserved-app'), undefined);
    await accounts.close();

    accounts = await Accounts.open({ db, revocationPollMs: 0 });
    try {
      const stored = await accounts.accessPolicyFor('guarded-app', token.id);
      assert.ok(stored);
      assert.deepEqual(stored.describe(), {
        basicAuth: true,
        bearer: false,
        allowIps: ['127.0.0.0/8'],
        denyIps: [],
        rateLimit: null,
      });
      assert.equal(
        (await stored.check({ remoteAddress: '127.0.0.1', authorization: basicAuthorization('ann', 'pw') })).allow,
        true,
      );
      assert.equal(
        (await stored.check({ remoteAddress: '10.0.0.1', authorization: basicAuthorization('ann', 'pw') })).allow,
        false,
      );
    } finally {
      await accounts.close();
    }
  });

  void it('tunnel ids survive a restart', async () => {
    const db = `sqlite:${join(dir, 'ids.db')}`;
    let accounts = await Accounts.open({ db, revocationPollMs: 0 });
    const first = await accounts.tunnelId({ name: 'stable-one', tokenId: null, protocol: 'burrow' });
    assert.equal(first.restored, false);
    await accounts.close();
    accounts = await Accounts.open({ db, revocationPollMs: 0 });
    try {
      const again = await accounts.tunnelId({ name: 'stable-one', tokenId: null, protocol: 'burrow' });
      assert.deepEqual([again.record.id, again.restored], [first.record.id, true]);
    } finally {
      await accounts.close();
    }
  });

  void it('a revocation made by another process (the CLI on the same file) reaches the server by polling', async () => {
    const db = `sqlite:${join(dir, 'revoke.db')}`;
    const server = await Accounts.open({ db, revocationPollMs: 20 });
    const cli = await Accounts.open({ db, revocationPollMs: 0 });
    try {
      const { token } = await cli.tokens.create();
      const revoked = once(server.tokens, 'revoked');
      await cli.tokens.revoke(token.id);
      // The watch timer is unref'd (a real server's sockets keep the process alive); do that here.
      const keepAlive = setInterval(() => {}, 1000);
      try {
        assert.deepEqual(await revoked, [token.id]);
      } finally {
        clearInterval(keepAlive);
      }
    } finally {
      await cli.close();
      await server.close();
    }
  });

  void it('serves the admin API adapter', async () => {
    const accounts = await Accounts.open({ db: 'sqlite::memory:', adminToken: 'a'.repeat(32), revocationPollMs: 0 });
    try {
      assert.equal(accounts.adminAdapter().name, 'admin-api');
    } finally {
      await accounts.close();
    }
  });
});
