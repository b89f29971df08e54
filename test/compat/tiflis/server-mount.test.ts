/** The adapter mounted in burrow's own server: the WebSocket path, and /health's connections. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from '../../../src/app/server.js';
import { createTiflisAdapter } from '../../../src/adapters/tiflis/index.js';
import { API_KEY, TestClient, registerMsg, connectMsg } from './helpers.js';

void test('createServer({ adapters: [tiflis] }): register, connect, and /health counts them', async () => {
  const tiflis = createTiflisAdapter({ registrationKey: API_KEY });
  const server = createServer({ adapters: [tiflis], logLevel: 'silent' });
  const { port } = await server.listen(0, '127.0.0.1');
  try {
    const ws = await TestClient.open(`ws://127.0.0.1:${port}/ws`);
    const reg = await ws.request(registerMsg(), 'workstation.registered');
    const tunnelId = reg.payload.tunnel_id as string;
    assert.match(reg.payload.public_url as string, new RegExp(`^ws://.+/ws\\?tunnel_id=${tunnelId}$`));
    const d = await TestClient.open(`ws://127.0.0.1:${port}/ws`);
    await d.request(connectMsg(tunnelId, 'dev-1'), 'connected');

    const res = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(res.status, 200);
    const health = (await res.json()) as { status: string; connections: Record<string, number> };
    assert.equal(health.status, 'healthy');
    assert.equal(health.connections.workstations, 1);
    assert.equal(health.connections.clients, 1);
    await Promise.all([d.close(), ws.close()]);
  } finally {
    await server.close();
  }
});
