/**
 * Every command with the bad inputs a newcomer meets (issue 15): server down, the wrong kind of
 * server, TLS to a plain server, a bad token, an unknown name, a name taken, a missing file, a
 * directory, a port in use, a bad value in a variable, a closed stdout. Each run must end within its
 * bound, with no stack frame and no `Unhandled`, the three lines error/fix/code, and the documented
 * exit status (1 for a failure, 2 for a usage or configuration error, 0 for a closed stdout).
 * The pipe commands have their own walk (test/compat/pipe/).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/net.js';
import { waitUntil } from '../helpers/wait.js';
import { assertCleanFailure, NOT_BUILT, runCli, startCli, type Running } from './dist.js';

const ADMIN = 'admin-token-for-the-walk-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'burrow-walk-'));
let server: Running;
let serverUrl = '';
let authServer: Running;
let authUrl = '';
let plain: Server;
let plainUrl = '';
let busy: NetServer;
let busyPort = 0;
let echoPort = 0;
let echo: NetServer;

async function startServer(extra: string[]): Promise<{ run: Running; url: string }> {
  const port = await freePort();
  const run = startCli(['server', '--port', String(port), '--address', '127.0.0.1', '--log-level', 'warn', ...extra], {
    boundMs: 120_000,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(
    () =>
      fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      ),
    { timeoutMs: 20_000, what: 'burrow server to answer /healthz' },
  );
  return { run, url };
}

void describe('the bad-input walk', { skip: NOT_BUILT }, () => {
  before(async () => {
    echo = createNetServer((s) => s.end('hello\n')).listen(0, '127.0.0.1');
    await new Promise((r) => echo.once('listening', r));
    echoPort = (echo.address() as { port: number }).port;
    const [a, b] = await Promise.all([
      startServer([
        '--db',
        `sqlite:${join(dir, 'a.db')}`,
        '--admin-token',
        ADMIN,
        '--tcp-target',
        `echo=127.0.0.1:${echoPort}`,
      ]),
      startServer(['--db', 'sqlite::memory:', '--auth', 'token']),
    ]);
    ({ run: server, url: serverUrl } = a);
    ({ run: authServer, url: authUrl } = b);
    plain = createHttpServer((_req, res) => res.end('<h1>not burrow</h1>')).listen(0, '127.0.0.1');
    await new Promise((r) => plain.once('listening', r));
    plainUrl = `127.0.0.1:${(plain.address() as { port: number }).port}`;
    busy = createNetServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    busyPort = (busy.address() as { port: number }).port;
  });
  after(() => {
    server?.child.kill('SIGTERM');
    authServer?.child.kill('SIGTERM');
    plain?.close();
    busy?.close();
    echo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  void it('http: server down → `connecting to`, each attempt, then exit 1 after --connect-timeout', async () => {
    const down = await freePort();
    const r = await runCli(['http', '3000', '--server', `127.0.0.1:${down}`, '--connect-timeout', '1s']);
    assertCleanFailure(r, 1, /BURROW_ERR_SERVER_UNREACHABLE/, 'server down');
    assert.match(r.stdout, /^connecting to http:\/\/127\.0\.0\.1:\d+ …$/m);
    assert.match(r.stdout, /attempt 1 failed: .*nothing listens/);
    assert.match(r.stderr, /fix: Start the burrow server/);
    assert.ok(r.ms < 6_000, `took ${r.ms} ms`);
  });

  void it('http --protocol localtunnel: server down → exit 1 after --connect-timeout', async () => {
    const down = await freePort();
    const r = await runCli([
      'http',
      '3000',
      '--protocol',
      'localtunnel',
      '--server',
      `127.0.0.1:${down}`,
      '--connect-timeout',
      '500ms',
    ]);
    assertCleanFailure(r, 1, /BURROW_ERR_SERVER_UNREACHABLE/, 'localtunnel server down');
  });

  void it('tcp: server down → exit 1 after --connect-timeout', async () => {
    const down = await freePort();
    const r = await runCli(['tcp', '22', '--server', `127.0.0.1:${down}`, '--connect-timeout', '500ms']);
    assertCleanFailure(r, 1, /BURROW_ERR_SERVER_UNREACHABLE/, 'tcp server down');
  });

  void it('http: a server that is not burrow → exit 1 at once, saying so', async () => {
    const r = await runCli(['http', '3000', '--server', plainUrl, '--connect-timeout', '0']);
    assertCleanFailure(r, 1, /BURROW_ERR_SERVER_UNREACHABLE/, 'not burrow');
    assert.match(r.stderr, /not a burrow server/);
  });

  void it('http: https:// to a plain server → the fix says to use http://', async () => {
    const r = await runCli(['http', '3000', '--server', `https://${plainUrl}`, '--connect-timeout', '700ms']);
    assertCleanFailure(r, 1, /BURROW_ERR_SERVER_UNREACHABLE/, 'tls to plain');
    assert.match(r.stderr, /fix: .*http:\/\//);
  });

  void it('http: no token on a server that requires one; a bad token', async () => {
    const none = await runCli(['http', '3000', '--server', authUrl], { env: { BURROW_TOKEN: undefined } });
    assertCleanFailure(none, 1, /BURROW_ERR_UNAUTHORIZED/, 'no token');
    assert.match(none.stderr, /fix: This server requires a token/);
    const bad = await runCli(['http', '3000', '--server', authUrl, '--token', 'brw_nonsense']);
    assertCleanFailure(bad, 1, /BURROW_ERR_UNAUTHORIZED/, 'bad token');
    assert.match(bad.stderr, /fix: The server does not know this token/);
  });

  void it('http 70000, an unknown flag, a bad variable: usage errors, exit 2', async () => {
    const port = await runCli(['http', '70000']);
    assertCleanFailure(port, 2, /BURROW_ERR_INVALID_CONFIG/, 'port 70000');
    assert.doesNotMatch(port.stderr, /Read the message/);
    assertCleanFailure(await runCli(['http', '3000', '--bogus']), 2, /BURROW_ERR_INVALID_CONFIG/, 'unknown flag');
    assertCleanFailure(await runCli(['http']), 2, /BURROW_ERR_INVALID_CONFIG/, 'no target');
    const env = await runCli(['server'], { env: { PORT: 'eighty', BURROW_PORT: undefined } });
    assertCleanFailure(env, 2, /BURROW_ERR_INVALID_CONFIG/, 'PORT=eighty');
    assert.match(env.stderr, /PORT="eighty"/);
  });

  void it('tcp --remote-port on a server without --tcp-ports: the fix names --tcp-ports, not a token', async () => {
    const r = await runCli(['tcp', '5432', '--server', serverUrl, '--remote-port', '20001']);
    assertCleanFailure(r, 1, /BURROW_ERR_FORBIDDEN/, 'no tcp ports');
    assert.match(r.stderr, /fix: .*--tcp-ports/);
    assert.doesNotMatch(r.stderr, /token is valid/);
  });

  void it('a taken name: tcp says --name, http says --subdomain', async () => {
    const holder = startCli(['tcp', '22', '--server', serverUrl, '--name', 'walk-taken', '--no-public-port']);
    try {
      await waitUntil(() => holder.stdout().includes('Forwarding'), {
        timeoutMs: 10_000,
        what: 'the first tcp tunnel',
      });
      const tcp = await runCli(['tcp', '22', '--server', serverUrl, '--name', 'walk-taken', '--no-public-port']);
      assertCleanFailure(tcp, 1, /BURROW_ERR_NAME_TAKEN/, 'tcp name taken');
      assert.match(tcp.stderr, /fix: Choose another --name/);
      const http = await runCli(['http', '3000', '--server', serverUrl, '--subdomain', 'walk-taken']);
      assertCleanFailure(http, 1, /BURROW_ERR_NAME_TAKEN/, 'http name taken');
      assert.match(http.stderr, /fix: Choose another --subdomain/);
    } finally {
      holder.child.kill('SIGTERM');
      await holder.ended;
    }
  });

  void it('connect: an unknown name, a missing or bad token fail before listening', async () => {
    const ws = serverUrl.replace('http:', 'ws:');
    const unknown = await runCli(['connect', `${ws}/tcp/nobody-here`]);
    assertCleanFailure(unknown, 1, /BURROW_ERR_TCP_TARGET_NOT_FOUND/, 'unknown name');
    assert.doesNotMatch(unknown.stdout, /Listening/);
    const holder = startCli(['tcp', String(echoPort), '--server', serverUrl, '--no-public-port', '--json']);
    try {
      await waitUntil(() => holder.stdout().includes('"ready"'), { timeoutMs: 10_000, what: 'a tcp tunnel' });
      const wsUrl = (
        JSON.parse(
          holder
            .stdout()
            .split('\n')
            .find((l) => l.includes('"ready"'))!,
        ) as { wsUrl: string }
      ).wsUrl;
      const noToken = await runCli(['connect', wsUrl], { env: { BURROW_TOKEN: undefined } });
      assertCleanFailure(noToken, 1, /BURROW_ERR_UNAUTHORIZED/, 'no token');
      assert.doesNotMatch(noToken.stdout, /Listening/);
      const badToken = await runCli(['connect', wsUrl, '--token', 'wrong']);
      assertCleanFailure(badToken, 1, /BURROW_ERR_FORBIDDEN/, 'bad token');
      assert.doesNotMatch(badToken.stdout, /Listening/);
    } finally {
      holder.child.kill('SIGTERM');
      await holder.ended;
    }
  });

  void it('connect --local-port in use; server --port in use: exit 2, naming the port', async () => {
    const ws = serverUrl.replace('http:', 'ws:');
    const c = await runCli(['connect', `${ws}/tcp/echo`, '--local-port', String(busyPort)]);
    assertCleanFailure(c, 2, /BURROW_ERR_INVALID_CONFIG/, 'connect port in use');
    assert.match(c.stderr, new RegExp(`${busyPort}.*in use`));
    const s = await runCli(['server', '--port', String(busyPort), '--address', '127.0.0.1', '--db', 'sqlite::memory:']);
    assertCleanFailure(s, 2, /BURROW_ERR_INVALID_CONFIG/, 'server port in use');
    assert.match(s.stderr, /fix: .*--port.*BURROW_PORT.*PORT/);
  });

  void it('a missing file and a directory where a file belongs: exit 2', async () => {
    const missing = await runCli(['server', '--tls-cert', join(dir, 'nope.pem'), '--tls-key', join(dir, 'nope.key')]);
    assertCleanFailure(missing, 2, /BURROW_ERR_INVALID_CONFIG/, 'missing file');
    assert.match(missing.stderr, /nope\.pem/);
    const folder = await runCli(['server', '--tls-cert', dir, '--tls-key', dir]);
    assertCleanFailure(folder, 2, /BURROW_ERR_INVALID_CONFIG/, 'a directory');
    const ca = await runCli(['connect', 'ws://127.0.0.1:1/tcp/x', '--ca', dir]);
    assertCleanFailure(ca, 2, /BURROW_ERR_INVALID_CONFIG/, 'connect --ca folder');
  });

  void it('admin: no database here, a wrong admin token', async () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    const list = await runCli(['token', 'list'], { cwd: empty, env: { BURROW_DB: undefined } });
    assertCleanFailure(list, 1, /BURROW_ERR_STORE/, 'no database');
    assert.match(list.stderr, /--db/);
    assert.equal(existsSync(join(empty, 'data')), false, 'no database was created');
    const admin = await runCli(['token', 'list', '--server', serverUrl, '--admin-token', 'x'.repeat(20)]);
    assertCleanFailure(admin, 1, /BURROW_ERR_UNAUTHORIZED/, 'wrong admin token');
    assert.match(admin.stderr, /fix: .*--admin-token/);
    assert.doesNotMatch(admin.stderr, /--token or BURROW_TOKEN/);
  });

  void it('a closed stdout is a normal end: exit 0, quiet', async () => {
    const run = startCli(['http', '3000', '--server', serverUrl, '--json']);
    run.child.stdout!.destroy(); // as `| head -c 0` does
    const r = await run.ended;
    assert.equal(r.signal, null, 'not killed at its bound');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
  });
});
