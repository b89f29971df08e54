/**
 * The connection relay end to end (real server, real agent, real origins, raw visitor sockets):
 * pipelining, hand-off to Node's HTTP server for another host, HTTP/1.0, bodiless responses,
 * chunked uploads, 100-continue, smuggling attempts, 504, the origin closing a kept-alive
 * connection, request logs, graceful drain.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { openTunnel } from '../../../src/client/burrow/open-tunnel.js';
import { closeHttp, startOrigin, startServer } from '../../helpers/harness.js';
import { selfSignedCert } from '../../helpers/tls.js';
import { startStack } from '../../helpers/stack.js';
import type { ServerOptions } from '../../../src/server/config.js';
import { waitUntil, waitUntilSteady } from '../../helpers/wait.js';

/** Write raw bytes to the server, collect everything until it closes the connection. */
async function exchange(port: number, data: string | Buffer, opts: { endAfter?: boolean } = {}): Promise<string> {
  const s = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  if (opts.endAfter) s.end();
  await once(s, 'close');
  return Buffer.concat(chunks).toString('latin1');
}

function statuses(wire: string): number[] {
  return [...wire.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
}

/** The stack with the agent on `relay` (tests reach it as relay.localhost). */
async function setup(ctx: TestContext, handler: http.RequestListener, serverOpts: ServerOptions = {}) {
  const s = await startStack(ctx, handler, { server: serverOpts, tunnel: { subdomain: 'relay' } });
  return { ...s, host: 'relay.localhost' };
}

/** A raw TCP origin (for misbehaving origins) behind a tunnel named `name` on a fresh server. */
async function rawOriginTunnel(
  name: string,
  onConnection: (sock: net.Socket) => void,
): Promise<{ port: number; close: () => Promise<void> }> {
  const origin = net.createServer(onConnection);
  origin.listen(0, '127.0.0.1');
  await once(origin, 'listening');
  const srv = await startServer();
  const tunnel = await openTunnel({
    port: (origin.address() as net.AddressInfo).port,
    server: srv.url,
    localHost: '127.0.0.1',
    subdomain: name,
  });
  return {
    port: srv.port,
    close: async () => {
      tunnel.close();
      await srv.server.close();
      origin.close();
    },
  };
}

void test('pipelined requests on one connection are answered in order, then Connection: close ends it', async (ctx) => {
  const seen: string[] = [];
  const t = await setup(ctx, (req, res) => {
    seen.push(`${req.method} ${req.url} ${String(req.headers['x-forwarded-for'])}`);
    res.end(`body of ${req.url}`);
  });
  try {
    const wire = await exchange(
      t.port,
      `GET /1 HTTP/1.1\r\nHost: ${t.host}\r\n\r\nGET /2 HTTP/1.1\r\nHost: ${t.host}\r\n\r\nGET /3 HTTP/1.1\r\nHost: ${t.host}\r\nConnection: close\r\n\r\n`,
    );
    assert.deepEqual(statuses(wire), [200, 200, 200]);
    assert.ok(wire.indexOf('body of /1') < wire.indexOf('body of /2'));
    assert.ok(wire.indexOf('body of /2') < wire.indexOf('body of /3'));
    assert.deepEqual(seen, ['GET /1 127.0.0.1', 'GET /2 127.0.0.1', 'GET /3 127.0.0.1']);
  } finally {
    await t.close();
  }
});

void test('one connection across hosts (a proxy in front pooling connections): tunnel → tunnel → API → tunnel', async (ctx) => {
  const t = await setup(ctx, (req, res) => res.end(`from origin A ${req.url}`));
  const originB = await startOrigin((req, res) => res.end(`from origin B ${req.url}`));
  const b = await openTunnel({
    port: originB.port,
    server: `http://127.0.0.1:${t.port}`,
    localHost: '127.0.0.1',
    subdomain: 'other',
  });
  try {
    const wire = await exchange(
      t.port,
      `GET /1 HTTP/1.1\r\nHost: ${t.host}\r\n\r\n` +
        'GET /2 HTTP/1.1\r\nHost: other.localhost\r\n\r\n' +
        `GET /3 HTTP/1.1\r\nHost: ${t.host}\r\n\r\n` +
        'GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n' +
        `GET /5 HTTP/1.1\r\nHost: ${t.host}\r\n\r\n` +
        'GET /again HTTP/1.1\r\nHost: nosuch.localhost\r\nConnection: close\r\n\r\n',
    );
    assert.deepEqual(statuses(wire), [200, 200, 200, 200, 200, 404]);
    assert.match(
      wire,
      /from origin A \/1[\s\S]*from origin B \/2[\s\S]*from origin A \/3[\s\S]*"status":"healthy"[\s\S]*from origin A \/5/,
    );
    assert.match(wire, /BURROW_ERR_TUNNEL_NOT_FOUND/);

    // a host switch followed by a malformed request in the same write: the refusal is answered,
    // the malformed bytes are not silently dropped
    const bad = await exchange(
      t.port,
      `GET /1 HTTP/1.1\r\nHost: ${t.host}\r\n\r\n` +
        'GET /2 HTTP/1.1\r\nHost: other.localhost\r\n\r\n' +
        'POST /3 HTTP/1.1\r\nHost: other.localhost\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    assert.deepEqual(statuses(bad), [200, 400]);
  } finally {
    b.close();
    await closeHttp(originB.server);
    await t.close();
  }
});

void test('HTTP/1.0, HEAD, 204 and 304 keep their framing', async (ctx) => {
  const t = await setup(ctx, (req, res) => {
    if (req.url === '/204') {
      res.writeHead(204).end();
      return;
    }
    if (req.url === '/304') {
      res.writeHead(304, { ETag: '"x"' }).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write('streamed ');
    res.end('body');
  });
  try {
    const wire = await exchange(
      t.port,
      [
        `HEAD /head HTTP/1.1\r\nHost: ${t.host}\r\n\r\n`,
        `GET /204 HTTP/1.1\r\nHost: ${t.host}\r\n\r\n`,
        `GET /304 HTTP/1.1\r\nHost: ${t.host}\r\n\r\n`,
        `GET /chunked HTTP/1.1\r\nHost: ${t.host}\r\nConnection: close\r\n\r\n`,
      ].join(''),
    );
    assert.deepEqual(statuses(wire), [200, 204, 304, 200]);
    assert.match(wire, /Transfer-Encoding: chunked[\s\S]*streamed [\s\S]*body\r\n0\r\n\r\n$/);

    const old = await exchange(t.port, `GET /old HTTP/1.0\r\nHost: ${t.host}\r\n\r\n`);
    assert.match(old, /^HTTP\/1\.1 200 OK\r\n/);
    assert.doesNotMatch(old, /chunked/);
    assert.match(old, /streamed body$/);
  } finally {
    await t.close();
  }
});

void test('chunked uploads arrive byte-exact; Expect: 100-continue gets its 100 from the origin', async (ctx) => {
  const t = await setup(ctx, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(`got ${Buffer.concat(chunks).toString('hex')}`));
  });
  try {
    const wire = await exchange(
      t.port,
      `POST /up HTTP/1.1\r\nHost: ${t.host}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n\x00\x01\x02\r\n2;ext=y\r\n\xfe\xff\r\n0\r\n\r\n` +
        `GET /after HTTP/1.1\r\nHost: ${t.host}\r\nConnection: close\r\n\r\n`,
    );
    assert.deepEqual(statuses(wire), [200, 200]);
    assert.match(wire, /got 000102feff/);

    const s = net.connect(t.port, '127.0.0.1');
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString('latin1')));
    s.write(
      `PUT /e HTTP/1.1\r\nHost: ${t.host}\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n`,
    );
    while (!got.includes('100 Continue')) await once(s, 'data');
    s.write('abcd');
    await once(s, 'close');
    assert.match(got, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
    assert.match(got, /got 61626364/);
  } finally {
    await t.close();
  }
});

