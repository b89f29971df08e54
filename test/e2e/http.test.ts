/** End-to-end through a real burrow server + agent to a real local origin (issue: core HTTP tunnels). */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { randomBytes, createHash } from 'node:crypto';
import { once } from 'node:events';
import { REFUSED_PORT } from '../helpers/net.js';
import { WebSocket, WebSocketServer } from 'ws';
import { openTunnel, type Tunnel } from '../../src/index.js';
import type { BurrowServer } from '../../src/app/server.js';
import { closeHttp, hostFor, request, startOrigin, startServer } from '../helpers/harness.js';

let server: BurrowServer;
let port: number;
let serverUrl: string;
let origin: { server: http.Server; port: number };
let tunnel: Tunnel;
let host: string;
let wss: WebSocketServer;

before(async () => {
  ({ server, port, url: serverUrl } = await startServer({ requestTimeoutMs: 1500 }));
  origin = await startOrigin((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    switch (u.pathname) {
      case '/echo': {
        const h = createHash('sha256');
        let n = 0;
        req.on('data', (c: Buffer) => {
          h.update(c);
          n += c.length;
        });
        req.on('end', () => {
          res.setHeader('x-body-sha256', h.digest('hex'));
          res.setHeader('x-body-length', String(n));
          res.setHeader('x-method', req.method ?? '');
          const fh = req.headers;
          res.setHeader(
            'x-forwarded',
            [fh['x-forwarded-for'], fh['x-forwarded-proto'], fh['x-forwarded-host']].map(String).join('|'),
          );
          res.end();
        });
        return;
      }
      case '/mirror': // returns the body as-is
        res.setHeader('content-type', req.headers['content-type'] ?? 'application/octet-stream');
        req.pipe(res);
        return;
      case '/bytes': {
        const size = Number(u.searchParams.get('n'));
        res.setHeader('content-length', String(size));
        const chunk = Buffer.alloc(64 * 1024, 0xab);
        let sent = 0;
        const pump = (): void => {
          while (sent < size) {
            const n = Math.min(chunk.length, size - sent);
            sent += n;
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        pump();
        return;
      }
      case '/chunked': {
        let i = 0;
        const t = setInterval(() => {
          res.write(`chunk-${i}\n`);
          if (++i === 5) {
            clearInterval(t);
            res.end();
          }
        }, 5);
        return;
      }
      case '/sse': {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('data: first\n\n');
        const t = setTimeout(() => res.end('data: second\n\n'), 400);
        req.on('close', () => clearTimeout(t));
        return;
      }
      case '/slow':
        setTimeout(() => res.end('late'), 5000).unref();
        return;
      case '/status': // answers with ?code=
        res.statusCode = Number(u.searchParams.get('code'));
        res.end();
        return;
      case '/head':
        res.setHeader('content-length', '1234');
        res.end(req.method === 'HEAD' ? undefined : Buffer.alloc(1234));
        return;
      default:
        res.end(`path=${u.pathname}`);
    }
  });
  wss = new WebSocketServer({ server: origin.server, handleProtocols: (p) => [...p][0] ?? false });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? undefined : (data as Buffer).toString();
      if (text === 'close-4001') ws.close(4001, 'asked');
      else ws.send(data, { binary: isBinary });
    });
  });
  tunnel = await openTunnel({ port: origin.port, server: serverUrl, localHost: '127.0.0.1', subdomain: 'e2e-core' });
  host = hostFor(tunnel.url);
});

after(async () => {
  tunnel.close();
  wss.close();
  await server.close();
  await closeHttp(origin.server);
});

