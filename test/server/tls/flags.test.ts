/**
 * `burrow server --acme …`: the flags and their env vars reach ServerOptions.acme; a bad ACME
 * configuration stops the start with every problem named, before the database or the ACME folder exist.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverOptionsFromFlags } from '../../../src/cli/commands/server.js';
import { runCli } from '../../helpers/cli.js';
import { freePort } from '../../helpers/net.js';
import { selfSignedCert } from '../../helpers/tls.js';
import { createServer } from '../../../src/server/server.js';

void test('flags become ServerOptions.acme; ACME flags without --acme are a usage error', () => {
  const o = serverOptionsFromFlags({
    acme: true,
    acmeEmail: 'ops@example.com',
    acmeStaging: true,
    acmeDir: '/var/lib/burrow/acme',
    httpPort: 8081,
  });
  assert.deepEqual(o.acme, { email: 'ops@example.com', staging: true, dir: '/var/lib/burrow/acme', httpPort: 8081 });
  assert.throws(() => serverOptionsFromFlags({ httpPort: 8081 }), /needs --acme or --tls-cert/);
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

void test('with certificate files, --http-port serves plain HTTP that redirects to HTTPS (308)', async (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-tls-http-port-'));
  ctx.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = selfSignedCert(dir, 'localhost');
  const o = serverOptionsFromFlags({ tlsCert: files.cert, tlsKey: files.key, httpPort: 8081 });
  assert.equal(o.tls?.httpPort, 8081);
  const plainPort = await freePort();
  const server = createServer({
    port: 0,
    address: '127.0.0.1',
    domains: ['tls.test'],
    logLevel: 'silent',
    processMetrics: false,
    tls: { cert: readFileSync(files.cert), key: readFileSync(files.key), httpPort: plainPort },
  });
  ctx.after(() => server.close());
  const { port } = await server.listen();
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: plainPort, path: '/a/b?c=1', headers: { Host: 'app.tls.test' } }, (r) => {
        r.resume();
        resolve(r);
      })
      .on('error', reject);
  });
  assert.equal(res.statusCode, 308);
  assert.equal(res.headers.location, `https://app.tls.test:${port}/a/b?c=1`);
});