void test('smuggling attempts get a 400 and never reach the origin', async (ctx) => {
  const urls: string[] = [];
  const t = await setup(ctx, (req, res) => {
    urls.push(req.url ?? '');
    req.resume();
    res.end('ok');
  });
  try {
    const wire = await exchange(
      t.port,
      `GET /first HTTP/1.1\r\nHost: ${t.host}\r\n\r\n` +
        `POST /smuggle HTTP/1.1\r\nHost: ${t.host}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hidden HTTP/1.1\r\nHost: ${t.host}\r\n\r\n`,
    );
    assert.deepEqual(statuses(wire), [200, 400]);
    assert.match(wire, /X-Burrow-Error: BURROW_ERR_BAD_REQUEST/);
    assert.match(wire, /ambiguous framing/);
    assert.deepEqual(urls, ['/first']);

    // a chunked body that breaks half-way: 400 at once (the origin would wait for the rest forever)
    const started = Date.now();
    const broken = await exchange(
      t.port,
      `POST /broken HTTP/1.1\r\nHost: ${t.host}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXYZ`,
    );
    assert.deepEqual(statuses(broken), [400]);
    assert.match(broken, /chunk data not followed by CRLF/);
    assert.ok(Date.now() - started < 5_000);

    // each refusal is counted once
    const metrics = await exchange(t.port, 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    assert.match(metrics, /burrow_errors_total\{code="BURROW_ERR_BAD_REQUEST"\} 2\n/);
  } finally {
    await t.close();
  }
});

void test('no response in time: 504, the connection closes, and the request is logged', async (ctx) => {
  const t = await setup(
    ctx,
    (req, res) => {
      if (req.url === '/slow') return; // never answers
      res.end('fast');
    },
    { requestTimeoutMs: 300 },
  );
  const logged: string[] = [];
  t.tunnel.on('request', (r) => logged.push(`${r.method} ${r.path} ${r.status}`));
  try {
    const started = Date.now();
    const wire = await exchange(
      t.port,
      `GET /fast HTTP/1.1\r\nHost: ${t.host}\r\n\r\nGET /slow HTTP/1.1\r\nHost: ${t.host}\r\n\r\n`,
    );
    assert.deepEqual(statuses(wire), [200, 504]);
    assert.match(wire, /BURROW_ERR_TIMEOUT/);
    assert.ok(Date.now() - started < 5_000);
    await waitUntil(() => logged.length >= 2, { what: 'both request events' });
    assert.deepEqual(logged, ['GET /fast 200', 'GET /slow 504']);
  } finally {
    await t.close();
  }
});

void test('an origin that drops a kept-alive connection as a request goes out: the request is sent again', async () => {
  // a raw origin: the first connection reads one request and closes without answering
  let connections = 0;
  const t = await rawOriginTunnel('retry', (sock) => {
    const n = ++connections;
    sock.once('data', () => {
      if (n === 1) sock.destroy();
      else sock.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nretry');
    });
  });
  try {
    const wire = await exchange(t.port, 'GET / HTTP/1.1\r\nHost: retry.localhost\r\n\r\n');
    assert.deepEqual(statuses(wire), [200]);
    assert.match(wire, /retry$/);
    assert.equal(connections, 2);
    // a POST is never sent twice: the visitor gets a 502 instead
    connections = 0;
    const post = await exchange(t.port, 'POST / HTTP/1.1\r\nHost: retry.localhost\r\nContent-Length: 2\r\n\r\nhi');
    assert.deepEqual(statuses(post), [502]);
    assert.match(post, /BURROW_ERR_ORIGIN_ERROR/);
    assert.equal(connections, 1);
  } finally {
    await t.close();
  }
});

void test('graceful close: a request in flight finishes, then the relayed connection closes', async (ctx) => {
  let release: (() => void) | undefined;
  const t = await setup(ctx, (_req, res) => {
    release = () => res.end('finished');
  });
  try {
    const s = net.connect(t.port, '127.0.0.1');
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString('latin1')));
    s.write(`GET /long HTTP/1.1\r\nHost: ${t.host}\r\n\r\n`);
    await waitUntil(() => release !== undefined, { what: 'the origin to get /long' });
    const closing = t.server.close();
    await new Promise((r) => setTimeout(r, 50));
    release!();
    await once(s, 'close');
    await closing;
    assert.match(got, /^HTTP\/1\.1 200 OK[\s\S]*finished$/);
  } finally {
    await t.close();
  }
});

