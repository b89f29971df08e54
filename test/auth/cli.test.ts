import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Command, CommanderError } from 'commander';
import { registerNameCommands } from '../../src/cli/commands/name.js';
import { registerTokenCommands } from '../../src/cli/commands/token.js';
import { TokenService } from '../../src/auth/token-service.js';
import { openStore } from '../../src/store/open.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { ADMIN_SECRET, startAdminServer } from './admin-server.js';
import { cliArgs } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'burrow-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const SQLISH = "x'); drop table tokens;--";

/** Run `burrow <args>` in-process with the real command definitions; capture stdout/stderr. */
async function burrow(...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  let stdout = '';
  let stderr = '';
  const program = new Command('burrow')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void (stdout += s), writeErr: (s) => void (stderr += s) });
  registerTokenCommands(program);
  registerNameCommands(program);
  try {
    await program.parseAsync(args, { from: 'user' });
    return { stdout, stderr, exitCode: 0 };
  } catch (err) {
    if (err instanceof CommanderError) return { stdout, stderr, exitCode: err.exitCode };
    throw err;
  }
}

void describe('burrow token / name on the local database', () => {
  const db = `sqlite:${join(dir, 'data', 'burrow.db')}`;
  // admin commands open an existing database only (`burrow server` creates it): make it first
  before(async () => (await openStore(db)).close());

  void it('token create prints the secret once, with --json too', async () => {
    const text = await burrow(
      'token',
      'create',
      '--db',
      db,
      '--label',
      'laptop',
      '--name',
      'my-app',
      '--kind',
      'http',
      '--expires',
      '30d',
    );
    assert.equal(text.exitCode, 0, text.stderr);
    assert.match(text.stdout, /shown only this once/);
    assert.match(text.stdout, /\n {2}brw_[A-Za-z0-9]{40}\n/);
    assert.match(text.stdout, /names: {3}my-app/);
    const json = await burrow(
      'token',
      'create',
      '--db',
      db,
      '--label',
      SQLISH,
      '--format',
      'tunely',
      '--max-tunnels',
      '2',
      '--json',
    );
    const parsed = JSON.parse(json.stdout) as {
      secret: string;
      token: { id: string; label: string; maxTunnels: number };
    };
    assert.match(parsed.secret, /^tun_/);
    assert.equal(parsed.token.label, SQLISH);
    assert.equal(parsed.token.maxTunnels, 2);
  });

  void it('token list shows prefixes and never secrets; --json is parseable', async () => {
    const created = JSON.parse((await burrow('token', 'create', '--db', db, '--label', 'listed', '--json')).stdout) as {
      secret: string;
      token: { id: string };
    };
    const list = await burrow('token', 'list', '--db', db);
    assert.equal(list.exitCode, 0);
    assert.match(list.stdout, /^ID\s+PREFIX\s+STATUS/);
    assert.ok(list.stdout.includes(created.token.id));
    assert.ok(!list.stdout.includes(created.secret));
    const json = JSON.parse((await burrow('token', 'list', '--db', db, '--json')).stdout) as Array<{
      id: string;
      label: string;
    }>;
    assert.ok(
      json.some((t) => t.label === SQLISH),
      'SQL-looking label returned literally',
    );
  });

  void it('token revoke refuses the token afterwards (also after reopening the database)', async () => {
    const created = JSON.parse((await burrow('token', 'create', '--db', db, '--json')).stdout) as {
      secret: string;
      token: { id: string };
    };
    const revoked = await burrow('token', 'revoke', created.token.id, '--db', db);
    assert.equal(revoked.exitCode, 0);
    assert.match(revoked.stdout, /Revoked tok_/);
    const store = await openStore(db);
    try {
      await assert.rejects(new TokenService({ store }).verify(created.secret, { kind: 'http' }), /revoked/);
    } finally {
      await store.close();
    }
  });

  void it('a created token survives a restart and works for agents', async () => {
    const created = JSON.parse(
      (await burrow('token', 'create', '--db', db, '--name', 'survivor-app', '--json')).stdout,
    ) as {
      secret: string;
      token: { id: string };
    };
    const store = await openStore(db);
    try {
      const t = await new TokenService({ store }).verify(created.secret, { kind: 'http', name: 'survivor-app' });
      assert.equal(t.id, created.token.id);
    } finally {
      await store.close();
    }
  });

  void it('name reserve / list / release', async () => {
    const id = (JSON.parse((await burrow('token', 'create', '--db', db, '--json')).stdout) as { token: { id: string } })
      .token.id;
    const r = await burrow('name', 'reserve', 'Team-Site', '--token', id, '--db', db);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, `Reserved team-site for ${id}.\n`);
    const list = await burrow('name', 'list', '--db', db);
    assert.match(list.stdout, /team-site\s+tok_/);
    const json = JSON.parse((await burrow('name', 'list', '--db', db, '--json')).stdout) as Array<{ name: string }>;
    assert.ok(json.some((n) => n.name === 'team-site'));
    assert.equal((await burrow('name', 'release', 'team-site', '--db', db)).stdout, 'Released team-site.\n');
  });

  void it('name access stores hashed visitor rules with a reserved name, and clears them', async () => {
    const id = (JSON.parse((await burrow('token', 'create', '--db', db, '--json')).stdout) as { token: { id: string } })
      .token.id;
    await burrow('name', 'reserve', 'demo-site', '--token', id, '--db', db);
    const set = await burrow(
      'name',
      'access',
      'demo-site',
      '--db',
      db,
      '--basic-auth',
      'demo:pa55',
      '--allow-ip',
      '10.0.0.0/8',
      '--allow-ip',
      '2001:db8::/32',
      '--rate-limit',
      '20/m',
    );
    assert.equal(set.exitCode, 0, set.stderr);
    assert.equal(set.stdout, 'Visitor rules of demo-site: basic-auth; allow 10.0.0.0/8,2001:db8::/32; rate 20/m.\n');
    const store = await openStore(db);
    try {
      const access = (await store.getReservedName('demo-site'))?.access;
      assert.equal(access?.basicUser, 'demo');
      assert.ok(access?.basicPasswordHash?.startsWith('scrypt$') && !access.basicPasswordHash.includes('pa55'));
    } finally {
      await store.close();
    }
    assert.match((await burrow('name', 'list', '--db', db)).stdout, /demo-site\s+tok_\S+\s+.*basic-auth/);
    const bad = await burrow('name', 'access', 'demo-site', '--db', db, '--rate-limit', 'fast');
    assert.match(bad.stderr, /BURROW_ERR_INVALID_ACCESS_RULE/);
    const none = await burrow('name', 'access', 'demo-site', '--db', db);
    assert.equal(none.exitCode, 2, 'a usage error');
    assert.match(none.stderr, /--clear/);
    const notReserved = await burrow('name', 'access', 'nobody-here', '--db', db, '--bearer', 'x');
    assert.match(notReserved.stderr, /BURROW_ERR_NAME_NOT_RESERVED/);
    const cleared = await burrow('name', 'access', 'demo-site', '--db', db, '--clear', '--json');
    assert.equal((JSON.parse(cleared.stdout) as { access: unknown }).access, null);
  });

  void it('errors print the message, the fix and the code, with exit code 1', async () => {
    const missing = await burrow('token', 'revoke', 'tok_nothing', '--db', db);
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /No token has this id/);
    assert.match(missing.stderr, /fix: Run `burrow token list`/);
    assert.match(missing.stderr, /code: BURROW_ERR_TOKEN_NOT_FOUND/);
    const release = await burrow('name', 'release', 'never-reserved', '--db', db);
    assert.match(release.stderr, /BURROW_ERR_NAME_NOT_RESERVED/);
    const badKind = await burrow('token', 'create', '--db', db, '--kind', 'root');
    assert.equal(badKind.exitCode, 1);
    assert.match(badKind.stderr, /--kind "root"/);
    const badExpiry = await burrow('token', 'create', '--db', db, '--expires', 'tomorrow');
    assert.equal(badExpiry.exitCode, 1);
    assert.match(badExpiry.stderr, /30d/);
    const badDb = await burrow('token', 'list', '--db', 'mysql://x/y');
    assert.match(badDb.stderr, /BURROW_ERR_INVALID_CONFIG/);
    const noToken = await burrow('name', 'reserve', 'some-name', '--db', db);
    assert.equal(noToken.exitCode, 1);
    assert.match(noToken.stderr, /--token/);
  });
});

