/**
 * Issue 13, defect 13: a clean restart answered visitors 404. A goodbye (GOAWAY) freed the name at
 * once, so between the old agent's goodbye and the new agent's REGISTER visitors got
 * `404 TUNNEL_NOT_FOUND`. Now the name is held for GOODBYE_HOLD_MS (never longer than the resume
 * grace): visitors get `503 TUNNEL_RESTARTING` + Retry-After on both HTTP paths (the relay and the
 * proxy) and on upgrades; the same owner takes the name back at once, another owner only after the
 * hold; a revoked agent's names are still not held.
 */
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { openTunnel, type OpenTunnelOptions, type Tunnel } from '../../src/client/burrow/open-tunnel.js';
import { BurrowError } from '../../src/core/errors.js';
import { GOODBYE_HOLD_MS, GOODBYE_HOLD_RETRY_AFTER_S } from '../../src/core/limits.js';
import { createServer, type BurrowServer } from '../../src/app/server.js';
import type { AgentAdmission } from '../../src/server/admission.js';
import type { ServerOptions } from '../../src/server/config.js';
import { MemoryTunnelRegistry, principalKeyOf, type RegisteredTunnel as ServerTunnel } from '../../src/server/registry.js';
import { closeHttp, request, startOrigin, startServer, type Reply } from '../helpers/harness.js';

/** Agents present a token; its text is the token id ("alice", "bob"). */
const TOKENS: AgentAdmission = {
  async authenticate({ token }) {
    if (!token) throw new BurrowError('BURROW_ERR_UNAUTHORIZED', 'a token is required');
    return { tokenId: token };
  },
  async admit(req) {
    return { name: req.name };
  },
};

type Path = 'relay' | 'proxy';

/** burrow listening itself (the relay's fast path), or mounted into an http.Server (the proxy path). */
async function listen(
  path: Path,
  options: ServerOptions = {},
): Promise<{ server: BurrowServer; port: number; url: string; close: () => Promise<void> }> {
  if (path === 'relay') {
    const s = await startServer({ admission: TOKENS, ...options });
    return { ...s, close: () => s.server.close() };
  }
  const server = createServer({ logLevel: 'silent', processMetrics: false, admission: TOKENS, ...options });
  const app = http.createServer((q, r) => server.handleRequest(q, r));
  app.on('upgrade', server.handleUpgrade);
  app.listen(0, '127.0.0.1');
  await once(app, 'listening');
  const port = (app.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await server.close();
      await closeHttp(app);
    },
  };
}

function opener(url: string, originPort: number) {
  return (token: string, subdomain: string, extra: Partial<OpenTunnelOptions> = {}): Promise<Tunnel> =>
    openTunnel({ port: originPort, localHost: '127.0.0.1', server: url, token, subdomain, reconnect: false, ...extra });
}

const visit = (port: number, name: string): Promise<Reply> =>
  request(port, `${name}.localhost`, '/', { headers: { accept: 'application/json' } });

/** A WebSocket upgrade to the tunnel: the status line and headers of the refusal. */
function upgrade(port: number, name: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.get({
      host: '127.0.0.1',
      port,
      path: '/ws',
      agent: false,
      headers: {
        host: `${name}.localhost`,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        accept: 'application/json',
      },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res);
    });
    req.on('upgrade', () => reject(new Error('upgraded to a tunnel that should not exist')));
    req.on('error', reject);
  });
}

const codeOf = (r: Reply): string => (JSON.parse(r.body.toString()) as { error: { code: string } }).error.code;

