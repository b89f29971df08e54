/**
 * openTunnels() (issue 20): several tunnels over ONE agent connection, from the SDK — each its own
 * Tunnel or TcpTunnel with its own URL, a refusal naming the tunnel it concerns, close() closing all.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { openTunnels } from '../../src/index.js';
import { closeHttp, request, startOrigin, startServer } from '../helpers/harness.js';
import { waitUntil } from '../helpers/wait.js';

test('two http tunnels and a tcp one share one connection; close() ends them all', async (t) => {
  const srv = await startServer();
  const a = await startOrigin((_req, res) => res.end('from a'));
  const b = await startOrigin((_req, res) => res.end('from b'));
  const echo = net.createServer((s) => s.pipe(s)).listen(0, '127.0.0.1');
  await new Promise((r) => echo.once('listening', r));
  t.after(async () => {
    await srv.server.close();
    await closeHttp(a.server);
    await closeHttp(b.server);
    echo.close();
  });
  const group = await openTunnels({
    server: srv.url,
    tunnels: [
      { kind: 'http', name: 'a', options: { port: a.port, localHost: '127.0.0.1', subdomain: 'group-a' } },
      { kind: 'http', name: 'b', options: { url: `http://127.0.0.1:${b.port}` } },
      {
        kind: 'tcp',
        name: 'echo',
        options: { port: (echo.address() as net.AddressInfo).port, localHost: '127.0.0.1', publicPort: false },
      },
    ],
  });
  t.after(() => group.close());
  assert.deepEqual(
    group.members.map((m) => [m.name, m.kind]),
    [
      ['a', 'http'],
      ['b', 'http'],
      ['echo', 'tcp'],
    ],
  );
  const [ma, mb, mt] = group.members;
  assert.ok(ma?.kind === 'http' && mb?.kind === 'http' && mt?.kind === 'tcp');
  assert.equal(ma.tunnel.name, 'group-a');
  assert.equal(ma.tunnel.agent, group.agent, 'one connection');
  assert.equal(mt.tunnel.agent, group.agent);
  assert.equal((await request(srv.port, new URL(ma.tunnel.url).host, '/')).body.toString(), 'from a');
  assert.equal((await request(srv.port, new URL(mb.tunnel.url).host, '/')).body.toString(), 'from b');
  assert.ok(mt.tunnel.wsUrl?.startsWith('ws://'), 'the tcp tunnel has its WebSocket access');
  const status = await request(srv.port, `127.0.0.1:${srv.port}`, '/api/status');
  assert.equal((JSON.parse(status.body.toString()) as { agents: number }).agents, 1);

  const closed = new Promise<void>((r) => mb.tunnel.once('close', () => r()));
  group.close();
  await group.whenClosed();
  await closed;
  assert.equal(ma.tunnel.closed, true);
  await waitUntil(async () => {
    const s = await request(srv.port, `127.0.0.1:${srv.port}`, '/api/status');
    return (JSON.parse(s.body.toString()) as { agents: number }).agents === 0;
  });
});

test('a refusal names the tunnel it concerns and closes the connection', async (t) => {
  const srv = await startServer();
  t.after(() => srv.server.close());
  await assert.rejects(
    openTunnels({
      server: srv.url,
      connectTimeoutMs: 10_000,
      tunnels: [
        { kind: 'http', name: 'first', options: { port: 1, subdomain: 'same-name' } },
        { kind: 'http', name: 'second', options: { port: 2, subdomain: 'same-name' } },
      ],
    }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'BURROW_ERR_NAME_TAKEN');
      assert.match(err.message, /tunnel second: /);
      return true;
    },
  );
  await waitUntil(async () => {
    const s = await request(srv.port, `127.0.0.1:${srv.port}`, '/api/status');
    return (JSON.parse(s.body.toString()) as { agents: number }).agents === 0;
  });
  // two entries with one name, and a bad target, are refused before connecting
  await assert.rejects(
    openTunnels({
      server: srv.url,
      tunnels: [
        { kind: 'http', name: 'x', options: { port: 1 } },
        { kind: 'tcp', name: 'x', options: { port: 2 } },
      ],
    }),
    /two tunnels are named "x"/,
  );
  await assert.rejects(
    openTunnels({ server: srv.url, tunnels: [{ kind: 'tcp', name: 'db', options: { port: 'nope' } }] }),
    /tunnel db: .*"nope"/,
  );
});