void describe('burrow token / name through --server (admin API)', () => {
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

  void it('creates, lists, revokes (agents told at once) and manages names', async () => {
    const remote = ['--server', admin.url, '--admin-token', ADMIN_SECRET];
    const created = JSON.parse((await burrow('token', 'create', ...remote, '--label', 'remote', '--json')).stdout) as {
      secret: string;
      token: { id: string };
    };
    assert.ok(await store.getToken(created.token.id), 'written to the server database');
    const list = await burrow('token', 'list', ...remote);
    assert.ok(list.stdout.includes(created.token.id));
    assert.equal((await burrow('name', 'reserve', 'remote-app', '--token', created.token.id, ...remote)).exitCode, 0);
    assert.match((await burrow('name', 'list', ...remote)).stdout, /remote-app/);
    const access = await burrow(
      'name',
      'access',
      'remote-app',
      ...remote,
      '--bearer',
      'visitor-secret',
      '--deny-ip',
      '192.0.2.0/24',
    );
    assert.equal(access.stdout, 'Visitor rules of remote-app: bearer; deny 192.0.2.0/24.\n');
    assert.ok((await store.getReservedName('remote-app'))?.access?.bearerHash);
    const cleared = await burrow('name', 'access', 'remote-app', ...remote, '--clear');
    assert.equal(cleared.stdout, 'Visitor rules of remote-app: -.\n');
    assert.equal((await burrow('name', 'release', 'remote-app', ...remote)).exitCode, 0);
    const seen: string[] = [];
    admin.tokens.on('revoked', (id) => seen.push(id));
    const revoked = await burrow('token', 'revoke', created.token.id, ...remote);
    assert.match(revoked.stdout, /its agents were disconnected/);
    assert.deepEqual(seen, [created.token.id]);
    const missing = await burrow('token', 'revoke', 'tok_missing', ...remote);
    assert.match(missing.stderr, /BURROW_ERR_TOKEN_NOT_FOUND/);
  });

  void it('a bad admin token is refused (401 → BURROW_ERR_UNAUTHORIZED); --server without a token is a config error', async () => {
    const bad = await burrow('token', 'list', '--server', admin.url, '--admin-token', 'not-the-admin-token');
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /BURROW_ERR_UNAUTHORIZED/);
    const none = await burrow('token', 'list', '--server', admin.url);
    assert.match(none.stderr, /--admin-token/);
    const down = await burrow('token', 'list', '--server', 'http://127.0.0.1:1', '--admin-token', ADMIN_SECRET);
    assert.match(down.stderr, /BURROW_ERR_SERVER_UNREACHABLE/);
  });
});

void describe('the burrow binary (child process)', () => {
  void it('`burrow token create` then `token list` against a SQLite file', async () => {
    const run = promisify(execFile);
    const db = `sqlite:${join(dir, 'child', 'burrow.db')}`;
    const env = { ...process.env, BURROW_DB: db };
    await (await openStore(db)).close(); // what `burrow server` does first
    const created = await run(
      process.execPath,
      cliArgs('token', 'create', '--label', 'child', '--json'),
      { env },
    );
    const { secret, token } = JSON.parse(created.stdout) as { secret: string; token: { id: string } };
    assert.match(secret, /^brw_/);
    const listed = await run(process.execPath, cliArgs('token', 'list'), { env });
    assert.ok(listed.stdout.includes(token.id));
    assert.ok(!listed.stdout.includes(secret));
    await assert.rejects(
      run(process.execPath, cliArgs('token', 'revoke', 'tok_x'), { env }),
      (e: { code?: number; stderr?: string }) => {
        assert.equal(e.code, 1);
        assert.match(e.stderr ?? '', /BURROW_ERR_TOKEN_NOT_FOUND/);
        return true;
      },
    );
  });
});
