/** The two directions by their names: exposeTcp (a local port on the server) and connectTcp (a local port reaching it). */
import test from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as sdk from '../../../src/index.js';
import { dial, echo, startComposedTcp, startTarget } from './helpers.js';

void test('exposeTcp + connectTcp: bytes round-trip, and the old names are the same functions', async (t) => {
  assert.equal(sdk.openTcpTunnel, sdk.exposeTcp, 'openTcpTunnel stays as an alias for one release');
  const stack = await startComposedTcp({ range: false });
  t.after(() => stack.close());
  const target = await startTarget(echo);
  t.after(() => target.server.close());
  const exposed = await sdk.exposeTcp({
    port: target.port,
    localHost: '127.0.0.1',
    server: stack.url,
    reconnect: false,
  });
  t.after(() => exposed.close());
  assert.ok(exposed.wsUrl && exposed.accessToken);
  const local = await sdk.connectTcp({ url: exposed.wsUrl, token: exposed.accessToken, mode: 'multiplexed' });
  t.after(() => local.close());
  assert.equal(local.address.address, '127.0.0.1');
  const socket = await dial(local.address.port);
  socket.write('hello through both directions');
  const [got] = (await once(socket, 'data')) as [Buffer];
  assert.equal(got.toString(), 'hello through both directions');
  socket.destroy();
});
