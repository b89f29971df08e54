/** The ACME directory: certificates and the account key round-trip; private keys are 0600 in a 0700 folder. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateDirectory } from '../../../src/server/tls/store.js';

void test('certificates and the account key round-trip, keys readable by the owner only', async (ctx) => {
  const root = mkdtempSync(join(tmpdir(), 'burrow-acme-store-'));
  ctx.after(() => rmSync(root, { recursive: true, force: true }));
  const d = new CertificateDirectory(join(root, 'acme'));
  assert.deepEqual(await d.list(), []);
  assert.equal(await d.readAccountKey(), undefined);
  await d.writeAccountKey('ACCOUNT KEY');
  await d.write({ name: 'a.example.com', cert: 'CERT', key: 'KEY' });
  assert.equal(await d.readAccountKey(), 'ACCOUNT KEY');
  assert.deepEqual(await d.list(), [{ name: 'a.example.com', cert: 'CERT', key: 'KEY' }]);
  assert.equal(statSync(join(root, 'acme', 'account.key')).mode & 0o777, 0o600);
  assert.equal(statSync(join(root, 'acme', 'certificates', 'a.example.com.key')).mode & 0o777, 0o600);
  assert.equal(statSync(join(root, 'acme', 'certificates')).mode & 0o777, 0o700);
});

void test('a name that is not a host name never becomes a path', async () => {
  const d = new CertificateDirectory(join(tmpdir(), 'unused'));
  await assert.rejects(d.read('../etc/passwd'));
  await assert.rejects(d.write({ name: 'a/b', cert: '', key: '' }));
});
