/**
 * `burrow server --acme …`: the flags and their env vars reach ServerOptions.acme; a bad ACME
 * configuration stops the start with every problem named, before the database or the ACME folder exist.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverOptionsFromFlags } from '../../../src/cli/commands/server.js';
import { runCli } from '../../helpers/cli.js';

void test('flags become ServerOptions.acme; ACME flags without --acme are a usage error', () => {
  const o = serverOptionsFromFlags({
    acme: true,
    acmeEmail: 'ops@example.com',
    acmeStaging: true,
    acmeDir: '/var/lib/burrow/acme',
    httpPort: 8081,
  });
  assert.deepEqual(o.acme, { email: 'ops@example.com', staging: true, dir: '/var/lib/burrow/acme', httpPort: 8081 });
  assert.throws(() => serverOptionsFromFlags({ httpPort: 8081 }), /need --acme/);
  assert.throws(() => serverOptionsFromFlags({ acmeEmail: 'ops@example.com' }), /need --acme/);
});

void test('BURROW_ACME=1 without an e-mail and with a bad directory: one error naming both, nothing created', async (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-acme-flags-'));
  ctx.after(() => rmSync(dir, { recursive: true, force: true }));
  const cli = runCli(['server', '--port', '0', '--db', `sqlite:${join(dir, 'b.db')}`], {
    BURROW_ACME: '1',
    BURROW_ACME_DIRECTORY: 'http://ca.example/dir',
    BURROW_ACME_DIR: join(dir, 'acme'),
  });
  assert.equal(await cli.exited, 2);
  assert.match(cli.stderr(), /--acme needs --acme-email/);
  assert.match(cli.stderr(), /--acme-directory must be an https:\/\/ URL/);
  assert.equal(existsSync(join(dir, 'b.db')), false);
  assert.equal(existsSync(join(dir, 'acme')), false);
});
