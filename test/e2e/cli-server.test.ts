/** `burrow server` as a user runs it: the seeds' environment variables, refusing bad config, tiflis on WS_PATH. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { runCli } from '../helpers/cli.js';
import { request } from '../helpers/harness.js';
import { freePort } from '../helpers/net.js';
import { waitUntil } from '../helpers/wait.js';

test('a registration key shorter than 32 characters is refused at start (a configuration error: exit 2)', async () => {
  const cli = runCli(['server', '--port', '0', '--db', 'sqlite::memory:'], {
    TUNNEL_REGISTRATION_API_KEY: 'too-short',
  });
  assert.equal(await cli.exited, 2);
  assert.match(cli.stderr(), /32/);
});

test('PORT, HOST, LOG_LEVEL, WS_PATH and TUNNEL_REGISTRATION_API_KEY configure the server; tiflis works there', async (t) => {
  const port = await freePort();
  const key = 'k'.repeat(40);
  const cli = runCli(['server', '--db', 'sqlite::memory:'], {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    WS_PATH: '/tiflis',
    TUNNEL_REGISTRATION_API_KEY: key,
    PUBLIC_BASE_URL: 'https://tunnels.example.com',
  });
  t.after(() => cli.child.kill('SIGTERM'));
  await waitUntil(
    () =>
      request(port, `127.0.0.1:${port}`, '/healthz').then(
        (r) => r.status === 200,
        () => false,
      ),
    { timeoutMs: 20_000, what: 'the CLI server to answer /healthz' },
  );
  const ws = new WebSocket(`ws://127.0.0.1:${port}/tiflis`);
  await once(ws, 'open');
  ws.send(
    JSON.stringify({ type: 'workstation.register', payload: { api_key: key, name: 'box', auth_key: 'a'.repeat(20) } }),
  );
  const [data] = (await once(ws, 'message')) as [Buffer];
  const msg = JSON.parse(data.toString()) as { type: string; payload: { tunnel_id: string; public_url: string } };
  assert.equal(msg.type, 'workstation.registered');
  assert.ok(msg.payload.tunnel_id);
  assert.match(msg.payload.public_url, /^wss:\/\/tunnels\.example\.com/);
  const health = JSON.parse((await request(port, `127.0.0.1:${port}`, '/health')).body.toString()) as {
    status: string;
    connections: { workstations: number; clients: number };
  };
  assert.equal(health.status, 'healthy');
  assert.equal(health.connections.workstations, 1);
  assert.equal(health.connections.clients, 0);
  ws.close();
  cli.child.kill('SIGTERM');
  assert.equal(await cli.exited, 0);
});

test('an invalid flag value is reported with every problem at once', async () => {
  const cli = runCli([
    'server',
    '--db',
    'sqlite::memory:',
    '--domain',
    'bad_domain!',
    '--public-url',
    'nope',
    '--port',
    '0',
  ]);
  assert.equal(await cli.exited, 2);
  assert.match(cli.stderr(), /bad_domain!/);
  assert.match(cli.stderr(), /publicUrl/);
});
