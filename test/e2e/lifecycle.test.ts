/** Agents dying, servers restarting, garbage on the agent socket, the CLI's exit codes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import net from 'node:net';
import { WebSocket } from 'ws';
import { openTunnel } from '../../src/index.js';
import { encodeJsonFrame, FrameType } from '../../src/wire/mux/frames.js';
import { closeHttp, hostFor, request, startOrigin, startServer } from '../helpers/harness.js';
import { runCli } from '../helpers/cli.js';

test('agent killed mid-stream: the visitor is cut at once, later visitors get 502', async (t) => {
  const { server, port, url } = await startServer();
  t.after(() => server.close());
  const origin = await startOrigin((req, res) => {
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('start\n');
      return; // never ends
    }
    if (req.url === '/hang') return; // never answers
    res.end('ok');
  });
  t.after(() => closeHttp(origin.server));
  const cli = runCli(['http', String(origin.port), '--server', url, '--local-host', '127.0.0.1', '--json']);
  t.after(() => cli.child.kill('SIGKILL'));
  const ready = JSON.parse(await cli.nextLine((l) => l.includes('"ready"')));
  const host = hostFor(ready.url);
  assert.equal((await request(port, host, '/')).body.toString(), 'ok');

  // one response in progress, one waiting for its head
  const streaming = new Promise<string>((resolve) => {
    http.get({ host: '127.0.0.1', port, path: '/stream', headers: { host } }, (res) => {
      res.once('data', () => {
        cli.child.kill('SIGKILL');
      });
      res.on('error', () => resolve('aborted'));
      res.on('aborted', () => resolve('aborted'));
      res.on('end', () => resolve('ended'));
    });
  });
  const hanging = request(port, host, '/hang', { headers: { accept: 'application/json' } });
  const started = Date.now();
  assert.equal(await streaming, 'aborted');
  const h = await hanging;
  assert.equal(h.status, 502);
  assert.equal(JSON.parse(h.body.toString()).error.code, 'BURROW_ERR_AGENT_GONE');
  assert.ok(Date.now() - started < 3000, 'the visitor must not hang');
  const later = await request(port, host, '/', { headers: { accept: 'application/json' } });
  assert.equal(later.status, 502);
  assert.equal(later.headers['retry-after'], '2');
});

test('server restarted: the agent reconnects and keeps its name', async (t) => {
  const first = await startServer();
  const port = first.port;
  const origin = await startOrigin((_req, res) => res.end('still here'));
  t.after(() => closeHttp(origin.server));
  const tunnel = await openTunnel({
    port: origin.port,
    server: first.url,
    localHost: '127.0.0.1',
    backoff: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  t.after(() => tunnel.close());
  const url = tunnel.url;
  const reconnecting = once(tunnel, 'reconnecting');
  await first.server.close();
  await reconnecting;
  const second = await startServer({ port });
  t.after(() => second.server.close());
  const [r] = (await once(tunnel, 'reconnected')) as [{ url: string }];
  assert.equal(r.url, url);
  const res = await request(port, hostFor(url), '/');
  assert.equal(res.body.toString(), 'still here');
});

test('a dropped agent gets its name back within the grace period; others cannot take it', async (t) => {
  const { server, port, url } = await startServer({ resumeGraceMs: 10_000 });
  t.after(() => server.close());
  const origin = await startOrigin((_req, res) => res.end('x'));
  t.after(() => closeHttp(origin.server));
  // the agent reaches the server through a TCP relay we can cut, like a network drop
  const live = new Set<net.Socket>();
  const relay = net.createServer((c) => {
    const s = net.connect(port, '127.0.0.1');
    live.add(c).add(s);
    c.pipe(s).pipe(c);
    c.on('error', () => s.destroy());
    s.on('error', () => c.destroy());
    c.on('close', () => s.destroy());
    s.on('close', () => c.destroy());
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  t.after(() => relay.close());
  const relayUrl = `http://127.0.0.1:${(relay.address() as net.AddressInfo).port}`;
  const tunnel = await openTunnel({
    port: origin.port,
    server: relayUrl,
    subdomain: 'grace-name',
    backoff: { initialDelayMs: 300, maxDelayMs: 300, jitter: 0 },
  });
  t.after(() => tunnel.close());
  const reconnected = once(tunnel, 'reconnected');
  const disconnected = once(tunnel, 'disconnected');
  for (const s of live) s.destroy();
  await disconnected;
  // meanwhile, someone else asks for the same name
  await assert.rejects(
    openTunnel({ port: origin.port, server: url, subdomain: 'grace-name', reconnect: false }),
    (e: Error & { code: string }) => e.code === 'BURROW_ERR_NAME_TAKEN',
  );
  const [r] = (await reconnected) as [{ url: string }];
  assert.match(r.url, /grace-name/);
  assert.equal(tunnel.name, 'grace-name');
});

test('garbage on the agent endpoint: the server closes that connection and keeps serving', async (t) => {
  const { server, port, url } = await startServer();
  t.after(() => server.close());
  const origin = await startOrigin((_req, res) => res.end('fine'));
  t.after(() => closeHttp(origin.server));
  const tunnel = await openTunnel({ port: origin.port, server: url, localHost: '127.0.0.1' });
  t.after(() => tunnel.close());

  const attempts: [string, (ws: WebSocket) => void, number][] = [
    ['binary garbage', (ws) => ws.send(Buffer.from('\xff\xfe garbage that is not a frame')), 1002],
    ['a text message', (ws) => ws.send('hello?'), 1002],
    ['a wrong version', (ws) => ws.send(encodeJsonFrame(FrameType.HELLO, 0, { v: 99, client: 'x' })), 4426],
    ['REGISTER before HELLO', (ws) => ws.send(encodeJsonFrame(FrameType.REGISTER, 0, { req: 1, kind: 'http' })), 1002],
    ['a frame claiming 4 GiB', (ws) => ws.send(Buffer.from([0x11, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff])), 1009],
  ];
  for (const [what, send, code] of attempts) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/agent`);
    await once(ws, 'open');
    send(ws);
    const [closeCode] = (await once(ws, 'close')) as [number];
    assert.equal(closeCode, code, what);
  }
  const res = await request(port, hostFor(tunnel.url), '/');
  assert.equal(res.body.toString(), 'fine');
  // and plain garbage on the HTTP port
  const r = await new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.end('\x00\x01\x02 not http\r\n\r\n'));
    let out = '';
    s.on('data', (c: Buffer) => (out += c.toString()));
    s.on('close', () => resolve(out));
  });
  assert.match(r, /^HTTP\/1.1 400/);
});

test('the CLI exits non-zero at once with the server message when the name is refused', async (t) => {
  const { server, url } = await startServer();
  t.after(() => server.close());
  const cli = runCli(['http', '3999', '--server', url, '--subdomain', 'admin']);
  const code = await cli.exited;
  assert.equal(code, 1);
  assert.match(cli.stderr(), /reserved/);
  assert.match(cli.stderr(), /BURROW_ERR_NAME_RESERVED/);
});
