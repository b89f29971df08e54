/**
 * Port-addressed hostnames: a tunnel that allows more local ports (`allowPorts`, `--allow-port`)
 * reaches them at `<name>-http-<port>.<domain>` (HTTP) and `<name>-https-<port>.<domain>` (HTTPS to
 * the local port), on the relay and on Node's path, WebSocket included; a port it does not allow is
 * 403 before anything reaches the agent; names of that shape cannot be claimed; visitor rules
 * cover every port.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { openTunnel } from '../../src/client/burrow/open-tunnel.js';
import { RULES_ADMISSION } from '../helpers/admission.js';
import { basicAuthorization } from '../../src/auth/authorization.js';
import { closeHttp, request, startOrigin, startServer } from '../helpers/harness.js';
import { selfSignedCert } from '../helpers/tls.js';
import { runCli } from '../helpers/cli.js';

/** An origin that says which one it is. */
async function named(ctx: TestContext, label: string): Promise<{ port: number; hits: string[] }> {
  const hits: string[] = [];
  const o = await startOrigin((req, res) => {
    hits.push(req.url ?? '');
    res.end(`${label} ${req.url}`);
  });
  ctx.after(() => closeHttp(o.server));
  return { port: o.port, hits };
}

async function setup(
  ctx: TestContext,
  allowPorts: Array<number | string>,
  extra: { access?: Record<string, unknown> } = {},
) {
  const srv = await startServer({
    admission: RULES_ADMISSION,
  });
  ctx.after(() => srv.server.close());
  const main = await named(ctx, 'main');
  const tunnel = await openTunnel({
    server: srv.url,
    port: main.port,
    localHost: '127.0.0.1',
    subdomain: 'myapp',
    allowPorts,
    reconnect: false,
    ...(extra.access ? { access: extra.access } : {}),
  });
  ctx.after(() => tunnel.close());
  return { srv, main, tunnel };
}

void test('a second local port at <name>-http-<port>: relay and Node path, the main port unchanged, one connection switching between them', async (ctx) => {
  const second = await named(ctx, 'second');
  const { srv } = await setup(ctx, [second.port]);
  const main = await request(srv.port, 'myapp.localhost', '/m');
  assert.equal(main.body.toString(), 'main /m');
  const viaRelay = await request(srv.port, `myapp-http-${second.port}.localhost`, '/s');
  assert.equal(viaRelay.status, 200);
  assert.equal(viaRelay.body.toString(), 'second /s');

  // Node's path: burrow mounted into another server
  const mount = http.createServer();
  srv.server.attach(mount);
  mount.listen(0, '127.0.0.1');
  await once(mount, 'listening');
  ctx.after(() => closeHttp(mount));
  const mountPort = (mount.address() as net.AddressInfo).port;
  assert.equal((await request(mountPort, `myapp-http-${second.port}.localhost`, '/n')).body.toString(), 'second /n');

  // one kept-alive connection (a proxy in front pooling) for both hosts: each request reaches its own port
  const sock = net.connect(srv.port, '127.0.0.1');
  let wire = '';
  sock.setEncoding('latin1');
  sock.on('data', (c: string) => (wire += c));
  sock.write(
    `GET /1 HTTP/1.1\r\nHost: myapp.localhost\r\n\r\n` +
      `GET /2 HTTP/1.1\r\nHost: myapp-http-${second.port}.localhost\r\n\r\n` +
      `GET /3 HTTP/1.1\r\nHost: myapp.localhost\r\nConnection: close\r\n\r\n`,
  );
  await once(sock, 'close');
  assert.match(wire, /main \/1[\s\S]*second \/2[\s\S]*main \/3/);
});

void test('a port the tunnel does not allow: 403 BURROW_ERR_PORT_NOT_ALLOWED naming the flag, nothing reaches it', async (ctx) => {
  const allowed = await named(ctx, 'allowed');
  const other = await named(ctx, 'other');
  const { srv } = await setup(ctx, [allowed.port]);
  const r = await request(srv.port, `myapp-http-${other.port}.localhost`, '/x', {
    headers: { accept: 'application/json' },
  });
  assert.equal(r.status, 403);
  const body = JSON.parse(r.body.toString()) as { error: { code: string; fix: string } };
  assert.equal(body.error.code, 'BURROW_ERR_PORT_NOT_ALLOWED');
  assert.match(body.error.fix, /--allow-port/);
  assert.deepEqual(other.hits, []);
  // an unknown tunnel name behind the port form is a 404 as for any name
  assert.equal((await request(srv.port, `nobody-http-${allowed.port}.localhost`, '/')).status, 404);
});