for (const path of ['relay', 'proxy'] as const) {
  test(`name held after goodbye (${path}): 503 + Retry-After, never 404; the same token takes it back at once, another cannot`, async (t) => {
    const srv = await listen(path);
    t.after(() => srv.close());
    const origin = await startOrigin((_q, r) => r.end('up'));
    t.after(() => closeHttp(origin.server));
    const open = opener(srv.url, origin.port);
    const name = `bye-${path}`;

    const first = await open('alice', name);
    assert.equal((await visit(srv.port, name)).body.toString(), 'up');
    first.close();
    await first.whenClosed();

    const held = await visit(srv.port, name);
    assert.equal(held.status, 503);
    assert.equal(codeOf(held), 'BURROW_ERR_TUNNEL_RESTARTING');
    assert.equal(held.headers['retry-after'], String(GOODBYE_HOLD_RETRY_AFTER_S));
    const up = await upgrade(srv.port, name);
    assert.equal(up.statusCode, 503);
    assert.equal(up.headers['retry-after'], String(GOODBYE_HOLD_RETRY_AFTER_S));
    assert.equal(srv.server.registry.holdOf(name)?.reason, 'goodbye');

    await assert.rejects(open('bob', name), (e: BurrowError) => {
      assert.equal(e.code, 'BURROW_ERR_NAME_TAKEN');
      assert.match(e.message, /held for its previous client/);
      return true;
    });

    // a restarted client: the same token, a new connection (a new resume token)
    const again = await open('alice', name);
    t.after(() => again.close());
    assert.equal(again.name, name);
    assert.equal((await visit(srv.port, name)).body.toString(), 'up');
    assert.equal(srv.server.registry.holdOf(name), undefined);
  });
}

test('name held after goodbye: visitors of a restarting tunnel never get 404', async (t) => {
  const srv = await listen('relay');
  t.after(() => srv.close());
  const origin = await startOrigin((_q, r) => r.end('up'));
  t.after(() => closeHttp(origin.server));
  const open = opener(srv.url, origin.port);
  const name = 'bye-restart';
  let tunnel = await open('alice', name);
  t.after(() => tunnel.close());

  // visitors all along: fresh connections and kept-alive ones (the relay keeps those on the old stream)
  const statuses: Reply[] = [];
  let stop = false;
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const loop = async (agent: http.Agent | false): Promise<void> => {
    while (!stop) {
      const r = await request(srv.port, `${name}.localhost`, '/', {
        headers: { accept: 'application/json' },
        agent,
      }).catch(() => undefined); // a kept-alive connection cut with the old agent
      if (r) statuses.push(r);
    }
  };
  const loops = [loop(false), loop(keepAlive)];
  for (let i = 0; i < 3; i++) {
    tunnel.close();
    await tunnel.whenClosed();
    statuses.push(await visit(srv.port, name)); // at least one visitor in the gap
    tunnel = await open('alice', name);
    assert.equal(tunnel.name, name);
  }
  stop = true;
  await Promise.all(loops);
  keepAlive.destroy();

  const byStatus = new Map<number, number>();
  for (const r of statuses) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
  assert.equal(byStatus.get(404), undefined, `no 404 during a restart: ${JSON.stringify([...byStatus])}`);
  assert.ok((byStatus.get(503) ?? 0) >= 3, `503 while the name is held: ${JSON.stringify([...byStatus])}`);
  for (const r of statuses) {
    if (r.status === 200) continue;
    // 503: the name is held; 502: a request in flight on the old agent, cut by its stop
    assert.ok([502, 503].includes(r.status), `status ${r.status}: ${r.body.toString()}`);
    if (r.status === 503) assert.equal(r.headers['retry-after'], String(GOODBYE_HOLD_RETRY_AFTER_S));
  }
});

test('name held after goodbye: a revoked agent is not held for; --resume-grace 0 holds nothing', async (t) => {
  const srv = await listen('relay');
  t.after(() => srv.close());
  const origin = await startOrigin((_q, r) => r.end('up'));
  t.after(() => closeHttp(origin.server));
  const open = opener(srv.url, origin.port);
  const revoked = await open('mallory', 'bye-revoked');
  t.after(() => revoked.close());
  assert.equal(srv.server.revokeToken('mallory'), 1);
  assert.equal(srv.server.registry.isHeld('bye-revoked'), false);
  assert.equal((await visit(srv.port, 'bye-revoked')).status, 404);
  const taken = await open('bob', 'bye-revoked');
  taken.close();

  const noGrace = await listen('relay', { resumeGraceMs: 0 });
  t.after(() => noGrace.close());
  const tunnel = await opener(noGrace.url, origin.port)('alice', 'bye-nograce');
  tunnel.close();
  await tunnel.whenClosed();
  assert.equal(noGrace.server.registry.isHeld('bye-nograce'), false);
  assert.equal(codeOf(await visit(noGrace.port, 'bye-nograce')), 'BURROW_ERR_TUNNEL_NOT_FOUND');
});

