/**
 * WebSocket access to a `burrow tcp` tunnel (/tcp/<name>, limrun protocol) on the composed server:
 * the real @limrun/api@0.39.8 startTcpTunnel and burrow's own startTcpTunnel, both modes, using the
 * wsUrl and accessToken that exposeTcp reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';
import { startTcpTunnel as limrunStartTcpTunnel } from '@limrun/api/tunnel';
import { startTcpTunnel as burrowStartTcpTunnel } from '../../../src/client/tcp-ws/tcp-tunnel.js';
import {
  dial,
  dialHalfOpen,
  echo,
  expose,
  hashUntilEnd,
  publicPort,
  readBytes,
  startComposedTcp,
  startTarget,
  writePattern,
} from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';
import { readAll } from '../../helpers/net.js';

const MODES = ['singleton', 'multiplexed'] as const;
const CLIENTS = { limrun: limrunStartTcpTunnel, burrow: burrowStartTcpTunnel } as const;
const MID = 16 * 1024 * 1024;

async function setup(onConnection: (s: Socket) => void, opts: { range?: false; allowHalfOpen?: boolean } = {}) {
  const stack = await startComposedTcp(opts.range === false ? { range: false } : {});
  const target = await startTarget(onConnection, opts.allowHalfOpen ? { allowHalfOpen: true } : {});
  const tunnel = await expose(stack, target.port);
  return {
    stack,
    target,
    tunnel,
    wsUrl: tunnel.wsUrl!,
    token: tunnel.accessToken!,
    async close() {
      tunnel.close();
      await stack.close();
      await target.close();
    },
  };
}

/** The counters of /health (connections.*). */
async function health(base: string): Promise<Record<string, number>> {
  const res = await fetch(`${base}/health`);
  const body = (await res.json()) as { connections: Record<string, number> };
  return body.connections;
}

/** The HTTP status of a WebSocket upgrade to url with an optional bearer token. */
function upgradeStatus(url: string, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({
      host: u.hostname,
      port: u.port,
      path: u.pathname + u.search,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...(token !== undefined ? { Authorization: `Bearer ${token}` } : {}),
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

for (const [client, start] of Object.entries(CLIENTS)) {
  for (const mode of MODES) {
    void test(`${client} ${mode} → burrow tcp: echo`, async (t) => {
      const s = await setup(echo);
      t.after(() => s.close());
      const access = await start(s.wsUrl, s.token, '127.0.0.1', 0, { mode, logLevel: 'none' });
      t.after(() => access.close());
      const sock = await dial(access.address.port);
      t.after(() => sock.destroy());
      sock.write('ping through the agent');
      assert.equal((await readBytes(sock, 22)).toString(), 'ping through the agent');
      assert.equal(access.getConnectionState(), 'connected');
    });

    void test(`${client} ${mode} → burrow tcp: 16 MiB echoed byte-exact`, async (t) => {
      const s = await setup(echo);
      t.after(() => s.close());
      const access = await start(s.wsUrl, s.token, '127.0.0.1', 0, { mode, logLevel: 'none' });
      t.after(() => access.close());
      const sock = await dial(access.address.port);
      t.after(() => sock.destroy());
      let got = 0;
      const back = new Promise<string>((resolve) => {
        const h = createHash('sha256');
        sock.on('data', (c: Buffer) => {
          h.update(c);
          got += c.length;
          if (got >= MID) resolve(h.digest('hex'));
        });
      });
      const sent = await writePattern(sock, MID, 4, false);
      assert.equal(await back, sent);
      assert.equal(got, MID);
    });
  }

  void test(`${client} multiplexed → burrow tcp: 20 concurrent connections over one WebSocket`, async (t) => {
    const s = await setup(echo);
    t.after(() => s.close());
    const access = await start(s.wsUrl, s.token, '127.0.0.1', 0, { mode: 'multiplexed', logLevel: 'none' });
    t.after(() => access.close());
    const ok = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const sock = await dial(access.address.port);
        const msg = `conn-${i}-`.repeat(100);
        sock.write(msg);
        const got = (await readBytes(sock, msg.length)).toString();
        sock.destroy();
        return got === msg;
      }),
    );
    assert.equal(ok.filter(Boolean).length, 20);
    await waitUntil(() => s.target.accepted() === 20);
  });

  for (const mode of MODES) {
    void test(`${client} ${mode} → burrow tcp: a wrong token is refused at the upgrade; the client gives up`, async (t) => {
      const s = await setup(echo);
      t.after(() => s.close());
      if (mode === 'multiplexed') {
        await assert.rejects(
          start(s.wsUrl, 'wrong-token', '127.0.0.1', 0, { mode, logLevel: 'none', reconnectDelay: 10 }),
          /40[13]/,
        );
      } else {
        const access = await start(s.wsUrl, 'wrong-token', '127.0.0.1', 0, {
          mode,
          logLevel: 'none',
          reconnectDelay: 10,
        });
        t.after(() => access.close());
        const sock = await dial(access.address.port);
        sock.on('error', () => {});
        await once(sock, 'close');
        assert.equal(access.getConnectionState(), 'disconnected');
        // nothing to wait on for an attempt that must not happen: watch 5 reconnect delays for one
        await new Promise((r) => setTimeout(r, 5 * 10));
      }
      assert.equal((await health(s.stack.url))['tcpRejectedUpgrades'], 1, 'one attempt, no retries');
      assert.equal(s.target.accepted(), 0, 'the local service was never dialled');
    });
  }
}