void test('origin garbage: 502 naming the problem; the agent gone: 502', async () => {
  const t = await rawOriginTunnel('garbage', (sock) =>
    sock.once('data', () => sock.end('SSH-2.0-OpenSSH_9.6\r\n\r\n')),
  );
  try {
    const wire = await exchange(t.port, 'GET / HTTP/1.1\r\nHost: garbage.localhost\r\nAccept: text/html\r\n\r\n');
    assert.deepEqual(statuses(wire), [502]);
    assert.match(wire, /Content-Type: text\/html/);
    assert.match(wire, /malformed status line/);
  } finally {
    await t.close();
  }
});

void test('served over TLS directly: the relay and the hand-off both work on TLS sockets', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-relay-tls-'));
  const files = selfSignedCert(dir, 'localhost');
  const origin = await startOrigin((req, res) =>
    res.end(`proto=${String(req.headers['x-forwarded-proto'])} ${req.url}`),
  );
  const srv = await startServer({
    tls: { cert: readFileSync(files.cert), key: readFileSync(files.key) },
  });
  // the agent reaches the TLS port through a plain forwarder (it has no option for a private CA)
  const forwarder = net.createServer((plain) => {
    const secure = tls.connect({ port: srv.port, host: '127.0.0.1', rejectUnauthorized: false });
    plain.pipe(secure).pipe(plain);
    plain.on('error', () => secure.destroy());
    secure.on('error', () => plain.destroy());
  });
  forwarder.listen(0, '127.0.0.1');
  await once(forwarder, 'listening');
  const tunnel = await openTunnel({
    port: origin.port,
    server: `http://127.0.0.1:${(forwarder.address() as net.AddressInfo).port}`,
    localHost: '127.0.0.1',
    subdomain: 'secure',
  });
  try {
    const s = tls.connect({ port: srv.port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.write(
      'GET /a HTTP/1.1\r\nHost: secure.localhost\r\n\r\nGET /b HTTP/1.1\r\nHost: secure.localhost\r\n\r\n' +
        'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    );
    await once(s, 'close');
    const wire = Buffer.concat(chunks).toString('latin1');
    assert.deepEqual(statuses(wire), [200, 200, 200]);
    assert.match(wire, /proto=https \/a[\s\S]*proto=https \/b[\s\S]*"status":"healthy"/);
  } finally {
    tunnel.close();
    await srv.server.close();
    forwarder.close();
    await closeHttp(origin.server);
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a close-delimited response reaches a slow visitor whole before the connection closes', async (ctx) => {
  const size = 16 * 1024 * 1024;
  let sent = 0;
  const t = await setup(ctx, (_req, res) => {
    // no Content-Length, HTTP/1.0-style: the body ends when the origin closes
    res.writeHead(200, { Connection: 'close', 'Content-Type': 'application/octet-stream' });
    res.useChunkedEncodingByDefault = false;
    const block = Buffer.alloc(64 * 1024, 7);
    const pump = (): void => {
      while (sent < size) {
        sent += block.length;
        if (!res.write(block)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  try {
    const s = net.connect(t.port, '127.0.0.1');
    s.write(`GET /big HTTP/1.0\r\nHost: ${t.host}\r\n\r\n`);
    s.pause();
    // the visitor reads nothing until every buffer between it and the origin is full
    await waitUntil(() => sent > 0, { what: 'the origin to start its body' });
    await waitUntilSteady(() => sent, { quietMs: 200, what: 'the bytes the origin got out' });
    let bytes = 0;
    let head = '';
    s.on('data', (c: Buffer) => {
      if (!head.includes('\r\n\r\n')) {
        head += c.toString('latin1');
        const at = head.indexOf('\r\n\r\n');
        if (at !== -1) bytes += head.length - at - 4;
        return;
      }
      bytes += c.length;
    });
    s.resume();
    await once(s, 'close');
    assert.match(head, /^HTTP\/1\.1 200 OK/);
    assert.equal(bytes, size);
  } finally {
    await t.close();
  }
});
