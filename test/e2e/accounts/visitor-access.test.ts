/**
 * Issue 6, end to end: visitor access rules set by the agent (SDK `access` and `burrow http`
 * flags) are enforced by the server before any byte reaches the agent: basic auth, bearer,
 * --allow-ip / --deny-ip, --rate-limit; rules stored with a reserved name apply without flags.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tunnel } from '../../../src/index.js';
import { runCli } from '../../helpers/cli.js';
import { BACKENDS, composedStack, tunnel, visit } from './helpers.js';

const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const challenges = (h: string | string[] | undefined): string => (Array.isArray(h) ? h.join(' | ') : (h ?? ''));

for (const backend of BACKENDS) {
  describe(`visitor access rules (${backend.name})`, { skip: backend.skip }, () => {
    const stack = composedStack(backend);
    let secret: string;

    before(async () => {
      ({ secret } = await stack.srv.composed.accounts.tokens.create({ label: 'visitor-rules' }));
    });

    async function withTunnel(access: Record<string, unknown>, fn: (t: Tunnel) => Promise<void>): Promise<void> {
      const t = await tunnel(stack.srv.url, stack.origin.port, { token: secret, access });
      try {
        await fn(t);
      } finally {
        t.close();
      }
    }

    test('basic auth: 401 + WWW-Authenticate without / with wrong credentials, 200 with the right ones; origin never sees Authorization', async () => {
      await withTunnel({ basicAuth: 'alice:s3cret' }, async (t) => {
        const hits = stack.origin.seen.length;
        const none = await visit(stack.srv.port, t, '/private');
        assert.equal(none.status, 401);
        assert.match(challenges(none.headers['www-authenticate']), /^Basic realm=/);
        const wrong = await visit(stack.srv.port, t, '/private', { authorization: basic('alice', 'nope') });
        assert.equal(wrong.status, 401);
        assert.match(challenges(wrong.headers['www-authenticate']), /Basic realm=/);
        assert.equal(stack.origin.seen.length, hits, 'refused requests never reach the origin');
        const ok = await visit(stack.srv.port, t, '/private', { authorization: basic('alice', 's3cret') });
        assert.equal(ok.status, 200);
        assert.equal(ok.body.toString(), 'origin:/private');
        assert.equal(ok.headers['x-saw-authorization'], 'no', 'Authorization is stripped before the origin');
        assert.equal(stack.origin.seen.at(-1)?.authorization, undefined);
      });
    });

    test('bearer: 401 with a Bearer challenge (invalid_token for a wrong one), 200 with the right token', async () => {
      await withTunnel({ bearer: 'visitor-bearer-token' }, async (t) => {
        const none = await visit(stack.srv.port, t);
        assert.equal(none.status, 401);
        assert.match(challenges(none.headers['www-authenticate']), /^Bearer realm=/);
        const wrong = await visit(stack.srv.port, t, '/', { authorization: 'Bearer not-it' });
        assert.equal(wrong.status, 401);
        assert.match(challenges(wrong.headers['www-authenticate']), /error="invalid_token"/);
        const ok = await visit(stack.srv.port, t, '/b', { authorization: 'Bearer visitor-bearer-token' });
        assert.equal(ok.status, 200);
        assert.equal(ok.body.toString(), 'origin:/b');
        assert.equal(ok.headers['x-saw-authorization'], 'no');
      });
    });

    test('--allow-ip: 403 when 127.0.0.1 is not allowed, 200 when it is', async () => {
      await withTunnel({ allowIps: ['10.0.0.0/8'] }, async (t) => {
        const hits = stack.origin.seen.length;
        const r = await visit(stack.srv.port, t);
        assert.equal(r.status, 403);
        assert.equal(stack.origin.seen.length, hits);
      });
      await withTunnel({ allowIps: ['10.0.0.0/8', '127.0.0.1/32'] }, async (t) => {
        assert.equal((await visit(stack.srv.port, t)).status, 200);
      });
    });

    test('--deny-ip: 403 for a denied address, 200 for others', async () => {
      await withTunnel({ denyIps: ['127.0.0.0/8'] }, async (t) => {
        assert.equal((await visit(stack.srv.port, t)).status, 403);
      });
      await withTunnel({ denyIps: ['192.168.0.0/16'] }, async (t) => {
        assert.equal((await visit(stack.srv.port, t)).status, 200);
      });
    });

    test('--rate-limit: 429 with Retry-After beyond the rate', async () => {
      await withTunnel({ rateLimit: '3/m' }, async (t) => {
        for (let i = 0; i < 3; i++) assert.equal((await visit(stack.srv.port, t, `/r${i}`)).status, 200);
        const hits = stack.origin.seen.length;
        const r = await visit(stack.srv.port, t, '/r3');
        assert.equal(r.status, 429);
        const retry = Number(r.headers['retry-after']);
        assert.ok(
          Number.isInteger(retry) && retry >= 1,
          `Retry-After is a positive number of seconds: ${r.headers['retry-after']}`,
        );
        assert.equal(stack.origin.seen.length, hits);
      });
    });

    test('refusal pages speak to visitors, not to agents (no --token / BURROW_TOKEN advice)', async () => {
      await withTunnel({ basicAuth: 'vic:pw', allowIps: ['127.0.0.1/32'] }, async (t) => {
        const page = await visit(stack.srv.port, t, '/', { accept: 'text/html' });
        assert.equal(page.status, 401);
        assert.doesNotMatch(page.body.toString(), /--token|BURROW_TOKEN/);
      });
      await withTunnel({ allowIps: ['10.0.0.0/8'] }, async (t) => {
        const page = await visit(stack.srv.port, t, '/', { accept: 'text/html' });
        assert.equal(page.status, 403);
        assert.doesNotMatch(page.body.toString(), /token/i);
      });
    });

    test('`burrow http --basic-auth --deny-ip` flags reach the server', async () => {
      const cli = runCli([
        'http',
        String(stack.origin.port),
        '--server',
        stack.srv.url,
        '--token',
        secret,
        '--json',
        '--basic-auth',
        'bob:pw-from-cli',
        '--deny-ip',
        '192.0.2.0/24',
      ]);
      try {
        const ready = JSON.parse(await cli.nextLine((l) => l.includes('"ready"'))) as { url: string };
        const host = new URL(ready.url).host;
        assert.equal((await visit(stack.srv.port, host)).status, 401);
        const ok = await visit(stack.srv.port, host, '/cli', { authorization: basic('bob', 'pw-from-cli') });
        assert.equal(ok.status, 200);
        assert.equal(ok.body.toString(), 'origin:/cli');
      } finally {
        cli.child.kill('SIGTERM');
        await cli.exited;
      }
    });

    test('rules given for a reserved name are stored and apply when the agent comes back without flags', async () => {
      const { tokens } = stack.srv.composed.accounts;
      const owner = await tokens.create({ label: 'stored-rules' });
      await tokens.reserveName('guarded', owner.token.id);
      const t1 = await tunnel(stack.srv.url, stack.origin.port, {
        token: owner.secret,
        access: { basicAuth: 'carol:pw' },
      });
      assert.equal(t1.name, 'guarded');
      t1.close();
      const t2 = await tunnel(stack.srv.url, stack.origin.port, { token: owner.secret });
      try {
        assert.equal(t2.name, 'guarded');
        assert.equal((await visit(stack.srv.port, t2)).status, 401);
        assert.equal((await visit(stack.srv.port, t2, '/', { authorization: basic('carol', 'pw') })).status, 200);
      } finally {
        t2.close();
      }
    });
  });
}
