/** WebSocket access to a `burrow tcp` tunnel: the composed server, the agent (exposeTcp), and both clients. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTcpTunnel as limrunStart } from '@limrun/api/tunnel';
import { startComposed } from '../../helpers/harness.js';
import { exposeTcp } from '../../../src/client/burrow/expose-tcp.js';
import { startTcpTunnel } from '../../../src/client/tcp-ws/tcp-tunnel.js';
import { dial, echo, readBytes, startTarget } from './helpers.js';

async function stack(t: import('node:test').TestContext, onConnection: Parameters<typeof startTarget>[0]) {
  const target = await startTarget(onConnection);
  const { composed, port: mainPort } = await startComposed();
  const main = { port: mainPort };
  const agent = await exposeTcp({
    port: target.port,
    localHost: '127.0.0.1',
    server: `http://127.0.0.1:${main.port}`,
    reconnect: false,
    publicPort: false,
  });
  t.after(async () => {
    agent.close();
    await composed.close();
    await target.close();
  });
  assert.ok(agent.wsUrl && agent.accessToken, 'burrow tcp prints a WebSocket access URL and token');
  return { target, wsUrl: agent.wsUrl, token: agent.accessToken };
}

void test('burrow tcp + limrun client (both modes): echo through the agent tunnel', async (t) => {
  const s = await stack(t, echo);
  for (const mode of ['singleton', 'multiplexed'] as const) {
    const tunnel = await limrunStart(s.wsUrl, s.token, '127.0.0.1', 0, { mode, logLevel: 'none' });
    const sock = await dial(tunnel.address.port);
    sock.write(`hello ${mode}`);
    assert.equal((await readBytes(sock, 6 + mode.length)).toString(), `hello ${mode}`);
    sock.destroy();
    tunnel.close();
  }
});

void test('burrow tcp + burrow client: server-speaks-first in both modes; a wrong token is refused', async (t) => {
  const s = await stack(t, (sock) => {
    sock.write('+OK ready\r\n');
    echo(sock);
  });
  for (const mode of ['singleton', 'multiplexed'] as const) {
    const tunnel = await startTcpTunnel(s.wsUrl, s.token, '127.0.0.1', 0, { mode, logLevel: 'none' });
    const sock = await dial(tunnel.address.port);
    assert.equal((await readBytes(sock, 11)).toString(), '+OK ready\r\n');
    sock.destroy();
    tunnel.close();
  }
  await assert.rejects(
    startTcpTunnel(s.wsUrl, 'wrong', '127.0.0.1', 0, { mode: 'multiplexed', logLevel: 'none' }),
    /403/,
  );
});
