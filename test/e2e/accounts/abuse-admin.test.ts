/**
 * Issue 6, end to end: brute force against agent tokens, visitor credentials and the admin API
 * is rate limited per address (429 + Retry-After); the admin API refuses bad admin tokens (401);
 * SQL-looking input is stored and returned literally; the other agent edges (localtunnel
 * handshake, tunely) obey --auth token and revocation too.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { closeHttp, request } from '../../helpers/harness.js';
import { runCli } from '../../helpers/cli.js';
import { connectTunely, runTunely } from '../../compat/tunely/helpers.js';
import {
  composedStack,
  admin,
  ADMIN_TOKEN,
  BACKENDS,
  refusal,
  startComposed,
  startEchoOrigin,
  tunnel,
  visit,
  type Running,
  type TestDb,
} from './helpers.js';

const WRONG = (i: number): string => `brw_${String(i).padStart(40, 'Z')}`;
const SQL_LABEL = `Robert'); DROP TABLE tokens; -- "quoted" \\ back ; SELECT * FROM reserved_names WHERE '1'='1`;

for (const backend of BACKENDS) {
  describe(`brute force is rate limited (${backend.name})`, { skip: backend.skip }, () => {
    let db: TestDb;
    let origin: { server: http.Server; port: number };
    const running: Running[] = [];

    before(async () => {
      db = await backend.create();
      origin = await startEchoOrigin();
    });
    after(async () => {
      for (const s of running) await s.composed.close();
      if (origin) await closeHttp(origin.server);
      await db?.cleanup();
    });

    // each test gets its own server: the failed-auth limiter lives in the server process
    async function fresh(): Promise<Running> {
      const s = await startComposed(db.url);
      running.push(s);
      return s;
    }

    test('many wrong agent tokens from one address: then refused (even with a right token) and 429 + Retry-After', async () => {
      const srv = await fresh();
      const { secret } = await srv.composed.accounts.tokens.create({ label: 'right' });
      for (let i = 0; i < 10; i++) {
        assert.equal(
          (await refusal(tunnel(srv.url, origin.port, { token: WRONG(i) }))).code,
          'BURROW_ERR_UNAUTHORIZED',
        );
      }
      const limited = await refusal(tunnel(srv.url, origin.port, { token: WRONG(99) }));
      assert.equal(limited.code, 'BURROW_ERR_RATE_LIMITED');
      assert.match(limited.message, /try again in \d+ s/);
      const evenRight = await refusal(tunnel(srv.url, origin.port, { token: secret }));
      assert.equal(evenRight.code, 'BURROW_ERR_RATE_LIMITED');
      // the admin API counts its failures in its own bucket: agent-token guesses do not lock it
      // (issue 13: test/reliability/failed-auth-buckets.test.ts)
      assert.equal((await admin(srv.port, 'GET', '/tokens')).status, 200);
    });

    test('`burrow http` with a right token from a rate-limited address says so (exits 1 or prints the reason)', async () => {
      const srv = await fresh();
      const { secret } = await srv.composed.accounts.tokens.create({ label: 'cli-limited' });
      for (let i = 0; i < 10; i++) await refusal(tunnel(srv.url, origin.port, { token: WRONG(i) }));
      const cli = runCli(['http', String(origin.port), '--server', srv.url, '--token', secret]);
      try {
        const said = await Promise.race([
          cli.exited.then(() => `${cli.stderr()}${cli.lines.join('\n')}`),
          new Promise<string>((r) => setTimeout(() => r(`${cli.stderr()}${cli.lines.join('\n')}`), 5000)),
        ]);
        assert.match(said, /RATE_LIMITED|too many failed/i, `after 5 s the CLI said: ${JSON.stringify(said)}`);
      } finally {
        cli.child.kill('SIGKILL');
        await cli.exited;
      }
    });

    test('wrong admin tokens: 401 each time, then 429 + Retry-After', async () => {
      const srv = await fresh();
      for (let i = 0; i < 10; i++) {
        const r = await admin(srv.port, 'GET', '/tokens', undefined, `wrong-admin-token-${i}-xxxxxxxx`);
        assert.equal(r.status, 401);
      }
      const r = await admin(srv.port, 'GET', '/tokens');
      assert.equal(r.status, 429, 'even the right admin token waits');
      assert.ok(Number(r.headers['retry-after']) >= 1);
    });

    test('wrong visitor credentials on a tunnel: 401s, then 429 + Retry-After', async () => {
      const srv = await fresh();
      const { secret } = await srv.composed.accounts.tokens.create({ label: 'visitors' });
      const t = await tunnel(srv.url, origin.port, { token: secret, access: { basicAuth: 'dave:pw' } });
      try {
        for (let i = 0; i < 10; i++) {
          const r = await visit(srv.port, t, '/', {
            authorization: `Basic ${Buffer.from(`dave:guess${i}`).toString('base64')}`,
          });
          assert.equal(r.status, 401);
        }
        const r = await visit(srv.port, t, '/', {
          authorization: `Basic ${Buffer.from('dave:pw').toString('base64')}`,
        });
        assert.equal(r.status, 429);
        assert.ok(Number(r.headers['retry-after']) >= 1);
      } finally {
        t.close();
      }
    });
  });

  describe(`admin API (${backend.name})`, { skip: backend.skip }, () => {
    const stack = composedStack(backend);

    test('no or bad admin token → 401 with WWW-Authenticate; the right one → 200', async () => {
      const none = await admin(stack.srv.port, 'GET', '/tokens', undefined, null);
      assert.equal(none.status, 401);
      assert.match(String(none.headers['www-authenticate']), /^Bearer/);
      const bad = await admin(stack.srv.port, 'GET', '/tokens', undefined, 'not-the-admin-token-at-all');
      assert.equal(bad.status, 401);
      assert.equal((bad.json as { error: { code: string } }).error.code, 'BURROW_ERR_UNAUTHORIZED');
      // an agent token is not an admin token
      const { secret } = await stack.srv.composed.accounts.tokens.create({ label: 'agent-only' });
      assert.equal((await admin(stack.srv.port, 'GET', '/tokens', undefined, secret)).status, 403);
      const ok = await admin(stack.srv.port, 'GET', '/tokens');
      assert.equal(ok.status, 200);
      assert.ok(!JSON.stringify(ok.json).includes(secret), 'secrets are never listed');
    });

    test('SQL-looking labels and names are stored and returned literally', async () => {
      const created = await admin(stack.srv.port, 'POST', '/tokens', { label: SQL_LABEL });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const c = created.json as { token: { id: string; label: string }; secret: string };
      assert.equal(c.token.label, SQL_LABEL);
      const one = await admin(stack.srv.port, 'GET', `/tokens/${c.token.id}`);
      assert.equal((one.json as { token: { label: string } }).token.label, SQL_LABEL);
      const list = await admin(stack.srv.port, 'GET', '/tokens');
      assert.ok((list.json as { tokens: { label: string }[] }).tokens.some((t) => t.label === SQL_LABEL));

      // an injection attempt in a path parameter finds nothing (not everything)
      const inj = await admin(stack.srv.port, 'GET', `/tokens/${encodeURIComponent("tok_' OR '1'='1")}`);
      assert.equal(inj.status, 404);
      assert.equal((inj.json as { error: { code: string } }).error.code, 'BURROW_ERR_TOKEN_NOT_FOUND');

      // names are validated: SQL-looking names are refused, the table stays intact
      const badName = await admin(stack.srv.port, 'POST', '/names', {
        name: "x'; DROP TABLE reserved_names; --",
        tokenId: c.token.id,
      });
      assert.equal(badName.status, 400);
      assert.equal((badName.json as { error: { code: string } }).error.code, 'BURROW_ERR_INVALID_NAME');
      const unknown = await admin(stack.srv.port, 'GET', `/names/${encodeURIComponent("a' OR 1=1 --")}`);
      assert.equal(unknown.status, 404);
      const reserved = await admin(stack.srv.port, 'POST', '/names', { name: 'or-1-eq-1', tokenId: c.token.id });
      assert.equal(reserved.status, 201, JSON.stringify(reserved.json));
      const names = await admin(stack.srv.port, 'GET', '/names');
      assert.equal(names.status, 200);
      assert.deepEqual(
        (names.json as { names: { name: string; tokenId: string }[] }).names.map((n) => [n.name, n.tokenId]),
        [['or-1-eq-1', c.token.id]],
      );

      // the tokens table survived: the token still opens its tunnel, under its reserved name
      const t = await tunnel(stack.srv.url, stack.origin.port, { token: c.secret });
      try {
        assert.equal(t.name, 'or-1-eq-1');
      } finally {
        t.close();
      }
      // an agent asking for an SQL-looking subdomain gets a clean refusal
      const err = await refusal(tunnel(stack.srv.url, stack.origin.port, { token: c.secret, subdomain: "a'--" }));
      assert.match(err.code, /BURROW_ERR_(INVALID_NAME|FORBIDDEN|BAD_REQUEST)/);
    });

    test('`burrow token create --label <SQL> --db` and `token list --json` through the CLI on the same database', async () => {
      const create = runCli(['token', 'create', '--label', SQL_LABEL, '--db', stack.db.url, '--json']);
      assert.equal(await create.exited, 0, create.stderr());
      const made = JSON.parse(create.lines.join('\n')) as { token: { id: string; label: string } };
      assert.equal(made.token.label, SQL_LABEL);
      const r = await admin(stack.srv.port, 'GET', `/tokens/${made.token.id}`);
      assert.equal((r.json as { token: { label: string } }).token.label, SQL_LABEL);
      const list = runCli(['token', 'list', '--db', stack.db.url, '--json']);
      assert.equal(await list.exited, 0, list.stderr());
      const tokens = JSON.parse(list.lines.join('\n')) as { id: string; label: string }[];
      assert.equal(tokens.find((t) => t.id === made.token.id)?.label, SQL_LABEL);
    });

    test('revoking through the admin API with a bad admin token changes nothing', async () => {
      const { token, secret } = await stack.srv.composed.accounts.tokens.create({ label: 'keep' });
      const r = await admin(
        stack.srv.port,
        'POST',
        `/tokens/${token.id}/revoke`,
        undefined,
        'wrong-admin-token-xxxxxxxx',
      );
      assert.equal(r.status, 401);
      const t = await tunnel(stack.srv.url, stack.origin.port, { token: secret });
      t.close();
    });
  });

  describe(`other agent edges obey --auth token (${backend.name})`, { skip: backend.skip }, () => {
    const stack = composedStack(backend);

    test('localtunnel handshake without a token is refused with --auth token, and cannot take a reserved name', async () => {
      const own = `127.0.0.1:${stack.srv.port}`;
      const anon = await request(stack.srv.port, own, '/?new');
      assert.equal(anon.status, 401, `GET /?new without a token: ${anon.status} ${anon.body.toString()}`);
      const { token } = await stack.srv.composed.accounts.tokens.create({ label: 'lt-owner' });
      await stack.srv.composed.accounts.tokens.reserveName('lt-reserved', token.id);
      const taken = await request(stack.srv.port, own, '/lt-reserved');
      assert.ok(taken.status === 401 || taken.status === 403, `GET /lt-reserved without its token: ${taken.status}`);
    });

    test('localtunnel handshake with a token (?token=, X-Burrow-Token): its reserved name, refused to others, closed on revocation', async () => {
      const own = `127.0.0.1:${stack.srv.port}`;
      const { tokens } = stack.srv.composed.accounts;
      const owner = await tokens.create({ label: 'lt-with-token' });
      await tokens.reserveName('lt-mine', owner.token.id);
      const other = await tokens.create({ label: 'lt-other' });
      const refused = await request(stack.srv.port, own, '/lt-mine', { headers: { 'x-burrow-token': other.secret } });
      assert.equal(refused.status, 403, refused.body.toString());
      const bad = await request(stack.srv.port, own, `/?new&token=brw_${'Q'.repeat(40)}`);
      assert.equal(bad.status, 401);
      const ok = await request(stack.srv.port, own, `/?new&token=${owner.secret}`);
      assert.equal(ok.status, 200, ok.body.toString());
      const body = JSON.parse(ok.body.toString()) as { id: string; url: string };
      assert.equal(body.id, 'lt-mine', 'a token with one reserved name gets it by default');
      assert.ok(stack.srv.composed.server.registry.get('lt-mine'), 'registered');
      await tokens.revoke(owner.token.id);
      assert.equal(
        stack.srv.composed.server.registry.get('lt-mine'),
        undefined,
        'revocation closes the localtunnel tunnel at once',
      );
      const again = await request(stack.srv.port, own, '/lt-mine', { headers: { 'x-burrow-token': owner.secret } });
      assert.equal(again.status, 401);
    });

    test('the pipe needs a token allowed the pipe kind with --auth token', async () => {
      // a receiver without a sender waits; refused at once is what --auth token should give
      const status = await fetch(`${stack.srv.url}/api/v1/pipe/no-token-here`, {
        signal: AbortSignal.timeout(1500),
      }).then(
        (r) => r.status,
        () => 'waiting for a sender (accepted)',
      );
      assert.equal(status, 401, `GET /api/v1/pipe without a token: ${status}`);
      // with a token allowed the pipe kind, a transfer goes through
      const { secret } = await stack.srv.composed.accounts.tokens.create({ label: 'piper', scopes: ['pipe'] });
      const auth = { authorization: `Bearer ${secret}` };
      const received = fetch(`${stack.srv.url}/api/v1/pipe/with-token`, { headers: auth }).then((r) => r.text());
      const sent = await fetch(`${stack.srv.url}/api/v1/pipe/with-token?token=${secret}`, {
        method: 'POST',
        body: 'piped!',
      });
      assert.equal(sent.status, 200);
      await sent.text();
      assert.equal(await received, 'piped!');
      // a token without the pipe kind is refused; the pages stay open
      const { secret: httpOnly } = await stack.srv.composed.accounts.tokens.create({
        label: 'http-only',
        scopes: ['http'],
      });
      const refused = await fetch(`${stack.srv.url}/api/v1/pipe/other`, {
        headers: { authorization: `Bearer ${httpOnly}` },
      });
      assert.equal(refused.status, 403);
      await refused.text();
      assert.equal((await fetch(`${stack.srv.url}/api/v1/pipe/help`)).status, 200);
    });

    test('tunely agents: a tunely-format token works, and revoking it disconnects the agent at once', async () => {
      const { tokens } = stack.srv.composed.accounts;
      const { token, secret } = await tokens.create({ format: 'tunely', names: ['tunely-app'], label: 'tunely' });
      const wsUrl = `ws://127.0.0.1:${stack.srv.port}/ws/tunnel`;
      const agent = await connectTunely({
        server: wsUrl,
        token: secret,
        target: `http://127.0.0.1:${stack.origin.port}`,
        reconnectSeconds: 60,
      });
      try {
        const r = await request(stack.srv.port, `tunely-app.localhost:${stack.srv.port}`, '/t');
        assert.equal(r.body.toString(), 'origin:/t');
        const started = Date.now();
        await tokens.revoke(token.id);
        // the adapter keeps an offline tunely tunnel for a grace period, answering 503
        let after1 = await request(stack.srv.port, `tunely-app.localhost:${stack.srv.port}`, '/after');
        while (after1.status === 200 && Date.now() - started < 3000) {
          await new Promise((r) => setTimeout(r, 50));
          after1 = await request(stack.srv.port, `tunely-app.localhost:${stack.srv.port}`, '/after');
        }
        assert.notEqual(after1.status, 200, 'no request reaches the revoked agent');
        assert.notEqual(after1.body.toString(), 'origin:/after');
        assert.ok(Date.now() - started < 1000, 'disconnected at once, not by polling');
        await agent.waitFor(/revoked|认证失败|断开|closed/i, 5000);
      } finally {
        await agent.kill();
      }
      const again = runTunely({
        server: wsUrl,
        token: secret,
        target: `http://127.0.0.1:${stack.origin.port}`,
        reconnectSeconds: 60,
      });
      try {
        await again.waitFor(/认证失败: .*revoked/);
      } finally {
        await again.kill();
      }
    });
  });
}

export { ADMIN_TOKEN };
