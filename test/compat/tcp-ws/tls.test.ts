/**
 * TCP over wss://: burrow's server serving TLS itself (tls: {cert, key}, as --tls-cert/--tls-key) with
 * a self-signed certificate made here with openssl, and burrow's client trusting it — in-process
 * with startTcpTunnel's `tls` option (both modes, including a singleton resume over TLS), and
 * `burrow connect --ca` / `--insecure` (and BURROW_CA / BURROW_INSECURE) as child processes.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { PassThrough } from 'node:stream';
import { createServer } from '../../../src/app/server.js';
import { createTcpWsAdapter } from '../../../src/adapters/tcp-ws/index.js';
import { createLogger, silentLogger } from '../../../src/core/logger.js';
import { startTcpTunnel, type TunnelConnectionState } from '../../../src/client/tcp-ws/tcp-tunnel.js';
import { runConnect } from '../../../src/cli/commands/connect.js';
import { dial, echo, readBytes, startTarget } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';
import { cliArgs } from '../../helpers/cli.js';

const TOKEN = 'tls-token';
const SELF_SIGNED = /self[- ]signed certificate/;

interface SelfSigned {
  dir: string;
  certPath: string;
  keyPath: string;
  cert: Buffer;
  key: Buffer;
}

/** A self-signed certificate for localhost and 127.0.0.1, or undefined when openssl is not installed. */
function selfSigned(): SelfSigned | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-tls-'));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return { dir, certPath, keyPath, cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

/**
 * burrow's server on wss:// with the limrun adapter and an echo target. `upgraded` holds the
 * server side of every accepted upgrade (TLS sockets), to kill a WebSocket mid-stream.
 */
async function setup(t: TestContext) {
  const tls = selfSigned();
  if (!tls) return undefined;
  const target = await startTarget(echo);
  const server = createServer({
    domains: ['localhost'],
    tls: { cert: tls.cert, key: tls.key },
    logger: silentLogger(),
    processMetrics: false,
  });
  const adapter = createTcpWsAdapter({
    targets: [{ name: 'dev', host: '127.0.0.1', port: target.port, token: TOKEN }],
  });
  const upgraded = new Set<Duplex>();
  server.use({
    name: adapter.name,
    start: (ctx) => adapter.start?.(ctx),
    handleRequest: (req, res, url) => adapter.handleRequest?.(req, res, url) ?? false,
    handleUpgrade: (req, socket, head, url) => {
      if (adapter.handleUpgrade?.(req, socket, head, url) !== true) return false;
      upgraded.add(socket);
      socket.once('close', () => upgraded.delete(socket));
      return true;
    },
    close: async () => adapter.close?.(),
    stats: () => adapter.stats(),
  });
  const addr = await server.listen(0, '127.0.0.1');
  t.after(async () => {
    await server.close();
    await target.close();
    rmSync(tls.dir, { recursive: true, force: true });
  });
  return {
    tls,
    adapter,
    target,
    upgraded,
    url: `wss://127.0.0.1:${addr.port}/tcp/dev`,
    hostUrl: `wss://localhost:${addr.port}/tcp/dev`,
  };
}

async function echoes(port: number, text: string): Promise<void> {
  const sock = await dial(port);
  try {
    sock.write(text);
    assert.equal((await readBytes(sock, text.length)).toString(), text);
  } finally {
    sock.destroy();
  }
}

void test('wss:// multiplexed: startTcpTunnel with tls.ca (or rejectUnauthorized: false) echoes; an untrusted certificate is refused', async (t) => {
  const s = await setup(t);
  if (!s) return t.skip('openssl is not installed');

  for (const url of [s.url, s.hostUrl]) {
    const tunnel = await startTcpTunnel(url, TOKEN, '127.0.0.1', 0, {
      mode: 'multiplexed',
      logLevel: 'none',
      tls: { ca: s.tls.cert },
    });
    t.after(() => tunnel.close());
    await echoes(tunnel.address.port, `over ${url}`);
    assert.equal(tunnel.stats().flowControl, true, 'flow control is negotiated over TLS too');
    tunnel.close();
  }

  const insecure = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, {
    mode: 'multiplexed',
    logLevel: 'none',
    tls: { rejectUnauthorized: false },
  });
  t.after(() => insecure.close());
  await echoes(insecure.address.port, 'no verification');
  insecure.close();

  await assert.rejects(
    startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { mode: 'multiplexed', logLevel: 'none', maxReconnectAttempts: 0 }),
    SELF_SIGNED,
  );
  assert.equal(s.adapter.stats().tcpMuxSocketsTotal, 3, 'the untrusted attempt never reached the adapter');
});

