import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isBurrowError } from '../../src/core/errors.js';
import { createAdminAdapter } from '../../src/auth/admin-api.js';
import { TokenService } from '../../src/auth/token-service.js';
import { FAILED_AUTH_MAX_ATTEMPTS } from '../../src/auth/limits.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { openStore } from '../../src/store/open.js';
import { ADMIN_SECRET, startAdminServer } from './admin-server.js';

const SQLISH = "x'); drop table tokens;--";

void describe('admin API over HTTP', () => {
  let store: KyselyStore;
  let admin: Awaited<ReturnType<typeof startAdminServer>>;

  before(async () => {
    store = await openStore('sqlite::memory:');
    admin = await startAdminServer(store);
  });
  after(async () => {
    await admin.close();
    await store.close();
  });

  async function call(
    method: string,
    path: string,
    options: { body?: unknown; token?: string | null; rawBody?: string; headers?: Record<string, string> } = {},
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers are checked field by field
  ): Promise<{ status: number; headers: Headers; json: any }> {
    const token = options.token === undefined ? ADMIN_SECRET : options.token;
    const res = await fetch(`${admin.url}/api/admin${path}`, {
      method,
      headers: {
        ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
        ...(options.body !== undefined || options.rawBody !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.rawBody !== undefined ? { body: options.rawBody } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
  }

  void it('answers 401 with WWW-Authenticate for a missing or wrong admin token', async () => {
    const missing = await call('GET', '/tokens', { token: null });
    assert.equal(missing.status, 401);
    assert.equal(missing.json.error.code, 'BURROW_ERR_UNAUTHORIZED');
    assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer/);
    const wrong = await call('GET', '/tokens', { token: 'admin-secret-for-tests-0123456780' });
    assert.equal(wrong.status, 401);
    const basic = await call('GET', '/tokens', { token: null, headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } });
    assert.equal(basic.status, 401);
  });

  void it('creates a token (secret once), lists and gets it without secret or hash, stores SQL-looking input literally', async () => {
    const created = await call('POST', '/tokens', {
      body: { label: SQLISH, names: ['api-team-*'], kinds: ['http'], maxTunnels: 3, expires: '30d', format: 'tunely' },
    });
    assert.equal(created.status, 201);
    assert.match(created.json.secret, /^tun_[A-Za-z0-9]{40}$/);
    const view = created.json.token;
    assert.equal(view.label, SQLISH);
    assert.deepEqual([view.status, view.maxTunnels, view.scopes, view.names], ['active', 3, ['http'], ['api-team-*']]);
    assert.ok(Date.parse(view.expiresAt) > Date.now() + 29 * 86_400_000);
    const list = await call('GET', '/tokens');
    assert.equal(list.status, 200);
    const text = JSON.stringify(list.json);
    assert.ok(text.includes(view.id));
    assert.ok(!text.includes(created.json.secret), 'no secret in listings');
    assert.ok(!/"hash"/.test(text), 'no hash in listings');
    const one = await call('GET', `/tokens/${view.id}`);
    assert.equal(one.json.token.label, SQLISH);
    // The token works for agents.
    await admin.tokens.verify(created.json.secret, { kind: 'http', name: 'api-team-one' });
  });

  void it('revokes a token: emits "revoked" at once, 404 for unknown ids', async () => {
    const created = await call('POST', '/tokens', { body: { label: 'to revoke' } });
    const id: string = created.json.token.id;
    const seen: string[] = [];
    admin.tokens.on('revoked', (tid) => seen.push(tid));
    const revoked = await call('POST', `/tokens/${id}/revoke`);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.json.token.status, 'revoked');
    assert.deepEqual(seen, [id]);
    await assert.rejects(
      admin.tokens.verify(created.json.secret, { kind: 'http' }),
      (e) => isBurrowError(e) && e.code === 'BURROW_ERR_UNAUTHORIZED',
    );
    const del = await call('DELETE', `/tokens/${id}`);
    assert.equal(del.status, 200);
    const unknown = await call('POST', '/tokens/tok_nothere/revoke');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, 'BURROW_ERR_TOKEN_NOT_FOUND');
  });

  void it('reserves, lists, guards, and releases names', async () => {
    const owner = (await call('POST', '/tokens', { body: { label: 'owner' } })).json.token.id as string;
    const other = (await call('POST', '/tokens', { body: { label: 'other' } })).json.token.id as string;
    const r = await call('POST', '/names', { body: { name: 'Shop-Demo', tokenId: owner } });
    assert.equal(r.status, 201);
    assert.deepEqual([r.json.name.name, r.json.name.tokenId, r.json.name.access], ['shop-demo', owner, null]);
    const taken = await call('POST', '/names', { body: { name: 'shop-demo', tokenId: other } });
    assert.equal(taken.status, 409);
    assert.equal(taken.json.error.code, 'BURROW_ERR_NAME_TAKEN');
    const bad = await call('POST', '/names', { body: { name: SQLISH, tokenId: owner } });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'BURROW_ERR_INVALID_NAME');
    const access = await call('PUT', '/names/shop-demo/access', {
      body: { basicAuth: 'demo:pass', allowIps: ['10.0.0.0/8', '::1'], rateLimit: '20/m' },
    });
    assert.equal(access.status, 200);
    assert.deepEqual(access.json.name.access, {
      basicAuth: true,
      bearer: false,
      allowIps: ['10.0.0.0/8', '::1'],
      denyIps: [],
      rateLimit: '20/m',
    });
    assert.ok(!JSON.stringify((await store.getReservedName('shop-demo'))?.access).includes('demo:pass'));
    const badRule = await call('PUT', '/names/shop-demo/access', { body: { rateLimit: 'lots' } });
    assert.equal(badRule.status, 400);
    assert.equal(badRule.json.error.code, 'BURROW_ERR_INVALID_ACCESS_RULE');
    const list = await call('GET', '/names');
    assert.ok(list.json.names.some((n: { name: string }) => n.name === 'shop-demo'));
    assert.equal((await call('GET', '/names/shop-demo')).status, 200);
    assert.equal((await call('DELETE', '/names/shop-demo/access')).status, 200);
    assert.equal((await call('DELETE', '/names/shop-demo')).status, 200);
    const again = await call('DELETE', '/names/shop-demo');
    assert.equal(again.status, 404);
    assert.equal(again.json.error.code, 'BURROW_ERR_NAME_NOT_RESERVED');
  });

  void it('lists persistent tunnel ids', async () => {
    await store.claimTunnelId({
      name: 'listed-app',
      tokenId: null,
      protocol: 'burrow',
      newId: 'id-listed',
      now: Date.now(),
    });
    const res = await call('GET', '/tunnels');
    assert.ok(res.json.tunnels.some((t: { id: string }) => t.id === 'id-listed'));
  });

  void it('accepts tokens with the admin kind, refuses other tokens with 403', async () => {
    const adminTok = (await call('POST', '/tokens', { body: { kinds: ['admin'] } })).json.secret as string;
    const plainTok = (await call('POST', '/tokens', { body: {} })).json.secret as string;
    assert.equal((await call('GET', '/tokens', { token: adminTok })).status, 200);
    const refused = await call('GET', '/tokens', { token: plainTok });
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error.code, 'BURROW_ERR_FORBIDDEN');
  });

  void it('answers bad requests clearly: JSON errors, 405 with Allow, 404 for unknown endpoints, body limits', async () => {
    const badJson = await call('POST', '/tokens', { rawBody: '{nope' });
    assert.equal(badJson.status, 400);
    assert.match(badJson.json.error.message, /JSON/);
    const notObject = await call('POST', '/tokens', { rawBody: '[1,2]' });
    assert.equal(notObject.status, 400);
    const wrongType = await call('POST', '/tokens', { body: { label: 5 } });
    assert.equal(wrongType.status, 400);
    const badExpiry = await call('POST', '/tokens', { body: { expires: 'soon' } });
    assert.equal(badExpiry.status, 400);
    const method = await call('PATCH', '/tokens');
    assert.equal(method.status, 405);
    assert.equal(method.headers.get('allow'), 'GET, POST');
    const unknown = await call('GET', '/nothing');
    assert.equal(unknown.status, 404);
    const big = await call('POST', '/tokens', { rawBody: JSON.stringify({ label: 'x'.repeat(70_000) }) });
    assert.equal(big.status, 400);
    assert.match(big.json.error.message, /larger/);
    assert.equal(big.headers.get('cache-control'), 'no-store');
  });

  void it('leaves other paths to other handlers', async () => {
    const res = await fetch(`${admin.url}/api/status`);
    assert.equal(res.status, 404);
    assert.equal(await res.text(), 'not admin\n');
    const near = await fetch(`${admin.url}/api/administrator`);
    assert.equal(near.status, 404);
    assert.equal(await near.text(), 'not admin\n');
  });

  void it(`rate-limits wrong admin tokens per address: 429 with Retry-After after ${FAILED_AUTH_MAX_ATTEMPTS}`, async () => {
    // Earlier tests already spent some failures from 127.0.0.1; keep failing until refused.
    let last = 0;
    for (let i = 0; i <= FAILED_AUTH_MAX_ATTEMPTS && last !== 429; i++) {
      last = (await call('GET', '/tokens', { token: `wrong-admin-token-${i}` })).status;
    }
    assert.equal(last, 429);
    const refused = await call('GET', '/tokens');
    assert.equal(refused.status, 429, 'even the right token waits');
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    assert.equal(refused.json.error.code, 'BURROW_ERR_RATE_LIMITED');
  });
});

void describe('createAdminAdapter configuration', () => {
  void it('refuses an admin token shorter than 16 characters', async () => {
    const store = await openStore('sqlite::memory:');
    try {
      assert.throws(
        () => createAdminAdapter({ store, tokens: new TokenService({ store }), adminToken: 'short' }),
        (e) => isBurrowError(e) && e.code === 'BURROW_ERR_INVALID_CONFIG',
      );
    } finally {
      await store.close();
    }
  });
});