describe('HTTP through a tunnel', () => {
  test('the tunnel got the requested name', () => {
    assert.equal(tunnel.name, 'e2e-core');
    assert.equal(tunnel.url, `http://e2e-core.localhost:${port}`);
  });

  test('POST of a binary body arrives byte-exact and the response comes back byte-exact', async () => {
    const body = randomBytes(300_000);
    const r = await request(port, host, '/mirror', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-test' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/x-test');
    assert.ok(r.body.equals(body), 'mirrored body differs');
    const e = await request(port, host, '/echo', { method: 'PUT', body });
    assert.equal(e.headers['x-body-sha256'], createHash('sha256').update(body).digest('hex'));
    assert.equal(e.headers['x-method'], 'PUT');
  });

  test('X-Forwarded-* are set, and spoofed ones are dropped without --trust-proxy', async () => {
    const r = await request(port, host, '/echo', {
      headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil' },
    });
    assert.equal(r.headers['x-forwarded'], `127.0.0.1|http|${host}`);
  });

  test('chunked upload (no content-length) and chunked download', async () => {
    const body = randomBytes(200_000);
    const r = await new Promise<{ sha: string; len: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/echo', method: 'POST', headers: { host } }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ sha: String(res.headers['x-body-sha256']), len: String(res.headers['x-body-length']) }),
        );
      });
      req.on('error', reject);
      for (let i = 0; i < body.length; i += 10_000) req.write(body.subarray(i, i + 10_000));
      req.end();
    });
    assert.equal(r.len, String(body.length));
    assert.equal(r.sha, createHash('sha256').update(body).digest('hex'));
    const d = await request(port, host, '/chunked');
    assert.equal(d.headers['transfer-encoding'], 'chunked');
    assert.equal(d.body.toString(), [0, 1, 2, 3, 4].map((i) => `chunk-${i}\n`).join(''));
  });

  test('SSE: the first event arrives at once, before the origin sends the second', async () => {
    const started = Date.now();
    const firstAt = await new Promise<number>((resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port, path: '/sse', headers: { host, accept: 'text/event-stream' } },
        (res) => {
          assert.equal(res.headers['content-type'], 'text/event-stream');
          res.once('data', (c: Buffer) => {
            assert.match(c.toString(), /data: first/);
            resolve(Date.now() - started);
            res.destroy();
          });
        },
      );
      req.on('error', reject);
    });
    assert.ok(firstAt < 300, `first event took ${firstAt} ms`);
  });

  test('HEAD keeps content-length and sends no body', async () => {
    const r = await request(port, host, '/head', { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], '1234');
    assert.equal(r.body.length, 0);
  });

  test('Expect: 100-continue gets a 100 and the body goes through', async () => {
    const body = randomBytes(5000);
    const got = await new Promise<{ cont: boolean; len: string }>((resolve, reject) => {
      let cont = false;
      const req = http.request({
        host: '127.0.0.1',
        port,
        path: '/echo',
        method: 'POST',
        headers: { host, expect: '100-continue', 'content-length': String(body.length) },
      });
      req.on('continue', () => {
        cont = true;
        req.end(body);
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve({ cont, len: String(res.headers['x-body-length']) }));
      });
      req.on('error', reject);
    });
    assert.equal(got.cont, true);
    assert.equal(got.len, '5000');
  });

  test('200 concurrent requests all succeed', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => request(port, host, `/n/${i}`, { agent })));
    agent.destroy();
    results.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), `path=/n/${i}`);
    });
  });

  test('no response in time → 504 with a clear message', async () => {
    const r = await request(port, host, '/slow', { headers: { accept: 'application/json' } });
    assert.equal(r.status, 504);
    assert.equal(JSON.parse(r.body.toString()).error.code, 'BURROW_ERR_TIMEOUT');
  });

  test('WebSocket echo: text, binary, ping, close code, subprotocol', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, ['chat.v1'], { headers: { host } });
    await once(ws, 'open');
    assert.equal(ws.protocol, 'chat.v1');
    ws.send('hello');
    const [text, isBin] = (await once(ws, 'message')) as [Buffer, boolean];
    assert.equal(text.toString(), 'hello');
    assert.equal(isBin, false);
    const bin = randomBytes(100_000);
    ws.send(bin);
    const [got, isBin2] = (await once(ws, 'message')) as [Buffer, boolean];
    assert.equal(isBin2, true);
    assert.ok(got.equals(bin));
    ws.ping('p');
    const [pong] = (await once(ws, 'pong')) as [Buffer];
    assert.equal(pong.toString(), 'p');
    ws.send('close-4001');
    const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
    assert.equal(code, 4001);
    assert.equal(reason.toString(), 'asked');
  });

  test(
    'regression (an upgraded connection stayed paused once its stream had been full): a visitor sending 8 MiB over a WebSocket gets it all echoed',
    { timeout: 30_000 },
    async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { host } });
      await once(ws, 'open');
      try {
        const big = randomBytes(8 * 1024 * 1024);
        // several messages, each more than the stream takes at once: the visitor is paused and resumed
        for (let i = 0; i < 3; i++) {
          ws.send(big);
          const [got] = (await once(ws, 'message')) as [Buffer];
          assert.ok(got.equals(big), `message ${i} echoed whole`);
        }
      } finally {
        ws.close();
      }
    },
  );

  test('request events reach the SDK (method, path, status, duration)', async () => {
    const ev = once(tunnel, 'request');
    await request(port, host, '/evented?x=1');
    const [r] = (await ev) as [{ method: string; path: string; status: number; durationMs: number }];
    assert.equal(r.method, 'GET');
    assert.equal(r.path, '/evented?x=1');
    assert.equal(r.status, 200);
    assert.ok(r.durationMs >= 0);
  });
});

