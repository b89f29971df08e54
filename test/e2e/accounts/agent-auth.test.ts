/**
 * Issue 6, end to end: `--auth token` for agents through the composed server and the real client
 * (SDK and `burrow http`): missing/bad/expired tokens, names, default names, max tunnels, and
 * reserved names with `--auth none`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../helpers/cli.js';
import { BACKENDS, composedStack, refusal, tunnel, visit } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';
import { FakeClock } from '../../helpers/clock.js';

for (const backend of BACKENDS) {
  describe(`agent authentication with --auth token (${backend.name})`, { skip: backend.skip }, () => {
    const clock = new FakeClock();

    const stack = composedStack(backend, { tokenClock: clock.now });

    test('no token: openTunnel rejects at once with BURROW_ERR_UNAUTHORIZED', async () => {
      const started = Date.now();
      const err = await refusal(tunnel(stack.srv.url, stack.origin.port));
      assert.equal(err.code, 'BURROW_ERR_UNAUTHORIZED');
      assert.ok(Date.now() - started < 3000, 'refused at once, not after retries');
      assert.equal(stack.srv.composed.server.registry.size, 0);
    });

    test('bad token (well-formed but unknown, and garbage): BURROW_ERR_UNAUTHORIZED', async () => {
      const unknown = `brw_${'A'.repeat(40)}`;
      assert.equal(
        (await refusal(tunnel(stack.srv.url, stack.origin.port, { token: unknown }))).code,
        'BURROW_ERR_UNAUTHORIZED',
      );
      assert.equal(
        (await refusal(tunnel(stack.srv.url, stack.origin.port, { token: 'letmein' }))).code,
        'BURROW_ERR_UNAUTHORIZED',
      );
    });

    test('`burrow http` with a bad token exits 1 with the message', async () => {
      const cli = runCli(
        ['http', String(stack.origin.port), '--server', stack.srv.url, '--token', `brw_${'B'.repeat(40)}`],
        {
          BURROW_TOKEN: '',
        },
      );
      const code = await cli.exited;
      assert.equal(code, 1, cli.stderr());
      assert.match(cli.stderr(), /unknown token|BURROW_ERR_UNAUTHORIZED/);
      assert.match(cli.stderr(), /BURROW_ERR_UNAUTHORIZED/);
    });

    test('a valid token opens a tunnel that serves visitors (SDK and CLI)', async () => {
      const { secret } = await stack.srv.composed.accounts.tokens.create({ label: 'valid' });
      const t = await tunnel(stack.srv.url, stack.origin.port, { token: secret });
      try {
        const r = await visit(stack.srv.port, t, '/hello');
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), 'origin:/hello');
      } finally {
        t.close();
      }
      const cli = runCli(['http', String(stack.origin.port), '--server', stack.srv.url, '--token', secret, '--json']);
      try {
        const ready = JSON.parse(await cli.nextLine((l) => l.includes('"ready"'))) as { url: string };
        const r = await visit(stack.srv.port, new URL(ready.url).host, '/cli');
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), 'origin:/cli');
      } finally {
        cli.child.kill('SIGTERM');
        await cli.exited;
      }
    });

    test('a token limited to names cannot open others (FORBIDDEN) and may open its own', async () => {
      const { secret } = await stack.srv.composed.accounts.tokens.create({ label: 'alice', names: ['alice-*'] });
      const err = await refusal(tunnel(stack.srv.url, stack.origin.port, { token: secret, subdomain: 'bobsapp' }));
      assert.equal(err.code, 'BURROW_ERR_FORBIDDEN');
      const noName = await refusal(tunnel(stack.srv.url, stack.origin.port, { token: secret }));
      assert.equal(noName.code, 'BURROW_ERR_FORBIDDEN', 'a pattern-only token must name its tunnel');
      const t = await tunnel(stack.srv.url, stack.origin.port, { token: secret, subdomain: 'alice-app' });
      try {
        assert.equal(t.name, 'alice-app');
        assert.equal((await visit(stack.srv.port, t)).status, 200);
      } finally {
        t.close();
      }
    });

    test('a token gets its reserved name by default; others cannot take it', async () => {
      const { tokens } = stack.srv.composed.accounts;
      const { token, secret } = await tokens.create({ label: 'owner' });
      await tokens.reserveName('reservedone', token.id);
      const t = await tunnel(stack.srv.url, stack.origin.port, { token: secret });
      try {
        assert.equal(t.name, 'reservedone');
        assert.equal((await visit(stack.srv.port, t)).status, 200);
      } finally {
        t.close();
      }
      const other = await tokens.create({ label: 'other' });
      await waitUntil(() => stack.srv.composed.server.registry.get('reservedone') === undefined, {
        timeoutMs: 5000,
        what: 'name released',
      });
      const err = await refusal(
        tunnel(stack.srv.url, stack.origin.port, { token: other.secret, subdomain: 'reservedone' }),
      );
      assert.equal(err.code, 'BURROW_ERR_FORBIDDEN');
    });

    test('max tunnels per token: the second tunnel is FORBIDDEN, and allowed again after the first closes', async () => {
      const { secret } = await stack.srv.composed.accounts.tokens.create({ label: 'one', maxTunnels: 1 });
      const first = await tunnel(stack.srv.url, stack.origin.port, { token: secret });
      let firstClosed = false;
      try {
        const err = await refusal(tunnel(stack.srv.url, stack.origin.port, { token: secret }));
        assert.equal(err.code, 'BURROW_ERR_FORBIDDEN');
        assert.match(err.message, /1 of its 1/);
        first.close();
        firstClosed = true;
        const firstName = first.name;
        await waitUntil(() => stack.srv.composed.server.registry.get(firstName) === undefined, {
          timeoutMs: 5000,
          what: 'first tunnel gone',
        });
        const again = await tunnel(stack.srv.url, stack.origin.port, { token: secret });
        again.close();
      } finally {
        if (!firstClosed) first.close();
      }
    });

    test('an expired token is refused', async () => {
      const { secret } = await stack.srv.composed.accounts.tokens.create({ label: 'short', expiresInMs: 50 });
      clock.advance(120);
      const err = await refusal(tunnel(stack.srv.url, stack.origin.port, { token: secret }));
      assert.equal(err.code, 'BURROW_ERR_UNAUTHORIZED');
      assert.match(err.message, /expired/);
    });
  });

  describe(`reserved names with --auth none (${backend.name})`, { skip: backend.skip }, () => {
    const stack = composedStack(backend, { auth: 'none' });

    test('anonymous agents work, but a reserved name is refused to them and to other tokens', async () => {
      const { tokens } = stack.srv.composed.accounts;
      const anon = await tunnel(stack.srv.url, stack.origin.port, { subdomain: 'freename' });
      try {
        assert.equal(anon.name, 'freename');
        assert.equal((await visit(stack.srv.port, anon)).status, 200);
      } finally {
        anon.close();
      }
      const owner = await tokens.create({ label: 'owner' });
      await tokens.reserveName('kept-name', owner.token.id);
      const err = await refusal(tunnel(stack.srv.url, stack.origin.port, { subdomain: 'kept-name' }));
      assert.equal(err.code, 'BURROW_ERR_FORBIDDEN');
      const other = await tokens.create({ label: 'other' });
      assert.equal(
        (await refusal(tunnel(stack.srv.url, stack.origin.port, { token: other.secret, subdomain: 'kept-name' }))).code,
        'BURROW_ERR_FORBIDDEN',
      );
      const mine = await tunnel(stack.srv.url, stack.origin.port, { token: owner.secret, subdomain: 'kept-name' });
      try {
        assert.equal(mine.name, 'kept-name');
      } finally {
        mine.close();
      }
    });

    test('a bad token is still refused with --auth none', async () => {
      const err = await refusal(tunnel(stack.srv.url, stack.origin.port, { token: `brw_${'C'.repeat(40)}` }));
      assert.equal(err.code, 'BURROW_ERR_UNAUTHORIZED');
    });
  });
}
