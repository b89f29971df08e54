/** Automatic TLS configuration: defaults, and every problem named by its flag before anything opens. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { resolveServerConfig } from '../../../src/server/config.js';
import { isBurrowError } from '../../../src/core/errors.js';
import {
  DEFAULT_ACME_DIR,
  DEFAULT_ACME_HTTP_PORT,
  LETS_ENCRYPT_PRODUCTION,
  LETS_ENCRYPT_STAGING,
} from '../../../src/server/tls/limits.js';

function problems(options: Parameters<typeof resolveServerConfig>[0]): string {
  try {
    resolveServerConfig(options);
  } catch (err) {
    assert.ok(isBurrowError(err) && err.code === 'BURROW_ERR_INVALID_CONFIG');
    return err.message;
  }
  assert.fail('expected BURROW_ERR_INVALID_CONFIG');
}

void test('defaults: Let’s Encrypt production, ./data/acme, port 80, and tunnel URLs say https', () => {
  const c = resolveServerConfig({ acme: { email: 'ops@example.com' } });
  assert.equal(c.acme?.directoryUrl, LETS_ENCRYPT_PRODUCTION);
  assert.equal(c.acme?.dir, DEFAULT_ACME_DIR);
  assert.equal(c.acme?.httpPort, DEFAULT_ACME_HTTP_PORT);
  assert.equal(c.secure, true);
  assert.equal(
    resolveServerConfig({ acme: { email: 'ops@example.com', staging: true } }).acme?.directoryUrl,
    LETS_ENCRYPT_STAGING,
  );
  assert.equal(resolveServerConfig({}).acme, undefined);
});

void test('every problem at once, each naming its flag', () => {
  const m = problems({
    acme: { email: 'nope', directoryUrl: 'http://ca.example/dir', staging: true, httpPort: 70000 },
    tls: { cert: 'c', key: 'k' },
  });
  assert.match(m, /--acme needs --acme-email/);
  assert.match(m, /--acme-directory and --acme-staging exclude each other/);
  assert.match(m, /--acme-directory must be an https:\/\/ URL/);
  assert.match(m, /--http-port must be an integer from 0 to 65535/);
  assert.match(m, /--acme and --tls-cert\/--tls-key exclude each other/);
  assert.match(
    problems({ acme: { email: 'a@b.co', directoryUrl: 'not a url' } }),
    /--acme-directory "not a url" is not a URL/,
  );
});
