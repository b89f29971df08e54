/**
 * TCP over wss://: burrow's server serving TLS itself (tls: {cert, key}, as --tls-cert/--tls-key) with
 * a self-signed certificate made here with openssl, and burrow's client trusting it — in-process
 * with startTcpTunnel's `tls` option (multiplexed), and `burrow connect` as a child process with
 * NODE_EXTRA_CA_CERTS (both modes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from '../../src/server/index.js';
import { createLimrunAdapter } from '../../src/adapters/limrun/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { startTcpTunnel } from '../../src/client/tcp-tunnel.js';
import { dial, echo, readBytes, startTarget, until } from './helpers.js';

const TOKEN = 'tls-token';
const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

/** A self-signed certificate for localhost and 127.0.0.1, or undefined when openssl is not installed. */
function selfSigned(): { dir: string; certPath: string; cert: Buffer; key: Buffer } | undefined {
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
  return { dir, certPath, cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

async function setup(t: import('node:test').TestContext) {
  const tls = selfSigned();
  if (!tls) return undefined;
  const target = await startTarget(echo);
  const server = createServer({
    domains: ['localhost'],
    tls: { cert: tls.cert, key: tls.key },
    logger: silentLogger(),
    processMetrics: false,
  });
  const adapter = createLimrunAdapter({
    targets: [{ name: 'dev', host: '127.0.0.1', port: target.port, token: TOKEN }],
  });
  server.use(adapter);
  const addr = await server.listen(0, '127.0.0.1');
  t.after(async () => {
    await server.close();
    await target.close();
    rmSync(tls.dir, { recursive: true, force: true });
  });
  return { tls, adapter, url: `wss://127.0.0.1:${addr.port}/tcp/dev`, hostUrl: `wss://localhost:${addr.port}/tcp/dev` };
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
    /self[- ]signed certificate/,
  );
  assert.equal(s.adapter.stats().tcpMuxSocketsTotal, 3, 'the untrusted attempt never reached the adapter');
});

void test('wss:// singleton: the tls option is refused with a clear message (singleton links take no TLS options yet)', async () => {
  await assert.rejects(
    startTcpTunnel('wss://127.0.0.1:1/tcp/dev', TOKEN, '127.0.0.1', 0, { logLevel: 'none', tls: { ca: 'x' } }),
    /multiplexed mode only.*NODE_EXTRA_CA_CERTS/,
  );
});

void test(
  'wss:// both modes: `burrow connect` as a child process trusting the certificate through NODE_EXTRA_CA_CERTS',
  { timeout: 90_000 },
  async (t) => {
    const s = await setup(t);
    if (!s) return t.skip('openssl is not installed');
    const env = { ...process.env, BURROW_TOKEN: TOKEN, NODE_EXTRA_CA_CERTS: s.tls.certPath };

    // Singleton: one connection over stdin/stdout.
    const one = spawn(process.execPath, ['--import', 'tsx', CLI, 'connect', s.url, '--stdio'], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    t.after(() => one.kill());
    let out = '';
    let err = '';
    one.stdout.on('data', (c: Buffer) => (out += c.toString()));
    one.stderr.on('data', (c: Buffer) => (err += c.toString()));
    one.stdin.write('singleton over wss');
    await until(() => out === 'singleton over wss' || one.exitCode !== null);
    assert.equal(out, 'singleton over wss', err);
    one.stdin.end();
    const [code] = (await once(one, 'exit')) as [number];
    assert.equal(code, 0, err);

    // Multiplexed: a local port, announced on the first JSON line.
    const mux = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, 'connect', s.url, '--mode', 'multiplexed', '--local-port', '0', '--json'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    t.after(() => mux.kill());
    let lines = '';
    let muxErr = '';
    mux.stdout.on('data', (c: Buffer) => (lines += c.toString()));
    mux.stderr.on('data', (c: Buffer) => (muxErr += c.toString()));
    await until(() => lines.includes('\n') || mux.exitCode !== null);
    const ready = JSON.parse(lines.split('\n')[0]!) as { event: string; port: number };
    assert.equal(ready.event, 'ready', muxErr);
    await echoes(ready.port, 'multiplexed over wss');
    assert.equal(s.adapter.stats().tcpMuxFlowControlled, 1);
    mux.kill();
    await once(mux, 'exit');
  },
);
