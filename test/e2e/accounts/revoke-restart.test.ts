/**
 * Issue 6, end to end: revoking a token (TokenService, admin API, `burrow token revoke --db`)
 * disconnects its live agent at once and keeps it out; a server restart on the same database keeps
 * tokens, reserved names and tunnel ids.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import type { Tunnel } from '../../../src/index.js';
import { closeHttp, request } from '../../helpers/harness.js';
import { runCli } from '../../helpers/cli.js';
import {
  composedStack,
  admin,
  BACKENDS,
  refusal,
  startComposed,
  startEchoOrigin,
  tunnel,
  visit,
  type Running,
  type TestDb,
} from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

/** The revocation watch's interval in these tests (the default, REVOCATION_POLL_INTERVAL_MS, is 5 s). */
const REVOCATION_POLL_MS = 50;
const RECONNECT = { reconnect: true, backoff: { initialDelayMs: 100, maxDelayMs: 300 } };

/** Resolves with the error the tunnel reported when it was shut, and whether it tried to reconnect. */
function watchShutdown(t: Tunnel): { closed: Promise<void>; errors: string[]; reconnects: number } {
  const w = { closed: new Promise<void>((r) => t.once('close', () => r())), errors: [] as string[], reconnects: 0 };
  t.on('error', (e) => w.errors.push(e.code));
  t.on('reconnecting', () => w.reconnects++);
  return w;
}

async function assertGone(srv: Running, host: string): Promise<void> {
  const r = await visit(srv.port, host, '/after-revoke');
  assert.ok(r.status === 404 || r.status === 502, `tunnel host answers 404/502 after revocation, got ${r.status}`);
  assert.notEqual(r.body.toString(), 'origin:/after-revoke');
}

