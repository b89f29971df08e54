/**
 * Regression (issue 13, defect 10): a start that failed on configuration still created
 * `./data/burrow.db` (the accounts database was opened before the options were validated). The
 * whole configuration is now validated first, every problem reported at once, and a database that
 * cannot be opened leaves no folder behind either.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBurrowError } from '../../src/core/errors.js';
import { composeServer, type ComposeOptions } from '../../src/app/compose.js';
import { runDistCli } from './dist-cli.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-cfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('config-error-creates-nothing: `burrow server` with bad flags exits 2 (a configuration error), names every problem, creates no ./data', async (t) => {
  const cwd = tempDir(t);
  const cli = runDistCli(['server', '--port', '0', '--public-url', 'nope', '--domain', 'bad_domain!'], { cwd });
  assert.equal(await cli.exited, 2);
  const out = cli.output();
  assert.match(out, /Invalid configuration/);
  assert.match(out, /publicUrl "nope" is not a URL/);
  assert.match(out, /domain "bad_domain!" is not a valid host name/);
  assert.match(out, /BURROW_ERR_INVALID_CONFIG/);
  assert.doesNotMatch(out, /listening/);
  assert.deepEqual(readdirSync(cwd), []);
});

test('config-error-creates-nothing: an adapter setting from the environment is checked before ./data too', async (t) => {
  const cwd = tempDir(t);
  const cli = runDistCli(['server', '--port', '0'], {
    cwd,
    env: { TUNNEL_REGISTRATION_API_KEY: 'k'.repeat(40), WS_PATH: 'no-slash' },
  });
  assert.equal(await cli.exited, 2);
  assert.match(cli.output(), /tiflis path .* must start with "\/" \(got "no-slash"\)/);
  assert.deepEqual(readdirSync(cwd), []);
  // a variable the flag's own parser refuses stops the command as early, naming the variable
  const parsed = runDistCli(['server', '--port', '0'], { cwd, env: { BURROW_MAX_SOCKETS: '0' } });
  assert.equal(await parsed.exited, 2);
  assert.match(parsed.output(), /from env 'BURROW_MAX_SOCKETS' is invalid/);
  assert.deepEqual(readdirSync(cwd), []);
});

test('config-error-creates-nothing: composeServer refuses each bad option without touching its database folder', async (t) => {
  const dir = tempDir(t);
  const db = `sqlite:${join(dir, 'data', 'burrow.db')}`;
  const bad: [string, ComposeOptions, RegExp][] = [
    ['public URL', { publicUrl: 'ftp://x' }, /publicUrl must be http\(s\):\/\/ or ws\(s\):\/\//],
    ['port', { port: 70000 }, /port must be an integer/],
    ['admin token', { adminToken: 'short' }, /--admin-token must be at least 16/],
    ['auth', { auth: 'maybe' as 'none' }, /--auth must be none or token/],
    ['registration key', { registrationKey: 'short' }, /32/],
    ['tcp target', { tcpTargets: ['nonsense'] }, /--tcp-target "nonsense"/],
    ['tunely path', { tunelyPath: 'ws' }, /tunely path .* must start with "\/"/],
    ['pipe port', { pipePort: -1 }, /pipePort must be an integer/],
    ['unknown key', { colour: 'blue' } as ComposeOptions, /unknown option "colour"/],
  ];
  for (const [what, options, message] of bad) {
    await assert.rejects(
      composeServer({ db, logLevel: 'silent', processMetrics: false, ...options }),
      (e: unknown) => isBurrowError(e) && e.code === 'BURROW_ERR_INVALID_CONFIG' && message.test(e.message),
      what,
    );
    assert.deepEqual(readdirSync(dir), [], what);
  }
  // several problems: all in one error
  await assert.rejects(
    composeServer({ db, publicUrl: 'nope', adminToken: 'short', tunnelPort: 1e6 }),
    (e: unknown) =>
      isBurrowError(e) && /publicUrl/.test(e.message) && /admin-token/.test(e.message) && /tunnelPort/.test(e.message),
  );
  assert.deepEqual(readdirSync(dir), []);
});

test('config-error-creates-nothing: a SQLite file that cannot be opened leaves no folder behind', async (t) => {
  const dir = tempDir(t);
  // the folder can be made, the file cannot (a name longer than any file system allows)
  const db = `sqlite:${join(dir, 'new', 'deeper', `${'x'.repeat(300)}.db`)}`;
  await assert.rejects(
    composeServer({ db, logLevel: 'silent', processMetrics: false }),
    (e: unknown) => isBurrowError(e) && e.code === 'BURROW_ERR_STORE',
  );
  assert.deepEqual(readdirSync(dir), []);
});

test('config-error-creates-nothing: a valid start still creates ./data/burrow.db', async (t) => {
  const cwd = tempDir(t);
  const cli = runDistCli(['server', '--port', '0', '--address', '127.0.0.1'], { cwd });
  t.after(() => cli.child.kill('SIGKILL'));
  await cli.waitFor(/data: +\S*burrow\.db/);
  assert.ok(existsSync(join(cwd, 'data', 'burrow.db')));
  cli.child.kill('SIGTERM');
  assert.equal(await cli.exited, 0, cli.output());
});