void test('wss:// singleton: tls.ca echoes, and a WebSocket killed mid-stream resumes on the same target connection', async (t) => {
  const s = await setup(t);
  if (!s) return t.skip('openssl is not installed');
  const tunnel = await startTcpTunnel(s.hostUrl, TOKEN, '127.0.0.1', 0, {
    logLevel: 'none',
    reconnectDelay: 20,
    tls: { ca: s.tls.cert },
  });
  t.after(() => tunnel.close());
  const seen: TunnelConnectionState[] = [];
  tunnel.onConnectionStateChange((state) => seen.push(state));
  const sock = await dial(tunnel.address.port);
  t.after(() => sock.destroy());

  sock.write('before the kill');
  assert.equal((await readBytes(sock, 15)).toString(), 'before the kill');
  assert.equal(s.upgraded.size, 1);
  for (const raw of s.upgraded) raw.destroy(); // the server's TLS socket: no close handshake
  await waitUntil(() => s.adapter.stats().tcpDetachedSessions === 1 && seen.includes('reconnecting'));

  // Written while the WebSocket is away: queued, sent over the resumed wss:// WebSocket, echoed.
  sock.write('queued while away');
  assert.equal((await readBytes(sock, 17)).toString(), 'queued while away');
  const big = Buffer.alloc(256 * 1024, 'x');
  sock.write(big);
  assert.ok((await readBytes(sock, big.length)).equals(big), 'the stream continues byte-exact after the resume');

  assert.ok(seen.includes('reconnecting') && seen.at(-1) === 'connected', `states: ${seen.join(',')}`);
  assert.equal(s.target.accepted(), 1, 'the same target connection was resumed');
  assert.equal(s.adapter.stats().tcpSessionsTotal, 1);
  assert.equal(s.upgraded.size, 1, 'one live WebSocket: the resumed one');
});

void test('wss:// singleton: rejectUnauthorized: false echoes; an untrusted certificate (no tls, or another CA) is refused', async (t) => {
  const s = await setup(t);
  if (!s) return t.skip('openssl is not installed');
  const insecure = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, {
    logLevel: 'none',
    tls: { rejectUnauthorized: false },
  });
  t.after(() => insecure.close());
  await echoes(insecure.address.port, 'no verification');
  insecure.close();

  const other = selfSigned();
  assert.ok(other);
  t.after(() => rmSync(other.dir, { recursive: true, force: true }));
  for (const tls of [undefined, { ca: other.cert }]) {
    const logs = new PassThrough();
    let logged = '';
    logs.on('data', (c: Buffer) => (logged += c.toString()));
    const logger = createLogger({ level: 'error', destination: logs });
    const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { logger, maxReconnectAttempts: 0, tls });
    t.after(() => tunnel.close());
    const sock = await dial(tunnel.address.port);
    const closed = once(sock, 'close');
    assert.deepEqual(await tunnel.closed, { reason: 'exhausted' });
    await closed;
    assert.match(logged, SELF_SIGNED, `why it gave up (tls ${tls ? 'with another CA' : 'unset'})`);
  }
  assert.equal(s.adapter.stats().tcpSessionsTotal, 1, 'the untrusted attempts never reached the adapter');
});

/** `burrow connect …` as a child process, its output collected. */
function cli(t: TestContext, args: string[], env: NodeJS.ProcessEnv = {}) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, cliArgs('connect', ...args), {
    env: { ...process.env, BURROW_TOKEN: TOKEN, ...env },
  });
  t.after(() => child.kill());
  const io = { out: '', err: '' };
  child.stdout.on('data', (c: Buffer) => (io.out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (io.err += c.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  /** Resolves once `predicate()` holds after some output, or the child exited. */
  const output = (predicate: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (!predicate() && child.exitCode === null) return;
        child.stdout.off('data', check);
        resolve();
      };
      child.stdout.on('data', check);
      void exited.then(() => resolve());
      check();
    });
  return { child, io, exited, output };
}

/** `--stdio` (singleton): stdin/stdout carry one echoed connection; EOF ends it with exit code 0. Returns stderr. */
async function stdioEchoes(t: TestContext, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const c = cli(t, [...args, '--stdio'], env);
  const text = `stdio ${args.join(' ')}`;
  c.child.stdin.write(text);
  await c.output(() => c.io.out === text);
  assert.equal(c.io.out, text, c.io.err);
  c.child.stdin.end();
  const [code] = await c.exited;
  assert.equal(code, 0, c.io.err);
  return c.io.err;
}