describe('clear answers', () => {
  test('unknown tunnel → 404 naming it, HTML for browsers and JSON for tools', async () => {
    const j = await request(port, `nobody-here.localhost:${port}`, '/');
    assert.equal(j.status, 404);
    assert.equal(JSON.parse(j.body.toString()).error.code, 'BURROW_ERR_TUNNEL_NOT_FOUND');
    const h = await request(port, `nobody-here.localhost:${port}`, '/', { headers: { accept: 'text/html' } });
    assert.equal(h.status, 404);
    assert.match(String(h.headers['content-type']), /text\/html/);
    assert.match(h.body.toString(), /nobody-here/);
  });

  test('oversized request headers → 431', async () => {
    const sock = net.connect(port, '127.0.0.1');
    await once(sock, 'connect');
    sock.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(40 * 1024)}\r\n\r\n`);
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    await once(sock, 'close');
    assert.match(Buffer.concat(chunks).toString(), /^HTTP\/1.1 431/);
  });

  test('origin refused → 502 naming the local port', async () => {
    const t = await openTunnel({ port: REFUSED_PORT, server: serverUrl, localHost: '127.0.0.1' });
    try {
      const r = await request(port, hostFor(t.url), '/', { headers: { accept: 'application/json' } });
      assert.equal(r.status, 502);
      const e = JSON.parse(r.body.toString()).error;
      assert.equal(e.code, 'BURROW_ERR_ORIGIN_REFUSED');
      assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${REFUSED_PORT}\\b`));
    } finally {
      t.close();
    }
  });

  test('bad names are refused with the reason; a live name is never given twice', async () => {
    for (const [name, code] of [
      ['a.b.c.d', 'BURROW_ERR_INVALID_NAME'],
      ['ab', 'BURROW_ERR_INVALID_NAME'],
      ['-bad-', 'BURROW_ERR_INVALID_NAME'],
      ['under_score', 'BURROW_ERR_INVALID_NAME'],
      ['admin', 'BURROW_ERR_NAME_RESERVED'],
      ['e2e-core', 'BURROW_ERR_NAME_TAKEN'],
    ] as const) {
      await assert.rejects(
        openTunnel({ port: origin.port, server: serverUrl, subdomain: name, reconnect: false }),
        (e: Error & { code: string }) => {
          assert.equal(e.code, code, `${name}: ${e.message}`);
          return true;
        },
      );
    }
  });

  test('names are case-insensitive: UPPER is given as upper', async () => {
    const t = await openTunnel({ port: origin.port, server: serverUrl, subdomain: 'UPPER-case' });
    assert.equal(t.name, 'upper-case');
    t.close();
  });

  test('API: /api/status, /api/tunnels/:id/status, /health, /healthz, /readyz, /metrics', async () => {
    const own = `127.0.0.1:${port}`;
    const status = JSON.parse((await request(port, own, '/api/status')).body.toString());
    assert.ok(status.tunnels >= 1);
    assert.ok(status.mem.rss > 0);
    const ts = JSON.parse((await request(port, own, '/api/tunnels/e2e-core/status')).body.toString());
    assert.equal(ts.connectedSockets, 1);
    assert.equal(ts.connected_sockets, 1);
    assert.equal(ts.name, 'e2e-core');
    const health = JSON.parse((await request(port, own, '/health')).body.toString());
    assert.equal(health.status, 'healthy');
    assert.ok(health.connections.tunnels >= 1);
    assert.equal(typeof health.timestamp, 'string');
    assert.equal(JSON.parse((await request(port, own, '/healthz')).body.toString()).status, 'ok');
    assert.equal(JSON.parse((await request(port, own, '/readyz')).body.toString()).status, 'ready');
    const metrics = (await request(port, own, '/metrics')).body.toString();
    assert.match(metrics, /burrow_tunnels\{protocol="burrow"\} \d+/);
    assert.match(metrics, /burrow_http_requests_total/);
  });

  test('/metrics counts each proxied request by protocol and status, and its duration', async () => {
    const own = `127.0.0.1:${port}`;
    const read = async (): Promise<{ teapots: number; ok: number; durations: number }> => {
      const text = (await request(port, own, '/metrics')).body.toString();
      const num = (re: RegExp): number => Number(re.exec(text)?.[1] ?? 0);
      return {
        teapots: num(/^burrow_http_requests_total\{protocol="burrow",status="418"\} (\d+)$/m),
        ok: num(/^burrow_http_requests_total\{protocol="burrow",status="200"\} (\d+)$/m),
        durations: num(/^burrow_http_request_duration_seconds_count\{protocol="burrow"\} (\d+)$/m),
      };
    };
    const before = await read();
    for (let i = 0; i < 3; i++) assert.equal((await request(port, host, '/status?code=418')).status, 418);
    for (let i = 0; i < 2; i++) assert.equal((await request(port, host, '/counted')).status, 200);
    const now = await read();
    assert.equal(now.teapots - before.teapots, 3);
    assert.equal(now.ok - before.ok, 2);
    assert.equal(now.durations - before.durations, 5);
  });
});