void test('upgrade statuses: no token 401, wrong token 403, right token 101, unknown name 404', async (t) => {
  const s = await setup(echo);
  t.after(() => s.close());
  assert.equal(await upgradeStatus(s.wsUrl), 401);
  assert.equal(await upgradeStatus(s.wsUrl, 'wrong'), 403);
  assert.equal(await upgradeStatus(s.wsUrl, s.token), 101);
  assert.equal(await upgradeStatus(s.wsUrl.replace(/\/tcp\/[^/]+$/, '/tcp/no-such-tunnel'), s.token), 404);
});

void test('a token of one tcp tunnel does not open another', async (t) => {
  const s = await setup(echo);
  t.after(() => s.close());
  const other = await expose(s.stack, s.target.port);
  t.after(() => other.close());
  assert.equal(await upgradeStatus(other.wsUrl!, s.token), 403);
  assert.equal(await upgradeStatus(other.wsUrl!, other.accessToken), 101);
});

void test('no --tcp-ports: no public port, but the WebSocket access works (limrun multiplexed)', async (t) => {
  const s = await setup(echo, { range: false });
  t.after(() => s.close());
  assert.equal(s.tunnel.tcpAddress, undefined);
  assert.ok(s.wsUrl.startsWith('ws://127.0.0.1:'));
  const access = await limrunStartTcpTunnel(s.wsUrl, s.token, '127.0.0.1', 0, {
    mode: 'multiplexed',
    logLevel: 'none',
  });
  t.after(() => access.close());
  const sock = await dial(access.address.port);
  t.after(() => sock.destroy());
  sock.write('private');
  assert.equal((await readBytes(sock, 7)).toString(), 'private');
});

void test('no --tcp-ports: asking for --remote-port is FORBIDDEN', async (t) => {
  const stack = await startComposedTcp({ range: false });
  const target = await startTarget(echo);
  t.after(async () => {
    await stack.close();
    await target.close();
  });
  await assert.rejects(expose(stack, target.port, { remotePort: 31000 }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'BURROW_ERR_FORBIDDEN');
    return true;
  });
});

for (const mode of MODES) {
  void test(`burrow ${mode} → burrow tcp: half-close carried over the WebSocket access`, async (t) => {
    const s = await setup(
      (sock) => {
        let total = 0;
        sock.on('data', (c: Buffer) => (total += c.length));
        sock.on('end', () => sock.end(`got ${total}`));
      },
      { allowHalfOpen: true },
    );
    t.after(() => s.close());
    const access = await burrowStartTcpTunnel(s.wsUrl, s.token, '127.0.0.1', 0, { mode, logLevel: 'none' });
    t.after(() => access.close());
    const sock = await dialHalfOpen(access.address.port);
    t.after(() => sock.destroy());
    const reply = readAll(sock);
    sock.end(Buffer.alloc(200_000, 3));
    assert.equal((await reply).toString(), 'got 200000');
  });
}

void test('public port and WebSocket access at the same time reach the same service', async (t) => {
  const s = await setup((sock) => sock.end('hello from the service'));
  t.after(() => s.close());
  const access = await burrowStartTcpTunnel(s.wsUrl, s.token, '127.0.0.1', 0, {
    mode: 'multiplexed',
    logLevel: 'none',
  });
  t.after(() => access.close());
  const viaPort = await dial(publicPort(s.tunnel));
  const viaWs = await dial(access.address.port);
  viaWs.write('x'); // multiplexed mode dials on the first payload
  const [a, b] = await Promise.all([readAll(viaPort), hashUntilEnd(viaWs)]);
  assert.equal(a.toString(), 'hello from the service');
  assert.equal(b.bytes, 22);
});

void test('the agent going away: WebSocket access sessions end and new upgrades get 404', async (t) => {
  const s = await setup(echo);
  t.after(() => s.close());
  const access = await burrowStartTcpTunnel(s.wsUrl, s.token, '127.0.0.1', 0, {
    mode: 'multiplexed',
    logLevel: 'none',
  });
  t.after(() => access.close());
  const sock = await dial(access.address.port);
  sock.on('error', () => {});
  sock.write('a');
  assert.equal((await readBytes(sock, 1)).toString(), 'a');
  const closed = once(sock, 'close');
  s.tunnel.close();
  await closed;
  await waitUntil(() => s.stack.composed.server.registry.get(s.tunnel.name) === undefined);
  assert.equal(await upgradeStatus(s.wsUrl, s.token), 404);
});

void test('/tcp/<name> of an HTTP tunnel is 404 (only tcp tunnels are reachable), and a tcp name cannot be taken twice', async (t) => {
  const s = await setup(echo);
  t.after(() => s.close());
  const { openTunnel } = await import('../../../src/client/burrow/open-tunnel.js');
  const web = await openTunnel({ port: s.target.port, server: s.stack.url, subdomain: 'webby', reconnect: false });
  t.after(() => web.close());
  assert.equal(await upgradeStatus(s.wsUrl.replace(/\/tcp\/[^/]+$/, '/tcp/webby'), s.token), 404);
  await assert.rejects(expose(s.stack, s.target.port, { name: s.tunnel.name }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'BURROW_ERR_NAME_TAKEN');
    return true;
  });
});