void test('WebSocket on the second port', async (ctx) => {
  const wsOrigin = http.createServer((_req, res) => res.end('plain'));
  const wss = new WebSocketServer({ server: wsOrigin });
  wss.on('connection', (ws) => ws.on('message', (m, isBinary) => ws.send(m, { binary: isBinary })));
  wsOrigin.listen(0, '127.0.0.1');
  await once(wsOrigin, 'listening');
  ctx.after(() => {
    wss.close();
    return closeHttp(wsOrigin);
  });
  const wsPort = (wsOrigin.address() as net.AddressInfo).port;
  const { srv } = await setup(ctx, [`${wsPort}-${wsPort}`]);
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/ws`, { headers: { host: `myapp-http-${wsPort}.localhost` } });
  await once(ws, 'open');
  ws.send('over the second port');
  const [msg] = (await once(ws, 'message')) as [Buffer];
  assert.equal(msg.toString(), 'over the second port');
  ws.close();
});

void test('<name>-https-<port> speaks TLS to the local port (certificate checks as allowInvalidCert says)', async (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-port-https-'));
  ctx.after(() => rmSync(dir, { recursive: true, force: true }));
  const { cert, key } = selfSignedCert(dir, 'localhost', ['IP:127.0.0.1', 'DNS:localhost']);
  const secure = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) =>
    res.end(`tls ${req.url}`),
  );
  secure.listen(0, '127.0.0.1');
  await once(secure, 'listening');
  ctx.after(() => closeHttp(secure));
  const securePort = (secure.address() as net.AddressInfo).port;

  const srv = await startServer();
  ctx.after(() => srv.server.close());
  const main = await named(ctx, 'main');
  const t = await openTunnel({
    server: srv.url,
    port: main.port,
    localHost: '127.0.0.1',
    subdomain: 'secure',
    allowPorts: [securePort],
    allowInvalidCert: true,
    reconnect: false,
  });
  ctx.after(() => t.close());
  const r = await request(srv.port, `secure-https-${securePort}.localhost`, '/t');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'tls /t');
  // plain HTTP to a TLS port is the origin's problem, reported as such (not a hang)
  const plain = await request(srv.port, `secure-http-${securePort}.localhost`, '/p');
  assert.ok(plain.status === 400 || plain.status >= 500, `status ${plain.status}`);
});

void test('names shaped like a port address cannot be claimed; bad allowPorts are refused before connecting', async (ctx) => {
  const srv = await startServer();
  ctx.after(() => srv.server.close());
  const main = await named(ctx, 'main');
  await assert.rejects(
    openTunnel({ server: srv.url, port: main.port, subdomain: 'shop-http-8080', reconnect: false }),
    (e: Error & { code: string }) => e.code === 'BURROW_ERR_INVALID_NAME' && /-http-<digits>/.test(e.message),
  );
  await assert.rejects(
    openTunnel({ server: srv.url, port: main.port, allowPorts: ['70000'], reconnect: false }),
    (e: Error & { code: string }) => e.code === 'BURROW_ERR_INVALID_CONFIG',
  );
});

void test("the tunnel's visitor rules cover every port", async (ctx) => {
  const second = await named(ctx, 'second');
  const { srv } = await setup(ctx, [second.port], { access: { basicAuth: 'ann:pw' } });
  const host = `myapp-http-${second.port}.localhost`;
  assert.equal((await request(srv.port, host, '/')).status, 401);
  const ok = await request(srv.port, host, '/in', { headers: { authorization: basicAuthorization('ann', 'pw') } });
  assert.equal(ok.body.toString(), 'second /in');
  assert.deepEqual(second.hits, ['/in']);
});

void test('`burrow http --allow-port` (the CLI) prints the pattern and serves the extra port', async (ctx) => {
  const second = await named(ctx, 'cli-second');
  const srv = await startServer();
  ctx.after(() => srv.server.close());
  const main = await named(ctx, 'cli-main');
  const cli = runCli([
    'http',
    String(main.port),
    '--server',
    srv.url,
    '--subdomain',
    'cliports',
    '--local-host',
    '127.0.0.1',
    '--allow-port',
    String(second.port),
    '--json',
  ]);
  ctx.after(() => cli.child.kill());
  const line = await cli.nextLine((l) => l.includes('"event":"ports"'));
  assert.match(line, /cliports-http-<port>\.localhost/);
  const r = await request(srv.port, `cliports-http-${second.port}.localhost`, '/c');
  assert.equal(r.body.toString(), 'cli-second /c');
});