/** A local port (announced on the first --json line) that echoes. Returns stderr. */
async function listenerEchoes(t: TestContext, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const c = cli(t, [...args, '--local-port', '0', '--json'], env);
  await c.output(() => c.io.out.includes('\n'));
  const ready = JSON.parse(c.io.out.split('\n')[0] || '{}') as { event?: string; port: number; mode: string };
  assert.equal(ready.event, 'ready', c.io.err);
  await echoes(ready.port, `listener ${args.join(' ')}`);
  c.child.kill();
  await c.exited;
  return c.io.err;
}

/** The command fails: its exit code (1, or 2 for a usage error such as an unreadable file) and its stderr. */
async function fails(t: TestContext, args: string[], env?: NodeJS.ProcessEnv, status = 1): Promise<string> {
  const c = cli(t, args, env);
  c.child.stdin.end();
  const [code] = await c.exited;
  assert.equal(code, status, `exit code (stderr: ${c.io.err})`);
  return c.io.err;
}

const WARNING = /^warning: --insecure: .*not verified.*$/m;

void test(
  'wss:// both modes: `burrow connect --ca <file>` and `--insecure` as child processes',
  { timeout: 120_000 },
  async (t) => {
    const s = await setup(t);
    if (!s) return t.skip('openssl is not installed');
    const [caStdio, caMux, insecureSingleton, insecureMux] = await Promise.all([
      stdioEchoes(t, [s.url, '--ca', s.tls.certPath]),
      listenerEchoes(t, [s.url, '--ca', s.tls.certPath, '--mode', 'multiplexed']),
      listenerEchoes(t, [s.url, '--insecure']),
      listenerEchoes(t, [s.hostUrl, '--insecure', '--mode', 'multiplexed']),
    ]);
    assert.doesNotMatch(caStdio + caMux, /warning/);
    assert.match(insecureSingleton, WARNING);
    assert.match(insecureMux, WARNING);
    assert.equal(s.adapter.stats().tcpSessionsTotal, 2, 'two singleton sessions');
    // each `burrow connect` first checks the target with one multiplexed WebSocket (closed at once)
    assert.equal(s.adapter.stats().tcpMuxSocketsTotal, 2 + 4, 'two multiplexed WebSockets, and four start-up checks');
  },
);

void test(
  'wss:// `burrow connect`: BURROW_CA and BURROW_INSECURE; --ca naming a missing file, BURROW_INSECURE=0 verifies',
  { timeout: 120_000 },
  async (t) => {
    const s = await setup(t);
    if (!s) return t.skip('openssl is not installed');
    const [envCa, envInsecure, missing, verified] = await Promise.all([
      stdioEchoes(t, [s.url], { BURROW_CA: s.tls.certPath }),
      listenerEchoes(t, [s.url, '--mode', 'multiplexed'], { BURROW_INSECURE: '1' }),
      fails(t, [s.url, '--ca', '/nonexistent/ca.pem'], undefined, 2),
      fails(t, [s.url, '--mode', 'multiplexed'], { BURROW_INSECURE: '0' }),
    ]);
    assert.doesNotMatch(envCa, /warning/);
    assert.match(envInsecure, WARNING);
    assert.match(missing, /^error: .*cannot read the CA file \/nonexistent\/ca\.pem \(--ca.*\): no such file$/m);
    assert.doesNotMatch(verified, /warning/, 'BURROW_INSECURE=0 does not turn verification off');
    assert.match(verified, SELF_SIGNED);
  },
);

void test('`burrow connect --ca` (in-process): a file without a PEM certificate is refused at start, naming it', async (t) => {
  const s = await setup(t);
  if (!s) return t.skip('openssl is not installed');
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
  const options = { localPort: 0, localAddress: '127.0.0.1', mode: 'singleton', logLevel: 'none' } as const;
  await assert.rejects(runConnect(s.url, { ...options, ca: s.tls.keyPath }, io), (err: Error) => {
    assert.ok(err.message.includes(s.tls.keyPath), err.message);
    assert.match(err.message, /no PEM certificate/);
    return true;
  });
  const handle = await runConnect(s.url, { ...options, token: TOKEN, ca: s.tls.certPath }, io);
  await echoes(handle.tunnel!.address.port, 'in-process --ca');
  handle.close();
  assert.equal(await handle.done, 0);
});
