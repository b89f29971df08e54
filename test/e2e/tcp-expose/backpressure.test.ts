/** Flow control end to end: a reader that stops reading holds back the writer (bounded bytes in flight). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { dial, expose, publicPort, startComposedTcp, startTarget } from './helpers.js';
import { waitUntil, waitUntilSteady } from '../../helpers/wait.js';

const TOTAL = 128 * 1024 * 1024;
/** Generous bound: kernel buffers on both hops + the mux window (4 MiB) + stream buffers. */
const BOUND = 40 * 1024 * 1024;

/** Write up to `total` bytes with backpressure until stopped; returns a counter of bytes accepted by the kernel-side buffers. */
function pump(socket: Socket, total: number): { written: () => number; stop: () => void } {
  const block = Buffer.alloc(256 * 1024, 0x33);
  let left = total;
  let stopped = false;
  const run = async (): Promise<void> => {
    while (left > 0 && !stopped && !socket.destroyed) {
      left -= block.length;
      if (!socket.write(block)) await once(socket, 'drain').catch(() => {});
    }
  };
  void run();
  return {
    written: () => socket.bytesWritten - socket.writableLength,
    stop: () => (stopped = true),
  };
}

/** The count once it has stopped moving for 300 ms (or after 15 s, still moving: the bound decides). */
function settle(read: () => number): Promise<number> {
  return waitUntilSteady(read, { quietMs: 300, what: 'the byte count' }).catch(() => read());
}

void test('download: a paused public reader holds the local service back', async (t) => {
  const stack = await startComposedTcp();
  let service: ReturnType<typeof pump> | undefined;
  const target = await startTarget((s) => (service = pump(s, TOTAL)));
  t.after(async () => {
    service?.stop();
    await stack.close();
    await target.close();
  });
  const tunnel = await expose(stack, target.port);
  t.after(() => tunnel.close());
  const sock = await dial(publicPort(tunnel));
  t.after(() => sock.destroy());
  sock.pause();
  await waitUntil(() => service !== undefined);
  const sent = await settle(() => service!.written());
  t.diagnostic(`service got ${(sent / 1048576).toFixed(1)} MiB out while the reader was paused`);
  assert.ok(sent < BOUND, `${sent} bytes in flight (bound ${BOUND})`);
  // Reading again drains everything.
  let got = 0;
  sock.on('data', (c: Buffer) => (got += c.length));
  sock.resume();
  await waitUntil(() => got >= sent);
});

void test('upload: a local service that stops reading holds the public writer back', async (t) => {
  const stack = await startComposedTcp();
  let local: Socket | undefined;
  const target = await startTarget((s) => {
    local = s;
    s.pause();
  });
  t.after(async () => {
    await stack.close();
    await target.close();
  });
  const tunnel = await expose(stack, target.port);
  t.after(() => tunnel.close());
  const sock = await dial(publicPort(tunnel));
  t.after(() => sock.destroy());
  const writer = pump(sock, TOTAL);
  t.after(() => writer.stop());
  await waitUntil(() => local !== undefined);
  const sent = await settle(() => writer.written());
  t.diagnostic(`the public client got ${(sent / 1048576).toFixed(1)} MiB out while the service was paused`);
  assert.ok(sent < BOUND, `${sent} bytes in flight (bound ${BOUND})`);
  let got = 0;
  local!.on('data', (c: Buffer) => (got += c.length));
  local!.resume();
  await waitUntil(() => got >= sent);
});
