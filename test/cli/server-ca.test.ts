/**
 * Clients of a server whose certificate comes from a private CA (issue 18): `burrow http`, `burrow tcp`
 * and `burrow pipe send/receive` trust it with `--ca FILE` (or BURROW_CA), `--insecure` skips the check
 * with a warning, and without either the first attempt fails at once with
 * BURROW_ERR_SERVER_CERT_UNTRUSTED and a fix naming --ca (no 30 s of retries). The SDK takes the same
 * as `tls: { ca }`. The admin commands (`burrow token … --server`) take the same two flags. The server is
 * the real `burrow server --tls-cert` (dist).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openTunnel } from '../../src/client/burrow/open-tunnel.js';
import { freePort } from '../helpers/net.js';
import { selfSignedCert } from '../helpers/tls.js';
import { waitUntil } from '../helpers/wait.js';
import { assertCleanFailure, NOT_BUILT, runCli, startCli, type Running } from './dist.js';

const dir = mkdtempSync(join(tmpdir(), 'burrow-server-ca-'));
const ADMIN = 'admin-token-for-the-ca-test';
let server: Running;
let url = '';
let ca = '';
let origin: http.Server;
let originPort = 0;

/** GET through the TLS server for `host`, trusting the private CA. */
function get(host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(
        {
          host: '127.0.0.1',
          port: new URL(url).port,
          path,
          headers: { Host: host },
          servername: 'localhost',
          ca: readFileSync(ca),
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      )
      .on('error', reject);
  });
}

