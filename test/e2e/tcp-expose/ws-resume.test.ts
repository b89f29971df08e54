/**
 * Singleton WebSocket access to a `burrow tcp` tunnel, the WebSocket cut mid-stream (through a
 * relay): the client resumes the same session, so the same connection to the local service goes on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { startTcpTunnel as limrunStartTcpTunnel } from '@limrun/api/tunnel';
import { startTcpTunnel as burrowStartTcpTunnel } from '../../../src/client/tcp-ws/tcp-tunnel.js';
import { dial, expose, readBytes, startComposedTcp, startTarget } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

async function relay(port: number) {
  const live = new Set<Socket>();
  const server = createServer((a) => {
    const b = connect({ port, host: '127.0.0.1' });
    for (const s of [a, b]) {
      live.add(s);
      s.on('error', () => {});
      s.on('close', () => live.delete(s));
    }
    a.pipe(b);
    b.pipe(a);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => live.size,
    cut: () => live.forEach((s) => s.destroy()),
    close: () => {
      live.forEach((s) => s.destroy());
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

for (const [client, start] of [
  ['burrow', burrowStartTcpTunnel],
  ['limrun', limrunStartTcpTunnel],
] as const) {
  void test(`${client} singleton → burrow tcp: WebSocket cut mid-stream → the same service connection resumes`, async (t) => {
    const stack = await startComposedTcp();
    const target = await startTarget(() => {});
    const tunnel = await expose(stack, target.port);
    const r = await relay(stack.port);
    t.after(async () => {
      tunnel.close();
      await r.close();
      await stack.close();
      await target.close();
    });
    const url = tunnel.wsUrl!.replace(`:${stack.port}/`, `:${r.port}/`);
    const access = await start(url, tunnel.accessToken!, '127.0.0.1', 0, { logLevel: 'none', reconnectDelay: 20 });
    t.after(() => access.close());
    const sock = await dial(access.address.port);
    t.after(() => sock.destroy());
    await waitUntil(() => target.sockets.size === 1);
    const [svc] = [...target.sockets];
    const atService: Buffer[] = [];
    svc!.on('data', (c: Buffer) => atService.push(c));

    sock.write('before-');
    svc!.write('hello-');
    assert.equal((await readBytes(sock, 6)).toString(), 'hello-');
    await waitUntil(() => Buffer.concat(atService).toString() === 'before-');

    r.cut();
    await new Promise((res) => setTimeout(res, 50));
    // While detached the service speaks; burrow buffers it for the resumed WebSocket.
    const fromService = Buffer.alloc(200 * 1024, 9);
    svc!.write(fromService);
    assert.ok((await readBytes(sock, fromService.length)).equals(fromService));
    sock.write('after');
    await waitUntil(() => Buffer.concat(atService).toString() === 'before-after');
    assert.equal(target.accepted(), 1, 'the same service connection');
  });
}
