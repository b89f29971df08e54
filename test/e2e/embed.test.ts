/** createServer mounted into someone else's http.Server, hooks, --local-host Host rewrite, graceful close. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type TunnelInfo, type RequestInfo } from '../../src/app/server.js';
import { openTunnel } from '../../src/index.js';
import { closeHttp, hostFor, request, startOrigin } from '../helpers/harness.js';

test('mounted into an existing http.Server: own routes keep working, hooks fire, tunnels work', async (t) => {
  const created: TunnelInfo[] = [];
  const closed: TunnelInfo[] = [];
  const requests: RequestInfo[] = [];
  const burrow = createServer({
    logLevel: 'silent',
    processMetrics: false,
    onTunnelCreated: (i) => created.push(i),
    onTunnelClosed: (i) => closed.push(i),
    onRequest: (r) => requests.push(r),
  });
  // the host application answers /app itself and hands everything else to burrow
  const app = http.createServer((req, res) => {
    if (req.url === '/app') return void res.end('the app');
    burrow.handleRequest(req, res);
  });
  app.on('upgrade', burrow.handleUpgrade);
  app.listen(0, '127.0.0.1');
  await once(app, 'listening');
  t.after(() => closeHttp(app));
  const port = (app.address() as AddressInfo).port;

  const origin = await startOrigin((req, res) => res.end(`origin saw host ${req.headers.host}`));
  t.after(() => closeHttp(origin.server));
  const tunnel = await openTunnel({
    port: origin.port,
    server: `http://127.0.0.1:${port}`,
    localHost: '127.0.0.1',
    hostHeader: 'internal.test',
  });
  t.after(() => tunnel.close());
  assert.equal((await request(port, `127.0.0.1:${port}`, '/app')).body.toString(), 'the app');
  assert.equal((await request(port, `127.0.0.1:${port}`, '/healthz')).status, 200);
  const r = await request(port, hostFor(tunnel.url), '/hello', { headers: { 'x-test': '1' } });
  assert.equal(r.body.toString(), 'origin saw host internal.test');
  assert.equal(created.length, 1);
  assert.equal(created[0]!.name, tunnel.name);
  assert.equal(requests.length, 1);
  assert.equal(requests[0]!.path, '/hello');
  assert.equal(requests[0]!.tunnelId, tunnel.id);
  assert.equal(requests[0]!.headers['x-test'], '1');
  const gone = new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (closed.length === 1) {
        clearInterval(check);
        resolve();
      }
    }, 10);
  });
  tunnel.close();
  await gone;
  assert.equal(closed[0]!.name, tunnel.name);
  await burrow.close();
});

test('graceful close waits for an in-flight request, then refuses new work', async (t) => {
  const burrow = createServer({
    logLevel: 'silent',
    processMetrics: false,
    address: '127.0.0.1',
    port: 0,
    drainTimeoutMs: 5000,
  });
  const { port } = await burrow.listen();
  let release: () => void = () => {};
  let arrived: () => void = () => {};
  const reachedOrigin = new Promise<void>((r) => (arrived = r));
  const origin = await startOrigin((_req, res) => {
    res.write('part 1 ');
    release = () => res.end('part 2');
    arrived();
  });
  t.after(() => closeHttp(origin.server));
  const tunnel = await openTunnel({ port: origin.port, server: `http://127.0.0.1:${port}`, localHost: '127.0.0.1' });
  t.after(() => tunnel.close());
  const inFlight = request(port, hostFor(tunnel.url), '/');
  await reachedOrigin;
  const closing = burrow.close();
  assert.equal(burrow.shuttingDown, true);
  release();
  const r = await inFlight;
  assert.equal(r.body.toString(), 'part 1 part 2');
  await closing;
});
