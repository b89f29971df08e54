/**
 * Regression (issue 13, defect 9): `PUBLIC_BASE_URL=wss://tunnel.example.com` — the tiflis seed's own
 * example — stopped the server at start ("publicUrl must be http(s)://…"). ws:// and wss:// are now
 * read as http:// and https://: every URL the server prints or returns says http(s), and tiflis
 * workstations still get a ws(s):// public_url.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { openTunnel } from '../../src/client/burrow/open-tunnel.js';
import { isBurrowError } from '../../src/core/errors.js';
import { resolveServerConfig } from '../../src/server/config.js';
import { closeHttp, request, startComposed, startOrigin } from '../helpers/harness.js';
import { runDistCli } from './dist-cli.js';

test('public-url-wss: ws:// and wss:// public URLs are read as http:// and https://', () => {
  const wss = resolveServerConfig({ publicUrl: 'wss://tunnel.example.com' });
  assert.equal(wss.publicUrl?.href, 'https://tunnel.example.com/');
  assert.equal(wss.secure, true);
  const ws = resolveServerConfig({ publicUrl: 'ws://tunnel.example.com:8080' });
  assert.equal(ws.publicUrl?.origin, 'http://tunnel.example.com:8080');
  assert.equal(ws.secure, false);
  // default ports stay default: wss:443 is https with no port
  assert.equal(
    resolveServerConfig({ publicUrl: 'wss://t.example.com:443' }).publicUrl?.origin,
    'https://t.example.com',
  );
  assert.throws(
    () => resolveServerConfig({ publicUrl: 'ftp://tunnel.example.com' }),
    (e: unknown) => isBurrowError(e) && e.code === 'BURROW_ERR_INVALID_CONFIG' && /ws\(s\)/.test(e.message),
  );
});

test('public-url-wss: a server with a wss:// public URL hands out https:// tunnel URLs and wss:// tiflis URLs', async (t) => {
  const key = 'k'.repeat(40);
  const { composed, port } = await startComposed({ publicUrl: 'wss://tunnel.example.com', registrationKey: key });
  t.after(() => composed.close());
  assert.match(composed.server.url, /^https:\/\//);

  // burrow agent: REGISTERED carries an https:// URL
  const origin = await startOrigin((_q, r) => r.end('ok'));
  t.after(() => closeHttp(origin.server));
  const tunnel = await openTunnel({
    port: origin.port,
    server: `http://127.0.0.1:${port}`,
    localHost: '127.0.0.1',
    subdomain: 'wssbase',
    reconnect: false,
  });
  t.after(() => tunnel.close());
  assert.equal(tunnel.url, 'https://wssbase.localhost');

  // localtunnel handshake: the url it returns is https:// too
  const lt = JSON.parse((await request(port, '127.0.0.1', '/?new')).body.toString()) as { url: string };
  assert.match(lt.url, /^https:\/\/[a-z0-9-]+\.localhost$/);

  // tiflis: the workstation is given the wss:// base it was configured with
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  t.after(() => ws.close());
  await once(ws, 'open');
  ws.send(
    JSON.stringify({ type: 'workstation.register', payload: { api_key: key, name: 'box', auth_key: 'a'.repeat(20) } }),
  );
  const [data] = (await once(ws, 'message')) as [Buffer];
  const msg = JSON.parse(data.toString()) as { payload: { public_url: string } };
  assert.match(msg.payload.public_url, /^wss:\/\/tunnel\.example\.com\/ws\?tunnel_id=/);
});

test('public-url-wss: `PUBLIC_BASE_URL=wss://… burrow server` starts and prints https:// URLs', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'burrow-wss-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  const cli = runDistCli(['server', '--port', '0', '--address', '127.0.0.1', '--db', 'sqlite::memory:'], {
    cwd,
    env: { PUBLIC_BASE_URL: 'wss://tunnel.example.com', TUNNEL_REGISTRATION_API_KEY: 'k'.repeat(40) },
  });
  t.after(() => cli.child.kill('SIGKILL'));
  await cli.waitFor(/api: +\S+/);
  const out = cli.output();
  assert.match(out, /tunnels: +https:\/\/<name>\.localhost\n/);
  assert.match(out, /api: +https:\/\//);
  assert.doesNotMatch(out, /wss?:\/\//);
  assert.doesNotMatch(out, /error/i);
  cli.child.kill('SIGTERM');
  assert.equal(await cli.exited, 0);
});
