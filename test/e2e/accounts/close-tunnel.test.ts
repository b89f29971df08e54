/**
 * An operator closes one live tunnel (DELETE /api/admin/live/:id, the console's Disconnect): its
 * name is free at once, the burrow agent is told why (UNREGISTER, BURROW_ERR_TUNNEL_CLOSED) and does
 * not bring it back, even after a reconnect; the agent's other tunnels keep serving; `burrow http`
 * exits 1 with the reason in the one error format.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { AgentConnection } from '../../../src/client/burrow/agent.js';
import { serveStreamLocally } from '../../../src/client/burrow/open-tunnel.js';
import type { BurrowError } from '../../../src/core/errors.js';
import { runCli } from '../../helpers/cli.js';
import { waitUntil } from '../../helpers/wait.js';
import { ADMIN_TOKEN, BACKENDS, admin, composedStack, tunnel, visit } from './helpers.js';

const sqlite = BACKENDS[0]!;

describe('closing one live tunnel', () => {
  const stack = composedStack(sqlite, { auth: 'none' });

  it('lists live tunnels, closes one of an agent’s two, keeps the other, and never re-registers it', async () => {
    const { srv, origin } = stack;
    // the agent reaches the server through a TCP relay the test can cut, like a network drop
    const live = new Set<net.Socket>();
    const cut = net.createServer((c) => {
      const s = net.connect(srv.port, '127.0.0.1');
      live.add(c).add(s);
      c.pipe(s).pipe(c);
      for (const [a, b] of [
        [c, s],
        [s, c],
      ] as const) {
        a.on('error', () => b.destroy());
        a.on('close', () => b.destroy());
      }
    });
    cut.listen(0, '127.0.0.1');
    await once(cut, 'listening');
    const viaCut = `http://127.0.0.1:${(cut.address() as net.AddressInfo).port}`;
    const agent = new AgentConnection({
      server: viaCut,
      reconnect: true,
      backoff: { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 },
    });
    const target = { host: '127.0.0.1', port: origin.port };
    const closed: BurrowError[] = [];
    agent.on('unregistered', (_spec, e) => closed.push(e));
    agent.on('error', () => {});
    await agent.start();
    const keep = await agent.register({
      kind: 'http',
      name: 'keep-me',
      onStream: (s) => serveStreamLocally(s, target),
    });
    const drop = await agent.register({
      kind: 'http',
      name: 'drop-me',
      onStream: (s) => serveStreamLocally(s, target),
    });
    try {
      const listed = await admin(srv.port, 'GET', '/live');
      assert.equal(listed.status, 200);
      const names = (listed.json as { live: { id: string; name: string; protocol: string }[] }).live.map((t) => t.name);
      assert.deepEqual(names.sort(), ['drop-me', 'keep-me']);

      const r = await admin(srv.port, 'DELETE', `/live/${drop.id}`);
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { closed: { id: drop.id, name: 'drop-me', protocol: 'burrow' } });
      await waitUntil(() => closed.length === 1, { what: 'the agent heard of it' });
      assert.equal(closed[0]!.code, 'BURROW_ERR_TUNNEL_CLOSED');

      // the name is free at once (not held for the agent): 404, and another client may take it
      assert.equal((await visit(srv.port, `drop-me.localhost:${srv.port}`)).status, 404);
      assert.equal((await visit(srv.port, `keep-me.localhost:${srv.port}`)).status, 200);
      const other = await tunnel(srv.url, origin.port, { subdomain: 'drop-me' });
      other.close();
      await other.whenClosed();

      // a reconnect brings back the kept tunnel only
      const registered: string[] = [];
      agent.on('registered', (_spec, t) => registered.push(t.name));
      const connected = once(agent, 'connected');
      for (const sock of live) sock.destroy();
      await connected;
      await waitUntil(() => registered.length > 0, { what: 'the kept tunnel registered again' });
      const now = (await admin(srv.port, 'GET', '/live')).json as { live: { name: string }[] };
      assert.deepEqual(registered, ['keep-me']);
      assert.deepEqual(
        now.live.map((t) => t.name),
        ['keep-me'],
      );
      assert.equal(keep.name, 'keep-me');
      assert.equal((await visit(srv.port, `keep-me.localhost:${srv.port}`)).status, 200);
      assert.equal((await admin(srv.port, 'DELETE', `/live/${drop.id}`)).status, 404, 'gone: nothing to close');
    } finally {
      agent.close();
      for (const sock of live) sock.destroy();
      cut.close();
    }
  });

  it('`burrow http` exits 1 with the reason, fix and code when its tunnel is closed', async () => {
    const { srv, origin } = stack;
    const cli = runCli([
      'http',
      String(origin.port),
      '--server',
      srv.url,
      '--subdomain',
      'cli-closed',
      '--local-host',
      '127.0.0.1',
      '--json',
    ]);
    try {
      await cli.nextLine((l) => l.includes('"event":"ready"'));
      const live = (await admin(srv.port, 'GET', '/live')).json as { live: { id: string; name: string }[] };
      const id = live.live.find((t) => t.name === 'cli-closed')!.id;
      assert.equal((await admin(srv.port, 'DELETE', `/live/${id}`)).status, 200);
      assert.equal(await cli.exited, 1);
      const all = cli.lines.join('\n') + cli.stderr();
      assert.match(all, /BURROW_ERR_TUNNEL_CLOSED/);
      assert.doesNotMatch(cli.stderr(), /^\s+at /m, 'no stack trace');
    } finally {
      cli.child.kill();
    }
  });

  it('refuses without the admin token and answers 404 for an unknown id', async () => {
    const { srv } = stack;
    assert.equal((await admin(srv.port, 'DELETE', '/live/nope', undefined, null)).status, 401);
    assert.equal((await admin(srv.port, 'DELETE', '/live/nope', undefined, `${ADMIN_TOKEN}x`)).status, 401);
    const r = await admin(srv.port, 'DELETE', '/live/nope');
    assert.equal(r.status, 404);
    assert.match(JSON.stringify(r.json), /BURROW_ERR_TUNNEL_NOT_FOUND/);
  });
});
