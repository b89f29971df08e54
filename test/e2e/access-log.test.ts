/**
 * The access log: one record per visitor request through a tunnel (the onResponse hook of the one
 * request lifecycle, server/http/exchange.ts), on the relay and on Node's path, and
 * `burrow server --access-log` printing it as a log line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import type { ResponseInfo } from '../../src/server/hooks.js';
import { openTunnel } from '../../src/client/burrow/open-tunnel.js';
import { runCli } from '../helpers/cli.js';
import { closeHttp, request } from '../helpers/harness.js';
import { freePort } from '../helpers/net.js';
import { startStack } from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait.js';

const BODY = 'x'.repeat(5000);

void test('every request through a tunnel is recorded once: method, host, path, status, bytes, duration, client (relay and Node path)', async (ctx) => {
  const seen: ResponseInfo[] = [];
  const stack = await startStack(
    ctx,
    (req, res) => {
      if (req.url === '/missing') res.writeHead(404).end('no');
      else {
        req.resume();
        req.on('end', () => res.end(BODY));
      }
    },
    { server: { onResponse: (r) => seen.push(r) }, tunnel: { subdomain: 'logged' } },
  );
  const host = 'logged.localhost';
  await request(stack.port, host, '/a?q=1');
  await request(stack.port, host, '/missing');
  await request(stack.port, host, '/up', { method: 'POST', body: 'hello' });
  await waitUntil(() => seen.length === 3, { what: 'three records' });
  assert.deepEqual(
    seen.map((r) => [r.method, r.host, r.path, r.status, r.tunnel]),
    [
      ['GET', host, '/a?q=1', 200, 'logged'],
      ['GET', host, '/missing', 404, 'logged'],
      ['POST', host, '/up', 200, 'logged'],
    ],
  );
  assert.ok(seen[0]!.bytes > BODY.length, `head and body counted on the relay (${seen[0]!.bytes})`);
  assert.ok(seen[1]!.bytes < 200);
  assert.equal(seen[0]!.remoteAddress, '127.0.0.1');
  assert.ok(seen[0]!.durationMs >= 0);

  // Node's path (a mounted server): the same record, body bytes
  const mount = http.createServer();
  stack.server.attach(mount);
  mount.listen(0, '127.0.0.1');
  await once(mount, 'listening');
  ctx.after(() => closeHttp(mount));
  await request((mount.address() as net.AddressInfo).port, host, '/node');
  await waitUntil(() => seen.length === 4, { what: 'the proxy record' });
  assert.deepEqual([seen[3]!.path, seen[3]!.status, seen[3]!.bytes], ['/node', 200, BODY.length]);
});

void test('`burrow server --access-log --log-format json` prints one access line per request', async (ctx) => {
  const port = await freePort();
  const cli = runCli([
    'server',
    '--port',
    String(port),
    '--address',
    '127.0.0.1',
    '--db',
    'sqlite::memory:',
    '--access-log',
    '--log-format',
    'json',
  ]);
  ctx.after(() => cli.child.kill('SIGTERM'));
  await waitUntil(
    () =>
      request(port, `127.0.0.1:${port}`, '/healthz').then(
        (r) => r.status === 200,
        () => false,
      ),
    { timeoutMs: 20_000, what: 'the server to answer' },
  );
  const origin = http.createServer((_req, res) => res.end('hi'));
  origin.listen(0, '127.0.0.1');
  await once(origin, 'listening');
  ctx.after(() => closeHttp(origin));
  const t = await openTunnel({
    server: `http://127.0.0.1:${port}`,
    port: (origin.address() as net.AddressInfo).port,
    localHost: '127.0.0.1',
    subdomain: 'cli-logged',
    reconnect: false,
  });
  ctx.after(() => t.close());
  await request(port, 'cli-logged.localhost', '/seen');
  const line = await cli.nextLine((l) => l.includes('"access"'));
  const entry = JSON.parse(line) as { access: Record<string, unknown>; msg: string };
  assert.equal(entry.access['path'], '/seen');
  assert.equal(entry.access['status'], 200);
  assert.equal(entry.access['host'], 'cli-logged.localhost');
  assert.match(entry.msg, /^GET cli-logged\.localhost\/seen 200 \d+ B [\d.]+ ms$/);
});
