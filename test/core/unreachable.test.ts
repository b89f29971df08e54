/**
 * serverUnreachable (src/core/unreachable.ts): the one mapping from a connection error to what the
 * agent, the pipe client, the admin commands and `burrow connect` tell the user. Real sockets where
 * the machine has them: a closed port, a plain HTTP server spoken TLS to, a self-signed certificate.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { BurrowError } from '../../src/core/errors.js';
import { serverUnreachable } from '../../src/core/unreachable.js';
import { freePort } from '../helpers/net.js';
import { selfSignedCert } from '../helpers/tls.js';

/** The error a GET to `url` fails with. */
function errorOf(url: string, options: https.RequestOptions = {}): Promise<Error> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? https : http).get(url, options, () => reject(new Error('answered')));
    req.on('error', resolve);
  });
}

void test('a closed port: nothing listens there, and the fix names the setting', async () => {
  const port = await freePort();
  const e = serverUnreachable(
    `ws://127.0.0.1:${port}/api/v1/agent`,
    await errorOf(`http://127.0.0.1:${port}/`),
    '--server',
  );
  assert.equal(e.code, 'BURROW_ERR_SERVER_UNREACHABLE');
  assert.match(e.message, new RegExp(`nothing listens at 127\\.0\\.0\\.1:${port}`));
  assert.match(e.fix, /burrow server.*--server/);
  const connect = serverUnreachable(
    new URL(`ws://127.0.0.1:${port}/tcp/x`),
    { code: 'ECONNREFUSED', message: 'x' },
    'the URL',
  );
  assert.match(connect.fix, /point the URL at a running one/);
});

void test('TLS spoken to a plain HTTP server: says so, and to use http:// or ws://', async () => {
  const plain = http.createServer((_q, s) => s.end('plain')).listen(0, '127.0.0.1');
  await once(plain, 'listening');
  try {
    const { port } = plain.address() as AddressInfo;
    const e = serverUnreachable(`https://127.0.0.1:${port}`, await errorOf(`https://127.0.0.1:${port}/`));
    assert.equal(e.code, 'BURROW_ERR_SERVER_UNREACHABLE');
    assert.match(e.message, /does not speak TLS/);
    assert.match(e.fix, /use http:\/\/ or ws:\/\//);
  } finally {
    plain.close();
  }
});

void test('an untrusted certificate is its own code, whose fix names --ca', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-unreachable-'));
  const files = selfSignedCert(dir, 'localhost', ['IP:127.0.0.1']);
  const tls = https
    .createServer({ key: readFileSync(files.key), cert: readFileSync(files.cert) }, (_q, s) => s.end('tls'))
    .listen(0, '127.0.0.1');
  await once(tls, 'listening');
  try {
    const { port } = tls.address() as AddressInfo;
    const e = serverUnreachable(`https://127.0.0.1:${port}`, await errorOf(`https://127.0.0.1:${port}/`));
    assert.equal(e.code, 'BURROW_ERR_SERVER_CERT_UNTRUSTED');
    assert.match(e.fix, /--ca/);
  } finally {
    tls.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a name that does not resolve, a timeout, anything else, and a BurrowError as it is', () => {
  const dns = serverUnreachable('https://nowhere.invalid', { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND' });
  assert.match(dns.message, /the host name nowhere\.invalid does not resolve/);
  assert.match(dns.fix, /host name in --server/);
  const slow = serverUnreachable('wss://a.example:8443', { code: 'ETIMEDOUT', message: 'connect ETIMEDOUT' });
  assert.match(slow.message, /a\.example:8443 did not answer in time/);
  const other = serverUnreachable('http://a.example', { code: 'ECONNRESET', message: 'socket hang up' });
  assert.equal(other.code, 'BURROW_ERR_SERVER_UNREACHABLE');
  assert.match(other.message, /http:\/\/a\.example: socket hang up/);
  const own = new BurrowError('BURROW_ERR_TIMEOUT');
  assert.equal(serverUnreachable('http://a.example', own), own);
});