test('name held after goodbye: the hold ends after GOODBYE_HOLD_MS, then anyone may take the name', (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  let now = 1_000_000;
  const registry = new MemoryTunnelRegistry({ maxTunnels: 10, now: () => now });
  const fake = (name: string): ServerTunnel => ({
    id: `id-${name}-${now}`,
    name,
    protocol: 'burrow',
    kind: 'http',
    url: `http://${name}.localhost`,
    createdAt: now,
    stats: () => ({ openStreams: 0, totalStreams: 0, bytesIn: 0, bytesOut: 0, requests: 0, connectedSockets: 1 }),
    close() {},
  });
  const alice = principalKeyOf('alice', '10.0.0.1');
  const anonymousHere = principalKeyOf(null, '10.0.0.1');
  const anonymousElsewhere = principalKeyOf(null, '10.0.0.2');
  const goodbye = (name: string, principalKey: string): void => {
    const t = registry.add(() => fake(name), { name, ownerKey: 'resume-1', principalKey });
    registry.remove(t, { reason: 'goodbye', graceMs: GOODBYE_HOLD_MS, ownerKey: 'resume-1', principalKey });
  };

  goodbye('held-name', alice);
  assert.deepEqual(registry.holdOf('held-name'), { reason: 'goodbye', remainingMs: GOODBYE_HOLD_MS });
  const taken = (name: string, principalKey: string, ownerKey = 'resume-2'): void =>
    assert.throws(
      () => registry.add(() => fake(name), { name, ownerKey, principalKey }),
      (e: BurrowError) => e.code === 'BURROW_ERR_NAME_TAKEN',
    );
  const claim = (name: string, options: { principalKey?: string; ownerKey?: string }): string =>
    registry.add(() => fake(name), { name, ...options }).name;

  taken('held-name', principalKeyOf('bob', '10.0.0.1'));
  taken('held-name', anonymousHere);
  now += GOODBYE_HOLD_MS - 1;
  mock.timers.tick(GOODBYE_HOLD_MS - 1);
  assert.deepEqual(registry.holdOf('held-name'), { reason: 'goodbye', remainingMs: 1 });
  taken('held-name', principalKeyOf('bob', '10.0.0.1'));
  now += 1;
  mock.timers.tick(1);
  assert.equal(registry.holdOf('held-name'), undefined);
  assert.equal(claim('held-name', { principalKey: principalKeyOf('bob', '10.0.0.1') }), 'held-name');

  // the same owner: its access token, or its resume token
  goodbye('token-name', alice);
  assert.equal(claim('token-name', { principalKey: principalKeyOf('alice', '192.0.2.9') }), 'token-name');
  goodbye('resume-name', alice);
  assert.equal(claim('resume-name', { ownerKey: 'resume-1' }), 'resume-name');

  // anonymous agents: the same address is the same owner (a restarted `burrow http`), another is not
  goodbye('anon-name', anonymousHere);
  taken('anon-name', anonymousElsewhere);
  assert.equal(claim('anon-name', { principalKey: anonymousHere }), 'anon-name');

  // a drop (resume grace) is given back by the resume token only, never by the principal
  const dropped = registry.add(() => fake('drop-name'), {
    name: 'drop-name',
    ownerKey: 'resume-3',
    principalKey: alice,
  });
  registry.remove(dropped, { graceMs: 60_000, ownerKey: 'resume-3', principalKey: alice });
  assert.equal(registry.holdOf('drop-name')?.reason, 'resume');
  taken('drop-name', alice, 'resume-4');
  assert.equal(claim('drop-name', { ownerKey: 'resume-3' }), 'drop-name');
  registry.close();
});