for (const backend of BACKENDS) {
  describe(`token revocation disconnects live agents (${backend.name})`, { skip: backend.skip }, () => {
    const stack = composedStack(backend, { resumeGraceMs: 60_000, revocationPollMs: REVOCATION_POLL_MS });

    async function openLive(label: string): Promise<{ id: string; secret: string; t: Tunnel; host: string }> {
      const { token, secret } = await stack.srv.composed.accounts.tokens.create({ label });
      // reconnect on: the client must still give up, because the refusal is final
      const t = await tunnel(stack.srv.url, stack.origin.port, {
        token: secret,
        reconnect: true,
        backoff: { initialDelayMs: 50, maxDelayMs: 200 },
      });
      const host = new URL(t.url).host;
      assert.equal((await visit(stack.srv.port, host)).status, 200);
      return { id: token.id, secret, t, host };
    }

    test('TokenService.revoke: the tunnel is gone at once and the agent cannot reconnect', async () => {
      const live = await openLive('svc');
      const w = watchShutdown(live.t);
      await stack.srv.composed.accounts.tokens.revoke(live.id);
      await assertGone(stack.srv, live.host);
      await w.closed;
      assert.equal(w.reconnects, 0, 'no reconnect attempts after a revocation');
      assert.equal(
        (await refusal(tunnel(stack.srv.url, stack.origin.port, { token: live.secret }))).code,
        'BURROW_ERR_UNAUTHORIZED',
      );
    });

    test('admin API POST /api/admin/tokens/:id/revoke disconnects the agent at once', async () => {
      const live = await openLive('api');
      const w = watchShutdown(live.t);
      const r = await admin(stack.srv.port, 'POST', `/tokens/${live.id}/revoke`);
      assert.equal(r.status, 200);
      assert.equal((r.json as { token: { status: string } }).token.status, 'revoked');
      await assertGone(stack.srv, live.host);
      await w.closed;
      assert.equal(w.reconnects, 0);
      assert.equal(
        (await refusal(tunnel(stack.srv.url, stack.origin.port, { token: live.secret }))).code,
        'BURROW_ERR_UNAUTHORIZED',
      );
    });

    test('`burrow token revoke --db` from another process disconnects the agent (revocation polling)', async () => {
      const live = await openLive('cli');
      const w = watchShutdown(live.t);
      const cli = runCli(['token', 'revoke', live.id, '--db', stack.db.url]);
      assert.equal(await cli.exited, 0, cli.stderr());
      // the server sees revocations made elsewhere by polling (every REVOCATION_POLL_MS here)
      await waitUntil(async () => (await visit(stack.srv.port, live.host, '/poll')).status !== 200, {
        timeoutMs: 5_000,
        what: 'tunnel closed after CLI revoke',
      });
      await assertGone(stack.srv, live.host);
      await w.closed;
      assert.equal(w.reconnects, 0);
      assert.equal(
        (await refusal(tunnel(stack.srv.url, stack.origin.port, { token: live.secret }))).code,
        'BURROW_ERR_UNAUTHORIZED',
      );
    });
  });

  describe(
    `server restart keeps tokens, reserved names and tunnel ids (${backend.name})`,
    { skip: backend.skip },
    () => {
      let db: TestDb;
      let srv: Running | undefined;
      let origin: { server: http.Server; port: number };

      before(async () => {
        db = await backend.create();
        origin = await startEchoOrigin();
      });
      after(async () => {
        await srv?.composed.close();
        if (origin) await closeHttp(origin.server);
        await db?.cleanup();
      });

      async function statusOf(s: Running, name: string): Promise<{ id: string; name: string }> {
        const r = await request(s.port, `127.0.0.1:${s.port}`, `/api/tunnels/${name}/status`);
        assert.equal(r.status, 200, r.body.toString());
        return JSON.parse(r.body.toString()) as { id: string; name: string };
      }

      test('close the composed server, compose a new one on the same database', async () => {
        srv = await startComposed(db.url, { resumeGraceMs: 60_000 });
        const { tokens } = srv.composed.accounts;
        const { token, secret } = await tokens.create({ label: 'persistent' });
        await tokens.reserveName('survivor', token.id);
        const t1 = await tunnel(srv.url, origin.port, { token: secret });
        const before1 = await statusOf(srv, 'survivor');
        assert.equal(t1.name, 'survivor');
        assert.equal(before1.id, t1.id);
        t1.close();
        await srv.composed.close();
        srv = undefined;

        srv = await startComposed(db.url, { resumeGraceMs: 60_000 });
        const listed = await srv.composed.accounts.tokens.list();
        assert.ok(
          listed.some((x) => x.id === token.id && x.label === 'persistent'),
          'the token survived the restart',
        );
        // the reserved name is still refused to others …
        const other = await srv.composed.accounts.tokens.create({ label: 'other' });
        assert.equal(
          (await refusal(tunnel(srv.url, origin.port, { token: other.secret, subdomain: 'survivor' }))).code,
          'BURROW_ERR_FORBIDDEN',
        );
        // … and given back to its token by default, with the same tunnel id
        const t2 = await tunnel(srv.url, origin.port, { token: secret });
        try {
          assert.equal(t2.name, 'survivor');
          const after1 = await statusOf(srv, 'survivor');
          assert.equal(after1.id, before1.id, 'tunnel id kept across the restart');
          assert.equal(t2.id, before1.id);
          assert.equal((await visit(srv.port, t2, '/back')).body.toString(), 'origin:/back');
        } finally {
          t2.close();
        }
      });

      test('a connected agent comes back by itself after a restart on the same port: same name, same id', async () => {
        await srv?.composed.close();
        srv = await startComposed(db.url, { resumeGraceMs: 60_000 });
        const port = srv.port;
        const { tokens } = srv.composed.accounts;
        const { token, secret } = await tokens.create({ label: 'comeback' });
        await tokens.reserveName('comeback', token.id);
        const t = await tunnel(srv.url, origin.port, {
          token: secret,
          reconnect: true,
          backoff: { initialDelayMs: 100, maxDelayMs: 300 },
        });
        try {
          const firstId = t.id;
          const reconnected = new Promise<void>((r) => t.once('reconnected', () => r()));
          await srv.composed.close();
          srv = undefined;
          srv = await startComposed(db.url, { resumeGraceMs: 60_000, port });
          await reconnected;
          assert.equal(t.name, 'comeback');
          assert.equal(t.id, firstId, 'the same id after the restart');
          assert.equal((await statusOf(srv, 'comeback')).id, firstId);
          assert.equal((await visit(srv.port, t, '/again')).body.toString(), 'origin:/again');
        } finally {
          t.close();
        }
      });

      test('an unreserved named tunnel gets its URL and id back after a restart', async () => {
        await srv?.composed.close();
        srv = await startComposed(db.url, { resumeGraceMs: 60_000 });
        const port = srv.port;
        const { secret } = await srv.composed.accounts.tokens.create({ label: 'unreserved' });
        const named = await tunnel(srv.url, origin.port, { ...RECONNECT, token: secret, subdomain: 'plainname' });
        try {
          const before2 = [named.url, named.id];
          const back = new Promise<void>((r) => named.once('reconnected', () => r()));
          await srv.composed.close();
          srv = undefined;
          srv = await startComposed(db.url, { resumeGraceMs: 60_000, port });
          await back;
          assert.deepEqual([named.url, named.id], before2);
          assert.equal((await statusOf(srv, 'plainname')).id, before2[1]);
        } finally {
          named.close();
        }
      });

      test('a random-name tunnel gets its URL and id back after a restart', async () => {
        await srv?.composed.close();
        srv = await startComposed(db.url, { resumeGraceMs: 60_000 });
        const port = srv.port;
        const { secret } = await srv.composed.accounts.tokens.create({ label: 'random' });
        const random = await tunnel(srv.url, origin.port, { ...RECONNECT, token: secret });
        try {
          const before3 = [random.url, random.id];
          const back = new Promise<void>((r) => random.once('reconnected', () => r()));
          await srv.composed.close();
          srv = undefined;
          srv = await startComposed(db.url, { resumeGraceMs: 60_000, port });
          await back;
          assert.equal(random.url, before3[0], 'same URL');
          assert.equal(random.id, before3[1], 'same id');
        } finally {
          random.close();
        }
      });
    },
  );
}
