/**
 * Issue 6, end to end, the less obvious paths: WebSocket upgrades behind visitor rules, spoofed
 * X-Forwarded-For, secrets never shown by the admin API, stored rules across a restart, token
 * counts with the default resume grace, tokens expiring under a live agent, and the real
 * `burrow server` / `burrow token` / `burrow name` processes sharing one database.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'ws';
import { closeHttp, request } from '../../helpers/harness.js';
import { loopbackServer, runCli, type CliProcess } from '../../helpers/cli.js';
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
import { FakeClock } from '../../helpers/clock.js';

const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/** Open a WebSocket to a tunnel host; resolves with the HTTP status of a refusal or 101. */
function wsStatus(
  port: number,
  host: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; ws?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`, { headers: { host, ...headers } });
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

for (const backend of BACKENDS) {
  describe(`visitor rules on the less common paths (${backend.name})`, { skip: backend.skip }, () => {
    let db: TestDb;
    let srv: Running;
    let origin: { server: http.Server; port: number; seen: http.IncomingHttpHeaders[] };
    let wss: WebSocketServer;
    const upgradesSeen: http.IncomingHttpHeaders[] = [];
    let secret: string;

    before(async () => {
      db = await backend.create();
      srv = await startComposed(db.url);
      origin = await startEchoOrigin();
      wss = new WebSocketServer({ server: origin.server });
      wss.on('connection', (ws, req) => {
        upgradesSeen.push(req.headers);
        ws.on('message', (m: Buffer) => ws.send(`echo:${m.toString()}`));
      });
      ({ secret } = await srv.composed.accounts.tokens.create({ label: 'edge' }));
    });
    after(async () => {
      await srv?.composed.close();
      for (const c of wss?.clients ?? []) c.terminate();
      wss?.close();
      if (origin) await closeHttp(origin.server);
      await db?.cleanup();
    });

    test('WebSocket upgrades: 401 without credentials, 101 with them, and the origin never sees Authorization', async () => {
      const t = await tunnel(srv.url, origin.port, { token: secret, access: { basicAuth: 'erin:ws-pass' } });
      try {
        const host = new URL(t.url).host;
        assert.equal((await wsStatus(srv.port, host)).status, 401);
        assert.equal((await wsStatus(srv.port, host, { authorization: basic('erin', 'nope') })).status, 401);
        assert.equal(upgradesSeen.length, 0, 'refused upgrades never reach the origin');
        const ok = await wsStatus(srv.port, host, { authorization: basic('erin', 'ws-pass') });
        assert.equal(ok.status, 101);
        ok.ws!.send('hi');
        const [msg] = (await once(ok.ws!, 'message')) as [Buffer];
        assert.equal(msg.toString(), 'echo:hi');
        ok.ws!.close();
        assert.equal(upgradesSeen.at(-1)?.authorization, undefined);
      } finally {
        t.close();
      }
    });

    test('WebSocket upgrades obey --deny-ip', async () => {
      const t = await tunnel(srv.url, origin.port, { token: secret, access: { denyIps: ['127.0.0.1/32'] } });
      try {
        assert.equal((await wsStatus(srv.port, new URL(t.url).host)).status, 403);
      } finally {
        t.close();
      }
    });

    test('many visitor requests through one tunnel do not pile up listeners on its pooled stream', async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
      process.on('warning', onWarning);
      const t = await tunnel(srv.url, origin.port, { token: secret });
      try {
        for (let i = 0; i < 30; i++) assert.equal((await visit(srv.port, t, `/k${i}`)).status, 200);
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        t.close();
        process.off('warning', onWarning);
      }
      assert.deepEqual(
        warnings.filter((w) => w.includes('MaxListenersExceeded')),
        [],
      );
    });

    test('a spoofed X-Forwarded-For does not get around IP rules (no --trust-proxy)', async () => {
      const denied = await tunnel(srv.url, origin.port, { token: secret, access: { denyIps: ['127.0.0.0/8'] } });
      try {
        assert.equal((await visit(srv.port, denied, '/', { 'x-forwarded-for': '10.1.2.3' })).status, 403);
      } finally {
        denied.close();
      }
      const allowed = await tunnel(srv.url, origin.port, { token: secret, access: { allowIps: ['10.0.0.0/8'] } });
      try {
        assert.equal((await visit(srv.port, allowed, '/', { 'x-forwarded-for': '10.1.2.3' })).status, 403);
      } finally {
        allowed.close();
      }
    });

    test('the admin API shows which rules a reserved name has, never the password or bearer token', async () => {
      const { tokens } = srv.composed.accounts;
      const owner = await tokens.create({ label: 'shown' });
      await tokens.reserveName('shown-rules', owner.token.id);
      const t = await tunnel(srv.url, origin.port, {
        token: owner.secret,
        access: {
          basicAuth: 'frank:Sup3rSecretPw',
          bearer: 'VisitorBearerXyz',
          rateLimit: '50/s',
          denyIps: ['192.0.2.0/24'],
        },
      });
      t.close();
      const r = await admin(srv.port, 'GET', '/names/shown-rules');
      assert.equal(r.status, 200);
      const text = JSON.stringify(r.json);
      assert.ok(!text.includes('Sup3rSecretPw') && !text.includes('VisitorBearerXyz'), text);
      const access = (r.json as { name: { access: Record<string, unknown> } }).name.access;
      assert.equal(access['basicAuth'], true);
      assert.equal(access['bearer'], true);
      assert.deepEqual(access['denyIps'], ['192.0.2.0/24']);
    });
  });

  describe(`restart keeps stored visitor rules (${backend.name})`, { skip: backend.skip }, () => {
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

    test('rules saved with a reserved name apply after a restart, with no flags', async () => {
      srv = await startComposed(db.url);
      const { token, secret } = await srv.composed.accounts.tokens.create({ label: 'rules-restart' });
      await srv.composed.accounts.tokens.reserveName('ruled', token.id);
      const t1 = await tunnel(srv.url, origin.port, {
        token: secret,
        access: { basicAuth: 'gina:pw', rateLimit: '2/m' },
      });
      t1.close();
      await srv.composed.close();
      srv = undefined;
      srv = await startComposed(db.url);
      const t2 = await tunnel(srv.url, origin.port, { token: secret });
      try {
        assert.equal(t2.name, 'ruled');
        assert.equal((await visit(srv.port, t2)).status, 401);
        const auth = { authorization: basic('gina', 'pw') };
        assert.equal((await visit(srv.port, t2, '/', auth)).status, 200);
        // the first 401 took one of the 2 per minute
        assert.equal((await visit(srv.port, t2, '/', auth)).status, 429);
      } finally {
        t2.close();
      }
    });
  });

  describe(`token counts and lifetimes under live agents (${backend.name})`, { skip: backend.skip }, () => {
    const clock = new FakeClock();

    const stack = composedStack(backend, { resumeGraceMs: 60_000, tokenClock: clock.now, revocationPollMs: 20 });

    test('max tunnels: a tunnel closed by its agent frees its slot even with a resume grace', async () => {
      const { secret } = await stack.srv.composed.accounts.tokens.create({ label: 'grace', maxTunnels: 1 });
      const first = await tunnel(stack.srv.url, stack.origin.port, { token: secret });
      first.close();
      await waitUntil(() => stack.srv.composed.server.registry.get(first.name) === undefined, {
        timeoutMs: 3000,
        what: 'first tunnel gone',
      });
      const second = await tunnel(stack.srv.url, stack.origin.port, { token: secret });
      second.close();
    });

    test('a token that expires while its agent is connected: the agent is disconnected and cannot come back', async () => {
      const { secret } = await stack.srv.composed.accounts.tokens.create({ label: 'expiring', expiresInMs: 1000 });
      const t = await tunnel(stack.srv.url, stack.origin.port, { token: secret });
      try {
        assert.equal((await visit(stack.srv.port, t)).status, 200);
        clock.advance(1100);
        assert.equal(
          (await refusal(tunnel(stack.srv.url, stack.origin.port, { token: secret }))).code,
          'BURROW_ERR_UNAUTHORIZED',
        );
        // the revocation watch (every 20 ms here) ends agents whose token expired
        await waitUntil(async () => (await visit(stack.srv.port, t, '/late')).status !== 200, {
          timeoutMs: 5000,
          what: 'expired agent disconnected',
        });
      } finally {
        t.close();
      }
    });
  });

  describe(`the real CLI processes on one database (${backend.name})`, { skip: backend.skip }, () => {
    let db: TestDb;
    let server: CliProcess;
    let port: number;
    let origin: { server: http.Server; port: number };

    before(async () => {
      db = await backend.create();
      origin = await startEchoOrigin();
      server = runCli([
        ...loopbackServer(db.url),
        '--auth',
        'token',
        '--admin-token',
        'cli-admin-token-0123456789',
        '--log-level',
        'silent',
      ]);
      await waitUntil(() => /listening on [^\s]+:(\d+)/.test(server.stderr()), {
        timeoutMs: 20_000,
        what: `server start: ${server.stderr()}`,
      });
      port = Number(/listening on [^\s]+:(\d+)/.exec(server.stderr())![1]);
    });
    after(async () => {
      server?.child.kill('SIGTERM');
      await server?.exited;
      if (origin) await closeHttp(origin.server);
      await db?.cleanup();
    });

    async function cli(args: string[]): Promise<string> {
      const p = runCli(args);
      const code = await p.exited;
      assert.equal(code, 0, `burrow ${args.join(' ')}: ${p.stderr()}`);
      return p.lines.join('\n');
    }

    test('`burrow token create` + `burrow name reserve` on the database; `burrow http --token` gets the name', async () => {
      const made = JSON.parse(await cli(['token', 'create', '--label', 'from-cli', '--db', db.url, '--json'])) as {
        token: { id: string };
        secret: string;
      };
      await cli(['name', 'reserve', 'cli-name', '--token', made.token.id, '--db', db.url]);
      const url = `http://127.0.0.1:${port}`;
      const t = await tunnel(url, origin.port, { token: made.secret });
      try {
        assert.equal(t.name, 'cli-name');
        assert.equal((await request(port, new URL(t.url).host, '/x')).body.toString(), 'origin:/x');
      } finally {
        t.close();
      }
      // and the same through the admin API of the running server
      const listed = await cli([
        'token',
        'list',
        '--server',
        url,
        '--admin-token',
        'cli-admin-token-0123456789',
        '--json',
      ]);
      assert.ok((JSON.parse(listed) as { id: string }[]).some((x) => x.id === made.token.id));
      const bad = runCli(['token', 'list', '--server', url, '--admin-token', 'wrong-admin-token-0000000', '--json']);
      assert.equal(await bad.exited, 1);
      assert.match(bad.stderr(), /BURROW_ERR_UNAUTHORIZED/);
    });

    test('`burrow name access` on the database sets the rules a running server enforces for the next agent', async () => {
      const made = JSON.parse(await cli(['token', 'create', '--label', 'access-cli', '--db', db.url, '--json'])) as {
        token: { id: string };
        secret: string;
      };
      await cli(['name', 'reserve', 'cli-guarded', '--token', made.token.id, '--db', db.url]);
      await cli([
        'name',
        'access',
        'cli-guarded',
        '--basic-auth',
        'ivy:from-cli',
        '--rate-limit',
        '100/s',
        '--db',
        db.url,
      ]);
      const t = await tunnel(`http://127.0.0.1:${port}`, origin.port, { token: made.secret });
      try {
        assert.equal(t.name, 'cli-guarded');
        const host = new URL(t.url).host;
        assert.equal((await request(port, host, '/')).status, 401);
        const ok = await request(port, host, '/', { headers: { authorization: basic('ivy', 'from-cli') } });
        assert.equal(ok.status, 200);
      } finally {
        t.close();
      }
    });

    test('`burrow http` with no token against `burrow server --auth token` exits 1 with the message', async () => {
      const p = runCli(['http', String(origin.port), '--server', `http://127.0.0.1:${port}`], { BURROW_TOKEN: '' });
      assert.equal(await p.exited, 1);
      assert.match(p.stderr(), /no token was given/);
      assert.match(p.stderr(), /BURROW_ERR_UNAUTHORIZED/);
    });
  });
}
