/**
 * SDKs: localtunnel's and pipenet's own SDKs against burrow's server, and burrow's
 * localtunnel-compatible client against burrow's server and against pipenet's OWN server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { once } from 'node:events';
import net from 'node:net';
import type http from 'node:http';
import { pipenet as pipenetSdk } from 'pipenet';
import { createServer as createPipenetServer } from 'pipenet/server';
import { localtunnel, openLocaltunnel, type RequestLine } from '../../../src/client/localtunnel/index.js';
import { closeHttp, hostFor, request } from '../../helpers/harness.js';
import { binaryPayload, startLtServer, startTestOrigin, wsEcho } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';
import { freePort } from '../../helpers/net.js';

interface LtTunnel extends NodeJS.EventEmitter {
  url: string;
  clientId: string;
  close(): void;
}
const require = createRequire(import.meta.url);
const ltSdk = require('localtunnel') as (o: Record<string, unknown>) => Promise<LtTunnel>;

async function startPipenetOwnServer(
  o: { tunnelPort?: number } = {},
): Promise<{ server: http.Server; port: number; url: string }> {
  const server = createPipenetServer({
    domains: ['localhost'],
    ...(o.tunnelPort ? { tunnelPort: o.tunnelPort } : {}),
  }) as http.Server & {
    tunnelServer?: { listen(p: number, a?: string): Promise<void>; close(): void };
  };
  if (o.tunnelPort) await server.tunnelServer!.listen(o.tunnelPort, '127.0.0.1');
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return { server, port, url: `http://127.0.0.1:${port}` };
}

void test("localtunnel's and pipenet's SDKs work against burrow's server", async (t) => {
  const srv = await startLtServer();
  t.after(() => srv.server.close());
  const origin = await startTestOrigin();
  t.after(() => closeHttp(origin.server));
  const a = await ltSdk({ port: origin.port, host: srv.url, subdomain: 'lt-sdk', local_host: '127.0.0.1' });
  t.after(() => a.close());
  const b = await pipenetSdk({ port: origin.port, host: srv.url, subdomain: 'pipenet-sdk', localHost: '127.0.0.1' });
  t.after(() => b.close());
  assert.equal(a.clientId, 'lt-sdk');
  assert.equal(b.clientId, 'pipenet-sdk');
  await waitUntil(() => srv.adapter.tunnels().every((x) => x.connectedSockets === 10));
  const seen: string[] = [];
  b.on('request', (r: RequestLine) => seen.push(`${r.method} ${r.path}`));
  assert.match((await request(srv.port, hostFor(a.url), '/from-lt')).body.toString(), /^hello GET \/from-lt/);
  assert.match(
    (await request(srv.port, hostFor(b.url!), '/from-pipenet')).body.toString(),
    /^hello GET \/from-pipenet/,
  );
  assert.deepEqual(seen, ['GET /from-pipenet']);
});

void test("burrow's localtunnel() against burrow: url, clientId, request events parsed per request, Host rewrite, binary, WebSocket", async (t) => {
  const srv = await startLtServer();
  t.after(() => srv.server.close());
  const origin = await startTestOrigin();
  t.after(() => closeHttp(origin.server));
  const tunnel = await localtunnel(origin.port, { host: srv.url, subdomain: 'burrow-lt', local_host: '127.0.0.1' });
  t.after(() => tunnel.close());
  assert.equal(tunnel.clientId, 'burrow-lt');
  assert.match(tunnel.url!, /^http:\/\/burrow-lt\.localhost:\d+$/);
  await waitUntil(() => tunnel.connectedSockets === 10 && srv.adapter.tunnels()[0]?.connectedSockets === 10);
  const seen: string[] = [];
  tunnel.on('request', (r) => seen.push(`${r.method} ${r.path}`));
  const host = hostFor(tunnel.url!);
  const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  // A body that looks like a request line must not be reported as a request.
  const tricky = Buffer.concat([Buffer.from('GET /not-a-request HTTP/1.1\r\n\r\n'), binaryPayload(70_000)]);
  for (const path of ['/one', '/two']) {
    const r = await request(srv.port, host, path, { agent });
    assert.equal(r.headers['content-length'] !== undefined, true);
    assert.match(r.body.toString(), /host=127\.0\.0\.1$/, 'Host rewritten on every request, not just the first');
  }
  const e = await request(srv.port, host, '/echo', { method: 'POST', body: tricky, agent });
  assert.ok(e.body.equals(tricky));
  const ws = await wsEcho(srv.port, host);
  assert.equal(ws.text, 'hello ws');
  assert.ok(ws.binary.equals(binaryPayload(1000, 3)));
  await waitUntil(() => seen.length >= 4);
  assert.deepEqual(seen.slice(0, 3), ['GET /one', 'GET /two', 'POST /echo']);
  assert.equal(seen[3], 'GET /ws');
  const closed = once(tunnel, 'close');
  tunnel.close();
  await closed;
});

void test("burrow's client: callback form, and a refused name is a clear error", async (t) => {
  const srv = await startLtServer();
  t.after(() => srv.server.close());
  const origin = await startTestOrigin();
  t.after(() => closeHttp(origin.server));
  const first = await new Promise<Awaited<ReturnType<typeof localtunnel>>>((resolve, reject) => {
    void localtunnel({ port: origin.port, host: srv.url, subdomain: 'cb-name' }, (err, tun) =>
      err ? reject(err) : resolve(tun!),
    ).catch(() => {});
  });
  t.after(() => first.close());
  await assert.rejects(
    localtunnel({ port: origin.port, host: srv.url, subdomain: 'cb-name' }),
    /in use by another client/,
  );
  await assert.rejects(localtunnel({ port: origin.port, host: srv.url, subdomain: 'x' }), /Invalid tunnel name/);
});

void test("burrow's client against pipenet's own server (per-tunnel port and shared tunnel port)", async (t) => {
  const origin = await startTestOrigin();
  t.after(() => closeHttp(origin.server));
  for (const shared of [false, true]) {
    const tunnelPort = shared ? await freePort() : undefined;
    const pn = await startPipenetOwnServer(tunnelPort ? { tunnelPort } : {});
    const tunnel = await openLocaltunnel({ port: origin.port, server: pn.url, localHost: '127.0.0.1' });
    try {
      // pipenet's server does not send maxConnCount unless configured: the pool is 1 socket.
      await waitUntil(() => tunnel.connectedSockets >= 1);
      const id = tunnel.clientId!;
      const host = `${id}.localhost:${pn.port}`;
      const seen: string[] = [];
      tunnel.on('request', (r) => seen.push(r.path));
      const r = await request(pn.port, host, '/via-pipenet');
      assert.equal(r.status, 200, `shared=${shared}`);
      assert.match(r.body.toString(), /^hello GET \/via-pipenet host=127\.0\.0\.1$/);
      const body = binaryPayload(120_000, 9);
      const e = await request(pn.port, host, '/echo', { method: 'POST', body });
      assert.ok(e.body.equals(body), `binary POST byte-exact through pipenet's server (shared=${shared})`);
      assert.deepEqual(seen, ['/via-pipenet', '/echo']);
    } finally {
      tunnel.close();
      (pn.server as http.Server & { tunnelServer?: { close(): void } }).tunnelServer?.close();
      await closeHttp(pn.server);
    }
  }
});

void test("burrow's client redoes the handshake and keeps its name when the server restarts", async (t) => {
  const first = await startLtServer();
  const port = first.port;
  const origin = await startTestOrigin();
  t.after(() => closeHttp(origin.server));
  const tunnel = await localtunnel({
    port: origin.port,
    host: first.url,
    backoff: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  t.after(() => tunnel.close());
  const name = tunnel.clientId!;
  const reconnected = once(tunnel, 'reconnected');
  await first.server.close();
  const second = await startLtServer({}, { port });
  t.after(() => second.server.close());
  const [ev] = (await reconnected) as [{ url: string }];
  assert.equal(new URL(ev.url).hostname, `${name}.localhost`);
  await waitUntil(() => second.adapter.tunnels()[0]?.connectedSockets === 10);
  const r = await request(port, hostFor(tunnel.url!), '/again');
  assert.equal(r.status, 200);
});
