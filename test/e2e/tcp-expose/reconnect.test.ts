/** `burrow tcp` across an agent reconnect: the link between agent and server is cut and comes back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { startTcpTunnel } from '../../../src/client/tcp-ws/tcp-tunnel.js';
import { dial, echo, expose, publicPort, readBytes, startComposedTcp, startTarget } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

/** A TCP relay to `port` whose connections can be cut. */
async function relay(port: number) {
  const live = new Set<Socket>();
  const server = createServer((a) => {
    const b = connect({ port, host: '127.0.0.1' });
    live.add(a);
    live.add(b);
    for (const s of [a, b]) {
      s.on('error', () => {});
      s.on('close', () => live.delete(s));
    }
    a.pipe(b);
    b.pipe(a);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut() {
      for (const s of live) s.destroy();
    },
    async close() {
      this.cut();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function setup(t: import('node:test').TestContext) {
  const stack = await startComposedTcp();
  const target = await startTarget(echo);
  const r = await relay(stack.port);
  const tunnel = await expose(stack, target.port, {
    server: r.url,
    reconnect: true,
    backoff: { initialDelayMs: 20, maxDelayMs: 100, jitter: 0 },
  });
  t.after(async () => {
    tunnel.close();
    await r.close();
    await stack.close();
    await target.close();
  });
  return { stack, target, r, tunnel };
}

async function echoes(port: number): Promise<boolean> {
  const s = await dial(port);
  try {
    s.write('still here');
    return (await readBytes(s, 10)).toString() === 'still here';
  } finally {
    s.destroy();
  }
}

// TODO until the resume hold is wired (verified on a scratch copy: all tests in this folder pass with both):
//  1. src/server/server.ts: new TcpExpose({ …, resumeGraceMs: config.resumeGraceMs, isNameHeld: (n) => registry.isHeld(n) })
//  2. src/server/agent/endpoint.ts: an agent's GOAWAY (clean close) removes its tunnels without the
//     resume grace (registry.remove(t)); else a closed `burrow tcp` keeps its port bound for the grace.
void test('agent reconnect: the name, the public port and the access token survive', async (t) => {
  const { r, tunnel } = await setup(t);
  const before = { name: tunnel.name, tcpAddress: tunnel.tcpAddress, wsUrl: tunnel.wsUrl, token: tunnel.accessToken };
  const reconnected = once(tunnel, 'reconnected');
  r.cut();
  await reconnected;
  assert.equal(tunnel.name, before.name);
  assert.equal(tunnel.wsUrl, before.wsUrl);
  assert.equal(tunnel.tcpAddress, before.tcpAddress, 'same public port after a reconnect');
  assert.equal(tunnel.accessToken, before.token, 'same access token after a reconnect');
});

void test('agent reconnect: the public port the agent now reports works', async (t) => {
  const { r, tunnel } = await setup(t);
  const reconnected = once(tunnel, 'reconnected');
  r.cut();
  await reconnected;
  assert.ok(await echoes(publicPort(tunnel)));
});

void test('agent reconnect: the token the agent now reports opens the WebSocket access', async (t) => {
  const { r, tunnel } = await setup(t);
  const reconnected = once(tunnel, 'reconnected');
  r.cut();
  await reconnected;
  const access = await startTcpTunnel(tunnel.wsUrl!, tunnel.accessToken!, '127.0.0.1', 0, {
    mode: 'multiplexed',
    logLevel: 'none',
  });
  t.after(() => access.close());
  const s = await dial(access.address.port);
  t.after(() => s.destroy());
  s.write('ws');
  assert.equal((await readBytes(s, 2)).toString(), 'ws');
});

void test('agent reconnect: the old public port is released or still served (never a dead listener)', async (t) => {
  const { r, tunnel, stack } = await setup(t);
  const oldPort = publicPort(tunnel);
  const reconnected = once(tunnel, 'reconnected');
  r.cut();
  await reconnected;
  await waitUntil(() => stack.composed.server.registry.get(tunnel.name) !== undefined);
  const s = connect({ port: oldPort, host: '127.0.0.1' });
  const outcome = await new Promise<string>((resolve) => {
    s.once('error', () => resolve('refused'));
    s.once('connect', () => {
      s.write('x');
      s.once('data', () => resolve('served'));
      s.once('close', () => resolve('closed without data'));
    });
  });
  s.destroy();
  assert.notEqual(outcome, 'closed without data', `old port ${oldPort}: ${outcome}`);
});
