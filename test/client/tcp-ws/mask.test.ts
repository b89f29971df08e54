/**
 * `burrow connect` masks its WebSocket frames with the zero key to loopback and over TLS, like the
 * agent (src/core/ws-mask.ts): no masked copy of every message on its side, no unmask on the server's.
 * Checked on the wire: the first frame's mask bit and key, as a server's socket receives them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { openTcpWebSocket } from '../../../src/client/tcp-ws/websocket.js';
import { maskOptions } from '../../../src/core/ws-mask.js';

void test('burrow connect sends frames masked with the zero key to a loopback server', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  let client: WebSocket | undefined;
  try {
    const firstFrame = new Promise<Buffer>((resolve) => {
      wss.on('connection', (_ws, req) => {
        // the socket's bytes after the handshake: the client's first frame (a small binary message)
        req.socket.once('data', (b: Buffer) => resolve(b));
      });
    });
    const { port } = wss.address() as AddressInfo;
    const { ws } = openTcpWebSocket(new URL(`ws://127.0.0.1:${port}/tcp/x`), 'token');
    client = ws;
    await once(ws, 'open');
    ws.send(Buffer.from('hello'), { binary: true });
    const frame = await firstFrame;
    assert.equal(frame[1]! & 0x80, 0x80, 'the mask bit is set (RFC 6455: every client frame is masked)');
    assert.deepEqual([...frame.subarray(2, 6)], [0, 0, 0, 0], 'the key is zero');
    assert.equal(frame.subarray(6, 11).toString(), 'hello', 'so the payload travels as it is');
  } finally {
    client?.terminate();
    for (const c of wss.clients) c.terminate();
    wss.close();
  }
});

void test('the zero key only where no intermediary reads the frames', () => {
  assert.equal(typeof maskOptions('ws://127.0.0.1:8080/tcp/x').generateMask, 'function');
  assert.equal(typeof maskOptions('wss://burrow.example.com/tcp/x').generateMask, 'function');
  assert.deepEqual(
    maskOptions('ws://burrow.example.com/tcp/x'),
    {},
    'plain ws:// to another host: ws picks random keys',
  );
});
