/** `burrow tcp` lifecycle edges: resets both ways, the server shutting down, a full range, --tcp-public-host. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { TcpTunnel } from '../../../src/client/burrow/expose-tcp.js';
import {
  accepts,
  bindable,
  dial,
  echo,
  expose,
  publicPort,
  readBytes,
  startComposedTcp,
  startTarget,
} from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';
import { readAll } from '../../helpers/net.js';

void test('the public client resets → the local service connection closes', async (t) => {
  const stack = await startComposedTcp();
  let local: Socket | undefined;
  const target = await startTarget((s) => {
    local = s;
    echo(s);
  });
  t.after(async () => {
    await stack.close();
    await target.close();
  });
  const tunnel = await expose(stack, target.port);
  t.after(() => tunnel.close());
  const sock = await dial(publicPort(tunnel));
  sock.write('x');
  await readBytes(sock, 1);
  const closed = once(local!, 'close');
  sock.resetAndDestroy();
  await closed;
  await waitUntil(() => target.sockets.size === 0);
});

void test('the local service closes → the public client gets its last bytes, then end', async (t) => {
  const stack = await startComposedTcp();
  const target = await startTarget((s) => s.end('last words'));
  t.after(async () => {
    await stack.close();
    await target.close();
  });
  const tunnel = await expose(stack, target.port);
  t.after(() => tunnel.close());
  const sock = await dial(publicPort(tunnel));
  assert.equal((await readAll(sock)).toString(), 'last words');
});

void test('the server shutting down closes public connections and releases the ports', async (t) => {
  const stack = await startComposedTcp();
  const target = await startTarget(echo);
  t.after(() => target.close());
  const tunnel = await expose(stack, target.port);
  t.after(() => tunnel.close());
  const port = publicPort(tunnel);
  const sock = await dial(port);
  sock.on('error', () => {});
  sock.write('x');
  await readBytes(sock, 1);
  const closed = once(sock, 'close');
  await stack.close();
  await closed;
  assert.equal(await accepts(port), false);
  assert.equal(await bindable(port), true);
});

void test('a full port range: the next tunnel is refused with TUNNEL_LIMIT; a freed port is reused', async (t) => {
  const stack = await startComposedTcp({ rangeSize: 2 });
  const target = await startTarget(echo);
  t.after(async () => {
    await stack.close();
    await target.close();
  });
  // Another process may hold a port of the range: count what is actually free.
  const range = stack.range!;
  let free = 0;
  for (let p = range.from; p <= range.to; p++) if (await bindable(p)) free++;
  const tunnels: TcpTunnel[] = [];
  for (let i = 0; i < free; i++) tunnels.push(await expose(stack, target.port));
  t.after(() => tunnels.forEach((x) => x.close()));
  await assert.rejects(expose(stack, target.port), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'BURROW_ERR_TUNNEL_LIMIT');
    return true;
  });
  if (tunnels.length > 0) {
    const freed = publicPort(tunnels[0]!);
    tunnels.shift()!.close();
    await waitUntil(() => stack.composed.server.registry.list().length === tunnels.length);
    const again = await expose(stack, target.port);
    t.after(() => again.close());
    assert.equal(publicPort(again), freed);
  }
});

void test('--tcp-public-host is the host printed in tcpAddress', async (t) => {
  const stack = await startComposedTcp({ tcpPublicHost: 'tcp.example.test' });
  const target = await startTarget(echo);
  t.after(async () => {
    await stack.close();
    await target.close();
  });
  const tunnel = await expose(stack, target.port);
  t.after(() => tunnel.close());
  assert.match(tunnel.tcpAddress!, /^tcp:\/\/tcp\.example\.test:\d+$/);
  assert.ok(tunnel.wsUrl!.startsWith(`ws://127.0.0.1:${stack.port}/tcp/`));
});

void test('200 public connections reset right after connect leave nothing open (service or server streams)', async (t) => {
  const stack = await startComposedTcp();
  const target = await startTarget(echo);
  t.after(async () => {
    await stack.close();
    await target.close();
  });
  const tunnel = await expose(stack, target.port);
  t.after(() => tunnel.close());
  const port = publicPort(tunnel);
  for (let i = 0; i < 200; i++) {
    const s = connect({ port, host: '127.0.0.1' });
    s.on('error', () => {});
    s.once('connect', () => s.resetAndDestroy());
  }
  const openStreams = (): number =>
    stack.composed.server.registry.list().reduce((n, x) => n + x.stats().openStreams, 0);
  await waitUntil(() => target.accepted() === 200 || target.sockets.size === 0);
  await waitUntil(() => target.sockets.size === 0 && openStreams() === 0);
  assert.ok(stack.composed.server.registry.get(tunnel.name), 'the tunnel is still up');
});
