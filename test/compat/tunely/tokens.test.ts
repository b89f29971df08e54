/** tunely agents authenticated by burrow's token store (tokens created with --format tunely, bound to one name). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenService } from '../../../src/auth/token-service.js';
import { tunelyVerifierFromTokens } from '../../../src/adapters/tunely/index.js';
import { openStore } from '../../../src/store/open.js';
import { closeHttp, request, startOrigin } from '../../helpers/harness.js';
import { connectTunely, runTunely, startTunelyServer } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

void test('tunelyVerifierFromTokens: bound token → its name; unbound, revoked and unknown tokens are refused', async (t) => {
  const store = await openStore('sqlite::memory:');
  t.after(() => store.close());
  const tokens = new TokenService({ store });
  const verify = tunelyVerifierFromTokens(tokens);
  const info = { address: '127.0.0.1', clientVersion: '0.1.0' };

  const bound = await tokens.create({ format: 'tunely', names: ['demo'], scopes: ['http'] });
  assert.match(bound.secret, /^tun_/);
  assert.deepEqual(await verify(bound.secret, info), { name: 'demo', tokenId: bound.token.id });

  const reserved = await tokens.create({ format: 'tunely' });
  await tokens.reserveName('kept-name', reserved.token.id);
  assert.deepEqual(await verify(reserved.secret, info), { name: 'kept-name', tokenId: reserved.token.id });

  const loose = await tokens.create({ format: 'tunely' });
  await assert.rejects(verify(loose.secret, info), /not bound to one name/);
  const tcpOnly = await tokens.create({ format: 'tunely', names: ['tcp-only'], scopes: ['tcp'] });
  await assert.rejects(verify(tcpOnly.secret, info), /may not open http/);
  await assert.rejects(verify('tun_unknownUnknownUnknownUnknown', info), /unknown token|not a burrow token/);
  await tokens.revoke(bound.token.id);
  await assert.rejects(verify(bound.secret, info), /revoked/);
});

void test('tunely CLI with a token from the token store; revocation disconnects it', async (t) => {
  const store = await openStore('sqlite::memory:');
  t.after(() => store.close());
  const tokens = new TokenService({ store });
  const s = await startTunelyServer({ tokens: {}, verifyToken: tunelyVerifierFromTokens(tokens) });
  t.after(() => s.server.close());
  tokens.on('revoked', (id) => s.adapter.disconnectToken(id));
  const origin = await startOrigin((req, res) => res.end(`store ${req.url}`));
  t.after(() => closeHttp(origin.server));

  const { token, secret } = await tokens.create({ format: 'tunely', names: ['store-demo'] });
  const agent = await connectTunely({
    server: s.wsUrl,
    token: secret,
    target: `http://127.0.0.1:${origin.port}`,
    reconnectSeconds: 60,
  });
  t.after(() => agent.kill());
  assert.match(agent.output(), /已连接: domain=store-demo/);
  const r = await request(s.port, `store-demo.localhost:${s.port}`, '/x?y=1');
  assert.equal(r.body.toString(), 'store /x?y=1');

  await tokens.revoke(token.id);
  await waitUntil(() => s.adapter.stats().tunelyAgents === 0);
  assert.equal((await request(s.port, `store-demo.localhost:${s.port}`, '/')).status, 503);

  const again = runTunely({
    server: s.wsUrl,
    token: secret,
    target: `http://127.0.0.1:${origin.port}`,
    reconnectSeconds: 60,
  });
  t.after(() => again.kill());
  await again.waitFor(/认证失败: .*revoked/);
});