void describe('clients trust a private CA with --ca (or skip with --insecure)', { skip: NOT_BUILT }, () => {
  before(async () => {
    const files = selfSignedCert(dir, 'localhost', ['DNS:localhost', 'IP:127.0.0.1']);
    ca = files.cert;
    origin = http.createServer((req, res) => res.end(`origin ${req.url}`)).listen(0, '127.0.0.1');
    await once(origin, 'listening');
    originPort = (origin.address() as net.AddressInfo).port;
    const port = await freePort();
    server = startCli(
      [
        'server',
        '--port',
        String(port),
        '--address',
        '127.0.0.1',
        '--domain',
        'localhost',
        '--tls-cert',
        files.cert,
        '--tls-key',
        files.key,
        '--log-level',
        'warn',
        '--db',
        `sqlite:${join(dir, 'b.db')}`,
        '--admin-token',
        ADMIN,
      ],
      { boundMs: 120_000 },
    );
    url = `https://127.0.0.1:${port}`;
    await waitUntil(
      () =>
        get('localhost', '/healthz').then(
          (r) => r.status === 200,
          () => false,
        ),
      {
        timeoutMs: 20_000,
        what: 'the TLS server to answer',
      },
    );
  });
  after(async () => {
    server.child.kill('SIGTERM');
    await server.ended;
    origin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('without --ca: the first attempt fails at once, naming the certificate and --ca', async () => {
    const r = await runCli(['http', String(originPort), '--server', url, '--no-inspect'], { boundMs: 20_000 });
    assertCleanFailure(r, 1, /BURROW_ERR_SERVER_CERT_UNTRUSTED/);
    assert.match(r.stderr, /^fix: .*--ca FILE/m);
    assert.ok(r.ms < 10_000, `gave up after ${Math.round(r.ms)} ms, not after the connect timeout`);
  });

  it('burrow http --ca: the tunnel opens and serves; BURROW_CA does the same', async () => {
    for (const how of ['flag', 'env'] as const) {
      const name = `ca-${how}`;
      const run = startCli(
        [
          'http',
          String(originPort),
          '--server',
          url,
          '--subdomain',
          name,
          '--json',
          '--no-inspect',
          ...(how === 'flag' ? ['--ca', ca] : []),
        ],
        { env: how === 'env' ? { BURROW_CA: ca } : {}, boundMs: 30_000 },
      );
      try {
        await waitUntil(() => run.stdout().includes('"event":"ready"'), { timeoutMs: 15_000, what: `${how}: ready` });
        const r = await get(`${name}.localhost`, '/hello');
        assert.deepEqual(r, { status: 200, body: 'origin /hello' });
      } finally {
        run.child.kill('SIGTERM');
        assert.equal((await run.ended).code, 0);
      }
    }
  });

  it('burrow http --insecure works and warns on stderr; a bad --ca file is a usage error', async () => {
    const run = startCli(
      ['http', String(originPort), '--server', url, '--subdomain', 'insecure', '--no-inspect', '--insecure'],
      {
        boundMs: 30_000,
      },
    );
    try {
      await waitUntil(() => run.stdout().includes('Forwarding'), { timeoutMs: 15_000, what: 'ready' });
      assert.match(run.stderr(), /warning: --insecure: the server's TLS certificate is not verified/);
      assert.equal((await get('insecure.localhost', '/x')).status, 200);
    } finally {
      run.child.kill('SIGTERM');
      await run.ended;
    }
    const missing = await runCli(['http', '3000', '--server', url, '--ca', join(dir, 'nope.pem')]);
    assertCleanFailure(missing, 2);
    assert.match(missing.stderr, /cannot read the CA file .*nope\.pem \(--ca \/ BURROW_CA\): no such file/);
    writeFileSync(join(dir, 'key-not-cert.pem'), readFileSync(join(dir, 'key.pem')));
    const wrong = await runCli(['tcp', '22', '--server', url, '--ca', join(dir, 'key-not-cert.pem')]);
    assertCleanFailure(wrong, 2);
    assert.match(wrong.stderr, /holds no PEM certificate/);
  });

  it('burrow tcp --ca: the TCP tunnel opens through the TLS server', async () => {
    const echo = net.createServer((s) => s.pipe(s)).listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const run = startCli(
      [
        'tcp',
        String((echo.address() as net.AddressInfo).port),
        '--server',
        url,
        '--ca',
        ca,
        '--json',
        '--no-public-port',
      ],
      { boundMs: 30_000 },
    );
    try {
      await waitUntil(() => run.stdout().includes('"event":"ready"'), { timeoutMs: 15_000, what: 'tcp ready' });
      const ready = JSON.parse(
        run
          .stdout()
          .split('\n')
          .find((l) => l.includes('"ready"'))!,
      ) as { wsUrl: string };
      assert.match(ready.wsUrl, /^wss:\/\//);
    } finally {
      run.child.kill('SIGTERM');
      await run.ended;
      echo.close();
    }
  });

  it('burrow pipe send | receive --ca over https; without --ca a clear certificate error', async () => {
    const file = join(dir, 'payload.bin');
    writeFileSync(file, Buffer.alloc(200_000, 7));
    const recv = runCli(['pipe', 'receive', 'ca-path', '--server', url, '--ca', ca, '--output', join(dir, 'got.bin')], {
      boundMs: 30_000,
    });
    const send = await runCli(['pipe', 'send', 'ca-path', file, '--server', url, '--ca', ca], { boundMs: 30_000 });
    const got = await recv;
    assert.equal(send.code, 0, send.stderr);
    assert.equal(got.code, 0, got.stderr);
    assert.ok(readFileSync(join(dir, 'got.bin')).equals(readFileSync(file)));
    const bad = await runCli(['pipe', 'health', '--server', url], { boundMs: 20_000 });
    assertCleanFailure(bad, 1, /BURROW_ERR_SERVER_CERT_UNTRUSTED/);
  });

  it("burrow start --ca: the file's tunnels open over one connection to the TLS server", async () => {
    const file = join(dir, 'burrow.yml');
    writeFileSync(
      file,
      `server: ${url}\ntunnels:\n  web: { http: ${originPort}, subdomain: start-ca, inspect: false }\n`,
    );
    const run = startCli(['start', '--config', file, '--ca', ca, '--json'], { boundMs: 30_000 });
    try {
      await waitUntil(() => run.stdout().includes('"event":"ready"'), { timeoutMs: 15_000, what: 'start ready' });
      assert.deepEqual(await get('start-ca.localhost', '/s'), { status: 200, body: 'origin /s' });
    } finally {
      run.child.kill('SIGTERM');
      assert.equal((await run.ended).code, 0);
    }
  });

  it('the SDK: openTunnel({ tls: { ca } })', async () => {
    const t = await openTunnel({
      port: originPort,
      localHost: '127.0.0.1',
      server: url,
      subdomain: 'sdk-ca',
      tls: { ca: readFileSync(ca) },
      reconnect: false,
    });
    try {
      assert.deepEqual(await get('sdk-ca.localhost', '/sdk'), { status: 200, body: 'origin /sdk' });
    } finally {
      t.close();
      await t.whenClosed();
    }
  });

  it('burrow token --server https://… --ca: the admin API through the private CA; without it the certificate error', async () => {
    const admin = ['--server', url, '--admin-token', ADMIN, '--json'];
    const bare = await runCli(['token', 'list', ...admin]);
    assertCleanFailure(bare, 1, /BURROW_ERR_SERVER_CERT_UNTRUSTED/);
    assert.match(bare.stderr, /^fix: .*--ca FILE/m);

    const created = await runCli(['token', 'create', '--label', 'via-ca', ...admin, '--ca', ca]);
    assert.equal(created.code, 0, created.stderr);
    const { token } = JSON.parse(created.stdout) as { token: { id: string; label: string } };
    assert.equal(token.label, 'via-ca');
    const listed = await runCli(['token', 'list', ...admin], { env: { BURROW_CA: ca } });
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(
      (JSON.parse(listed.stdout) as { id: string }[]).some((t) => t.id === token.id),
      'BURROW_CA: the new token listed',
    );

    const insecure = await runCli(['token', 'revoke', token.id, ...admin, '--insecure']);
    assert.equal(insecure.code, 0, insecure.stderr);
    assert.match(insecure.stderr, /warning: --insecure: the server's TLS certificate is not verified/);
  });
});
