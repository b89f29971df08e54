/**
 * Issue 6, end to end: limits under concurrency, kinds on tokens, and what a revocation leaves
 * behind (a name held for the revoked agent's resume grace).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, composedStack, refusal, tunnel, visit } from './helpers.js';

for (const backend of BACKENDS) {
  describe(`limits under concurrency and revocation leftovers (${backend.name})`, { skip: backend.skip }, () => {
    const stack = composedStack(backend, { resumeGraceMs: 60_000 });

    test('max tunnels holds when several agents of one token register at the same moment', async () => {
      for (let round = 0; round < 3; round++) {
        const { secret } = await stack.srv.composed.accounts.tokens.create({ label: `race-${round}`, maxTunnels: 1 });
        const settled = await Promise.allSettled(
          [0, 1, 2, 3].map(() => tunnel(stack.srv.url, stack.origin.port, { token: secret })),
        );
        const opened = settled.filter((r) => r.status === 'fulfilled');
        for (const r of opened) r.value.close();
        assert.equal(opened.length, 1, `round ${round}: ${opened.length} tunnels opened with --max-tunnels 1`);
      }
    });

    test('token kinds: a tcp-only token cannot open an http tunnel', async () => {
      const { secret } = await stack.srv.composed.accounts.tokens.create({ label: 'tcp-only', scopes: ['tcp'] });
      const err = await refusal(tunnel(stack.srv.url, stack.origin.port, { token: secret }));
      assert.equal(err.code, 'BURROW_ERR_FORBIDDEN');
      assert.match(err.message, /may not open http/);
    });

    test('basic auth passwords may contain colons', async () => {
      const { secret } = await stack.srv.composed.accounts.tokens.create({ label: 'colon' });
      const t = await tunnel(stack.srv.url, stack.origin.port, { token: secret, access: { basicAuth: 'user:pa:ss' } });
      try {
        const auth = `Basic ${Buffer.from('user:pa:ss').toString('base64')}`;
        assert.equal((await visit(stack.srv.port, t, '/', { authorization: auth })).status, 200);
      } finally {
        t.close();
      }
    });

    test('after a revocation, the name can be given to a new token at once (key rotation)', async () => {
      const { tokens } = stack.srv.composed.accounts;
      const old = await tokens.create({ label: 'old-key' });
      await tokens.reserveName('rotated', old.token.id);
      const t = await tunnel(stack.srv.url, stack.origin.port, { token: old.secret });
      try {
        assert.equal(t.name, 'rotated');
        await tokens.revoke(old.token.id);
        await tokens.releaseName('rotated');
        const fresh = await tokens.create({ label: 'new-key' });
        await tokens.reserveName('rotated', fresh.token.id);
        const t2 = await tunnel(stack.srv.url, stack.origin.port, { token: fresh.secret });
        try {
          assert.equal(t2.name, 'rotated');
          assert.equal((await visit(stack.srv.port, t2, '/r')).body.toString(), 'origin:/r');
        } finally {
          t2.close();
        }
      } finally {
        t.close();
      }
    });
  });
}
