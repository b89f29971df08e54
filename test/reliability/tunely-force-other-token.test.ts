/**
 * Issue 13, defect 8: a different token could take over a tunely tunnel with `force`. Two tokens
 * created with the same unreserved --name: the second one, connecting with --force, evicted the
 * first token's agent and got the *same* tunnel_id (docs/accounts.md: a name taken over by another
 * token gets a fresh id); without force it was refused with "already connected with this token".
 * Now force replaces only a connection of the same token: another token is refused (auth_failed,
 * "connected with another token") and the first agent keeps serving; once the name is released,
 * the other token gets a fresh tunnel_id.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { createTunelyAdapter } from '../../src/adapters/tunely/index.js';
import { closeHttp, request, startOrigin, startServer } from '../helpers/harness.js';
import { BACKENDS, startComposed } from '../e2e/accounts/helpers.js';
import { connectTunely, runTunely } from '../compat/tunely/helpers.js';
import { waitUntil } from '../helpers/wait.js';

/** One raw tunely `auth` exchange: the server's first answer (auth_ok or auth_error). */
async function rawAuth(
  wsUrl: string,
  token: string,
  force = false,
): Promise<{ msg: Record<string, unknown>; ws: WebSocket }> {
  const ws = new WebSocket(wsUrl);
  await once(ws, 'open');
  ws.send(JSON.stringify({ type: 'auth', token, client_version: 'test', force }));
  const [data] = (await once(ws, 'message')) as [Buffer];
  return { msg: JSON.parse(data.toString('utf8')) as Record<string, unknown>, ws };
}

void test('tunely --force with another token on the same name is refused; the first agent keeps its tunnel and id', async (t) => {
  const db = await BACKENDS[0]!.create();
  t.after(() => db.cleanup());
  const srv = await startComposed(db.url);
  t.after(() => srv.composed.close());
  const originA = await startOrigin((_q, r) => r.end('agent A'));
  t.after(() => closeHttp(originA.server));
  const originB = await startOrigin((_q, r) => r.end('agent B'));
  t.after(() => closeHttp(originB.server));
  const tokens = srv.composed.accounts.tokens;
  const a = await tokens.create({ format: 'tunely', names: ['shared'], label: 'a' });
  const b = await tokens.create({ format: 'tunely', names: ['shared'], label: 'b' });
  const wsUrl = `ws://127.0.0.1:${srv.port}/ws/tunnel`;
  const visit = async (): Promise<string> =>
    (await request(srv.port, `shared.localhost:${srv.port}`, '/')).body.toString('utf8');

  const agentA = await connectTunely({ server: wsUrl, token: a.secret, target: `http://127.0.0.1:${originA.port}` });
  t.after(() => agentA.kill());
  const idA = srv.composed.server.registry.get('shared')?.id;
  assert.ok(idA);
  assert.equal(await visit(), 'agent A');

  // the other token, with --force: refused, and it says why (not "connected with this token")
  const forced = runTunely({ server: wsUrl, token: b.secret, target: `http://127.0.0.1:${originB.port}`, force: true });
  t.after(() => forced.kill());
  await forced.waitFor(/认证失败: .*connected with another token/);
  assert.doesNotMatch(forced.output(), /with this token/);
  await forced.kill();
  // …without force too
  const plain = await rawAuth(wsUrl, b.secret);
  assert.equal(plain.msg['type'], 'auth_error');
  assert.equal(plain.msg['code'], 'auth_failed');
  assert.match(String(plain.msg['error']), /connected with another token/);
  plain.ws.terminate();

  // the first agent was never evicted: same tunnel, same id, same origin
  assert.equal(srv.composed.server.registry.get('shared')?.id, idA);
  assert.equal(agentA.child.exitCode, null, 'the first agent is still running');
  assert.equal(await visit(), 'agent A');

  // force still replaces a connection of the same token, which keeps its id
  const again = await rawAuth(wsUrl, a.secret, true);
  assert.equal(again.msg['type'], 'auth_ok');
  assert.equal(again.msg['tunnel_id'], idA);
  again.ws.terminate();
});

void test('a tunely name held offline for one token is refused to another; once released, the other token gets a fresh tunnel_id', async () => {
  const tokens = {
    tun_firstTokenForForceTests000000000000: 'shared',
    tun_secondTokenForForceTests00000000000: 'shared',
  };
  const [first, second] = Object.keys(tokens) as [string, string];
  // offline grace: held for its token (Infinity), or released at once (0)
  for (const offlineGraceMs of [Infinity, 0]) {
    const adapter = createTunelyAdapter({ tokens, offlineGraceMs });
    const { server, port } = await startServer({ adapters: [adapter] });
    const wsUrl = `ws://127.0.0.1:${port}${adapter.path}`;
    try {
      const one = await rawAuth(wsUrl, first);
      assert.equal(one.msg['type'], 'auth_ok');
      const idOne = one.msg['tunnel_id'];
      one.ws.terminate();
      await waitUntil(() => adapter.stats().tunelyAgents === 0, {
        timeoutMs: 5_000,
        what: 'the first agent to be gone',
      });
      const two = await rawAuth(wsUrl, second, true);
      if (offlineGraceMs === Infinity) {
        assert.equal(two.msg['type'], 'auth_error');
        assert.match(String(two.msg['error']), /held for another token/);
        assert.equal(server.registry.get('shared')?.id, idOne);
      } else {
        assert.equal(two.msg['type'], 'auth_ok');
        assert.notEqual(two.msg['tunnel_id'], idOne, 'a name taken over by another token gets a fresh id');
      }
      two.ws.terminate();
    } finally {
      await server.close();
    }
  }
});
