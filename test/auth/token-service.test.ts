import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { isBurrowError } from '../../src/core/errors.js';
import { RateLimitedError } from '../../src/auth/failed-auth-limiter.js';
import { TokenService } from '../../src/auth/token-service.js';
import { sha256Hex } from '../../src/auth/secret.js';
import { FAILED_AUTH_MAX_ATTEMPTS } from '../../src/auth/limits.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { BACKENDS } from './helpers.js';
import { FakeClock } from '../helpers/clock.js';

const is = (code: string) => (e: unknown) => isBurrowError(e) && e.code === code;

for (const backend of BACKENDS) {
  void describe(`TokenService on ${backend.name}`, () => {
    let store: KyselyStore;
    let cleanup: () => Promise<void>;
    const clock = new FakeClock();
    let tokens: TokenService;

    before(async () => {
      ({ store, cleanup } = await backend.open());
      tokens = new TokenService({ store, now: clock.now });
    });
    after(() => cleanup());

    void it('creates a token: the secret is returned once, only its hash is stored', async () => {
      const { token, secret } = await tokens.create({
        label: 'ci',
        names: ['CI-Runner'],
        scopes: ['http,tcp'],
        maxTunnels: 2,
      });
      assert.match(secret, /^brw_[A-Za-z0-9]{40}$/);
      assert.match(token.id, /^tok_[A-Za-z0-9]{16}$/);
      assert.equal(token.prefix, secret.slice(0, 12));
      assert.equal(token.hash, sha256Hex(secret));
      assert.deepEqual(token.scopes, ['http', 'tcp']);
      assert.deepEqual(token.names, ['ci-runner']);
      const stored = await store.getToken(token.id);
      assert.ok(stored && !JSON.stringify(stored).includes(secret));
      const tunely = await tokens.create({ format: 'tunely' });
      assert.match(tunely.secret, /^tun_/);
      assert.deepEqual(tunely.token.scopes, ['http', 'tcp', 'tiflis', 'pipe']);
    });

    void it('refuses bad create input', async () => {
      await assert.rejects(tokens.create({ scopes: ['root'] }), is('BURROW_ERR_BAD_REQUEST'));
      await assert.rejects(tokens.create({ names: ['no spaces'] }), is('BURROW_ERR_INVALID_NAME'));
      await assert.rejects(tokens.create({ names: ['a*b*'] }), is('BURROW_ERR_INVALID_NAME'));
      await assert.rejects(tokens.create({ maxTunnels: 0 }), is('BURROW_ERR_BAD_REQUEST'));
      await assert.rejects(tokens.create({ label: 'x'.repeat(201) }), is('BURROW_ERR_BAD_REQUEST'));
      await assert.rejects(tokens.create({ format: 'other' as never }), is('BURROW_ERR_BAD_REQUEST'));
    });

    void it('verifies a good token and records its use', async () => {
      const { token, secret } = await tokens.create({ label: 'ok' });
      const v = await tokens.verify(secret, { kind: 'http', name: 'some-app' });
      assert.equal(v.id, token.id);
      // last_used_at is written in the background; wait until it lands.
      let used = await store.getToken(token.id);
      for (let i = 0; i < 50 && used?.lastUsedAt === null; i++) {
        await new Promise((r) => setImmediate(r));
        used = await store.getToken(token.id);
      }
      assert.equal(used?.lastUsedAt, clock.now());
    });

    void it('refuses unknown, malformed, missing, revoked and expired tokens with UNAUTHORIZED', async () => {
      await assert.rejects(tokens.verify('brw_' + 'x'.repeat(40), { kind: 'http' }), is('BURROW_ERR_UNAUTHORIZED'));
      await assert.rejects(tokens.verify('hello', { kind: 'http' }), is('BURROW_ERR_UNAUTHORIZED'));
      await assert.rejects(tokens.verify(undefined, { kind: 'http' }), is('BURROW_ERR_UNAUTHORIZED'));
      const r = await tokens.create();
      await tokens.revoke(r.token.id);
      await assert.rejects(
        tokens.verify(r.secret, { kind: 'http' }),
        (e) => is('BURROW_ERR_UNAUTHORIZED')(e) && /revoked/.test((e as Error).message),
      );
      const x = await tokens.create({ expiresInMs: 60_000 });
      await tokens.verify(x.secret, { kind: 'http' });
      clock.advance(60_000);
      await assert.rejects(
        tokens.verify(x.secret, { kind: 'http' }),
        (e) => is('BURROW_ERR_UNAUTHORIZED')(e) && /expired/.test((e as Error).message),
      );
    });

    void it('refuses kinds, names and counts the token does not allow with FORBIDDEN', async () => {
      const { secret } = await tokens.create({ scopes: ['http'], names: ['alice-*', 'exact-name'], maxTunnels: 2 });
      await assert.rejects(tokens.verify(secret, { kind: 'tcp', name: 'alice-x' }), is('BURROW_ERR_FORBIDDEN'));
      await assert.rejects(tokens.verify(secret, { kind: 'http', name: 'bob-x' }), is('BURROW_ERR_FORBIDDEN'));
      await assert.rejects(tokens.verify(secret, { kind: 'http', name: 'alice-' }), is('BURROW_ERR_FORBIDDEN'));
      await assert.rejects(tokens.verify(secret, { kind: 'http' }), is('BURROW_ERR_FORBIDDEN'));
      await tokens.verify(secret, { kind: 'http', name: 'alice-dev' });
      await tokens.verify(secret, { kind: 'http', name: 'EXACT-NAME', openTunnels: 1 });
      await assert.rejects(
        tokens.verify(secret, { kind: 'http', name: 'alice-dev', openTunnels: 2 }),
        is('BURROW_ERR_FORBIDDEN'),
      );
      await assert.rejects(tokens.verify(secret, { kind: 'admin' }), is('BURROW_ERR_FORBIDDEN'));
    });

    void it('reserved names belong to their token only (also against anonymous agents)', async () => {
      const owner = await tokens.create();
      const other = await tokens.create();
      const r = await tokens.reserveName('Team-App', owner.token.id);
      assert.equal(r.name, 'team-app');
      await tokens.verify(owner.secret, { kind: 'http', name: 'team-app' });
      await assert.rejects(tokens.verify(other.secret, { kind: 'http', name: 'team-app' }), is('BURROW_ERR_FORBIDDEN'));
      await assert.rejects(tokens.checkAnonymousName('team-app'), is('BURROW_ERR_FORBIDDEN'));
      await tokens.checkAnonymousName('free-name');
      await assert.rejects(tokens.reserveName('team-app', other.token.id), is('BURROW_ERR_NAME_TAKEN'));
      await assert.rejects(tokens.reserveName('admin', owner.token.id), is('BURROW_ERR_NAME_RESERVED'));
      await assert.rejects(tokens.reserveName('x', owner.token.id), is('BURROW_ERR_INVALID_NAME'));
      await assert.rejects(tokens.reserveName('valid-name', 'tok_missing'), is('BURROW_ERR_TOKEN_NOT_FOUND'));
      // A token bound to names still may use its reservation.
      const bound = await tokens.create({ names: ['only-this'] });
      await tokens.reserveName('also-this.example.com', bound.token.id);
      await tokens.verify(bound.secret, { kind: 'http', name: 'also-this.example.com' });
      await tokens.releaseName('team-app');
      await assert.rejects(tokens.releaseName('team-app'), is('BURROW_ERR_NAME_NOT_RESERVED'));
      await tokens.verify(other.secret, { kind: 'http', name: 'team-app' });
      const revoked = await tokens.create();
      await tokens.revoke(revoked.token.id);
      await assert.rejects(tokens.reserveName('late-name', revoked.token.id), is('BURROW_ERR_BAD_REQUEST'));
    });

    void it('gives a default name: the only reserved name, else the only exact allowed name', async () => {
      const a = await tokens.create();
      assert.equal(await tokens.defaultName(a.token), undefined);
      await tokens.reserveName('default-one', a.token.id);
      assert.equal(await tokens.defaultName(a.token), 'default-one');
      const b = await tokens.create({ format: 'tunely', names: ['tunely-app'] });
      assert.equal(await tokens.defaultName(b.token), 'tunely-app');
      const c = await tokens.create({ names: ['c-*'] });
      assert.equal(await tokens.defaultName(c.token), undefined);
    });

    void it('revoke emits "revoked" at once, is idempotent, and 404s unknown ids', async () => {
      const { token } = await tokens.create();
      const seen: string[] = [];
      const listener = (id: string) => seen.push(id);
      tokens.on('revoked', listener);
      const revoked = await tokens.revoke(token.id);
      assert.equal(revoked.revokedAt, clock.now());
      assert.deepEqual(seen, [token.id]);
      await tokens.revoke(token.id);
      assert.deepEqual(seen, [token.id]);
      tokens.off('revoked', listener);
      await assert.rejects(tokens.revoke('tok_nope'), is('BURROW_ERR_TOKEN_NOT_FOUND'));
    });

    void it('notices revocations made by another process through polling', async () => {
      const { token } = await tokens.create();
      const elsewhere = new TokenService({ store, now: clock.now });
      tokens.startRevocationWatch(60_000);
      try {
        const event = once(tokens, 'revoked');
        await elsewhere.revoke(token.id);
        await tokens.pollRevocations();
        assert.deepEqual(await event, [token.id]);
      } finally {
        tokens.stopRevocationWatch();
      }
    });

    void it(`rate-limits failed attempts per address (${FAILED_AUTH_MAX_ATTEMPTS}/min), even with a right token afterwards`, async () => {
      const { secret } = await tokens.create();
      for (let i = 0; i < FAILED_AUTH_MAX_ATTEMPTS; i++) {
        await assert.rejects(
          tokens.verify('brw_' + String(i).padStart(40, 'z'), { kind: 'http', address: '198.51.100.9' }),
          is('BURROW_ERR_UNAUTHORIZED'),
        );
      }
      await assert.rejects(
        tokens.verify(secret, { kind: 'http', address: '198.51.100.9' }),
        (e) => e instanceof RateLimitedError && e.retryAfter > 0 && e.status === 429,
      );
      await tokens.verify(secret, { kind: 'http', address: '198.51.100.10' });
    });
  });
}
