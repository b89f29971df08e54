/**
 * HTTP/2 for visitors where burrow terminates TLS (issue 18): ALPN offers h2; each h2 stream becomes
 * one tunnel stream carrying HTTP/1.1 (the agent and the origin see HTTP/1.1); routing by
 * :authority, visitor rules, bodies both ways with flow control, streamed responses, trailers, the
 * server's own API; HTTP/1.1 clients on the same port still go through the relay; and the h2 abuse
 * cases (rapid reset, CONTINUATION flood, SETTINGS flood) end the abusing connection only.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { openTunnel, type Tunnel } from '../../../src/client/burrow/open-tunnel.js';
import { H2_MAX_CONCURRENT_STREAMS } from '../../../src/server/limits.js';
import { ALPN_PROTOCOLS, createH2Visitors, type H2Visitors } from '../../../src/server/http/h2.js';
import { createLogger } from '../../../src/core/logger.js';
import { waitUntil } from '../../helpers/wait.js';
import { launchBrowser, NO_BROWSER } from '../../helpers/browser.js';
import { closeHttp, startOrigin, startServer } from '../../helpers/harness.js';
import { selfSignedCert } from '../../helpers/tls.js';
import { RULES_ADMISSION } from '../../helpers/admission.js';
import type { BurrowServer } from '../../../src/server/server.js';

/** Assets on the browser test's page. */
const ASSETS = 50;
const dir = mkdtempSync(join(tmpdir(), 'burrow-h2-'));
let srv: { server: BurrowServer; port: number };
let origin: { server: http.Server; port: number };
let forwarder: net.Server;
let tunnel: Tunnel;
let guarded: Tunnel;
/** What the origin saw of the last request: its HTTP version and Host. */
let seen: { version: string; host: string | undefined; trailers: Record<string, string> } | undefined;

before(async () => {
  const files = selfSignedCert(dir, 'localhost');
  origin = await startOrigin((req, res) => {
    seen = { version: req.httpVersion, host: req.headers.host, trailers: {} };
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/echo') {
      // the body back, with its hash in a trailer
      const h = createHash('sha256');
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', Trailer: 'x-sha256' });
      req.on('data', (c: Buffer) => {
        h.update(c);
        res.write(c);
      });
      req.on('end', () => {
        seen!.trailers = req.trailers as Record<string, string>;
        res.addTrailers({ 'x-sha256': h.digest('hex') });
        res.end();
      });
      return;
    }
    if (url.pathname === '/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.write('data: one\n\n');
      setTimeout(() => res.end('data: two\n\n'), 300);
      return;
    }
    if (url.pathname === '/page') {
      const imgs = Array.from({ length: ASSETS }, (_, i) => `<img src="/asset/${i}.svg" width="8" height="8">`).join(
        '',
      );
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>assets</title><body>${imgs}</body>`);
      return;
    }
    if (url.pathname.startsWith('/asset/')) {
      res.writeHead(200, { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'no-store' });
      res.end('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>');
      return;
    }
    if (url.pathname === '/big') {
      const n = Number(url.searchParams.get('n'));
      res.writeHead(200, { 'Content-Length': String(n) });
      res.end(Buffer.alloc(n, 0x61));
      return;
    }
    res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    res.setHeader('Connection', 'keep-alive');
    res.end(`hello ${req.method} ${req.url}`);
  });
  srv = await startServer({
    domains: ['h2.test'],
    admission: RULES_ADMISSION,
    tls: { cert: readFileSync(files.cert), key: readFileSync(files.key) },
  });
  // the agent reaches the TLS port through a plain forwarder (no private-CA option in the SDK yet)
  forwarder = net.createServer((plain) => {
    const secure = tls.connect({ port: srv.port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: [] });
    plain.pipe(secure).pipe(plain);
    plain.on('error', () => secure.destroy());
    secure.on('error', () => plain.destroy());
  });
  forwarder.listen(0, '127.0.0.1');
  await once(forwarder, 'listening');
  const server = `http://127.0.0.1:${(forwarder.address() as net.AddressInfo).port}`;
  tunnel = await openTunnel({ port: origin.port, server, localHost: '127.0.0.1', subdomain: 'appx' });
  guarded = await openTunnel({
    port: origin.port,
    server,
    localHost: '127.0.0.1',
    subdomain: 'guarded',
    access: { basicAuth: 'me:secret' },
  });
});

after(async () => {
  tunnel.close();
  guarded.close();
  await srv.server.close();
  forwarder.close();
  await closeHttp(origin.server);
  rmSync(dir, { recursive: true, force: true });
});

function connect(): http2.ClientHttp2Session {
  const s = http2.connect(`https://127.0.0.1:${srv.port}`, { rejectUnauthorized: false, servername: 'localhost' });
  s.on('error', () => undefined);
  return s;
}

interface H2Reply {
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders;
}

function request(
  s: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer,
  requestTrailers?: http2.OutgoingHttpHeaders,
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const r = s.request(headers, { endStream: body === undefined, waitForTrailers: !!requestTrailers });
    let replyHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    r.on('response', (h) => (replyHeaders = h));
    r.on('trailers', (t) => (trailers = t));
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => resolve({ headers: replyHeaders, body: Buffer.concat(chunks), trailers }));
    r.on('error', reject);
    if (requestTrailers) r.on('wantTrailers', () => r.sendTrailers(requestTrailers));
    if (body !== undefined) r.end(body);
  });
}

void test('a tunnel over h2: routed by :authority, the origin sees HTTP/1.1, headers come back h2-clean', async () => {
  const s = connect();
  try {
    await once(s, 'connect');
    assert.equal((s.socket as tls.TLSSocket).alpnProtocol, 'h2');
    assert.equal(s.remoteSettings.maxConcurrentStreams, H2_MAX_CONCURRENT_STREAMS);
    const r = await request(s, { ':path': '/hi?x=1', ':authority': 'appx.h2.test' });
    assert.equal(r.headers[':status'], 200);
    assert.equal(r.body.toString(), 'hello GET /hi?x=1');
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(r.headers.connection, undefined, 'connection-specific fields are not sent over h2');
    assert.deepEqual(seen && { version: seen.version, host: seen.host }, { version: '1.1', host: 'appx.h2.test' });
    // an unknown name: the same 404 page an HTTP/1.1 visitor gets
    const miss = await request(s, { ':path': '/', ':authority': 'nobody.h2.test', accept: 'application/json' });
    assert.equal(miss.headers[':status'], 404);
    assert.equal(JSON.parse(miss.body.toString()).error.code, 'BURROW_ERR_TUNNEL_NOT_FOUND');
    // the server's own API over h2
    const status = await request(s, { ':path': '/api/status', ':authority': 'h2.test' });
    assert.equal(status.headers[':status'], 200);
    assert.ok(JSON.parse(status.body.toString()).tunnels >= 2);
  } finally {
    s.close();
  }
});

void test('visitor rules answer h2 requests: 401 without the password, the origin with it', async () => {
  const s = connect();
  try {
    const no = await request(s, { ':path': '/', ':authority': 'guarded.h2.test' });
    assert.equal(no.headers[':status'], 401);
    assert.match(String(no.headers['www-authenticate']), /^Basic/);
    const yes = await request(s, {
      ':path': '/in',
      ':authority': 'guarded.h2.test',
      authorization: `Basic ${Buffer.from('me:secret').toString('base64')}`,
    });
    assert.equal(yes.headers[':status'], 200);
    assert.equal(yes.body.toString(), 'hello GET /in');
  } finally {
    s.close();
  }
});

void test('bodies both ways byte-exact (4 MiB up, echoed down), request and response trailers carried', async () => {
  const s = connect();
  try {
    const body = randomBytes(Number(process.env.H2N ?? 4 * 1024 * 1024));
    const r = await request(s, { ':method': 'POST', ':path': '/echo', ':authority': 'appx.h2.test' }, body, {
      'x-sent-by': 'h2-client',
    });
    assert.equal(r.headers[':status'], 200);
    assert.ok(r.body.equals(body));
    assert.equal(r.trailers['x-sha256'], createHash('sha256').update(body).digest('hex'));
    assert.equal(seen!.trailers['x-sent-by'], 'h2-client');
  } finally {
    s.close();
  }
});

void test('a streamed response (SSE) arrives event by event, before the origin ends it', async () => {
  const s = connect();
  try {
    const r = s.request({ ':path': '/events', ':authority': 'appx.h2.test' });
    const started = performance.now();
    let text = '';
    let firstAt = 0;
    r.setEncoding('utf8');
    r.on('data', (c: string) => {
      if (!text) firstAt = performance.now() - started;
      text += c;
    });
    await once(r, 'end');
    assert.equal(text, 'data: one\n\ndata: two\n\n');
    assert.ok(
      firstAt < performance.now() - started - 150,
      `the first event came at ${firstAt.toFixed(0)} ms, not with the last`,
    );
  } finally {
    s.close();
  }
});

void test('50 requests at once over one h2 connection all arrive (one TLS connection, many tunnel streams)', async () => {
  const s = connect();
  try {
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        request(s, { ':path': `/big?n=${10_000 + i}`, ':authority': 'appx.h2.test' }),
      ),
    );
    replies.forEach((r, i) => {
      assert.equal(r.headers[':status'], 200);
      assert.equal(r.body.length, 10_000 + i);
    });
  } finally {
    s.close();
  }
});

void test('HTTP/1.1 clients on the same TLS port still go through the relay (ALPN http/1.1 or none)', async () => {
  for (const ALPNProtocols of [['http/1.1'], undefined]) {
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: srv.port,
          path: '/one',
          headers: { Host: 'appx.h2.test' },
          createConnection: () =>
            tls.connect({ host: '127.0.0.1', port: srv.port, rejectUnauthorized: false, ALPNProtocols }),
        },
        (res) => {
          let b = '';
          res.on('data', (c: Buffer) => (b += c.toString()));
          res.on('end', () => resolve(`${res.httpVersion} ${b}`));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(body, '1.1 hello GET /one');
  }
});

void test(
  'chromium loads a page of 50 assets through a TLS tunnel over h2, on one connection',
  { skip: NO_BROWSER },
  async () => {
    let connections = 0;
    const count = (): void => void connections++;
    srv.server.httpServer!.on('secureConnection', count);
    const browser = await launchBrowser([
      '--ignore-certificate-errors',
      `--host-resolver-rules=MAP *.h2.test 127.0.0.1`,
    ]);
    try {
      const page = await browser.newPage();
      await page.goto(`https://appx.h2.test:${srv.port}/page`, { waitUntil: 'load' });
      // a string, evaluated in the page (this file is typed for Node, without the DOM's types)
      const seen = await page.evaluate(`(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const assets = performance.getEntriesByType('resource').filter((e) => e.name.includes('/asset/'));
      return {
        page: nav.nextHopProtocol,
        assets: assets.length,
        protocols: [...new Set(assets.map((a) => a.nextHopProtocol))],
        loaded: [...document.images].filter((i) => i.complete && i.naturalWidth === 8).length,
      };
    })()`);
      assert.deepEqual(seen, { page: 'h2', assets: ASSETS, protocols: ['h2'], loaded: ASSETS });
      assert.equal(connections, 1, 'the page and its 50 assets came over one TLS connection');
    } finally {
      srv.server.httpServer!.off('secureConnection', count);
      await browser.close();
    }
  },
);

/** Raw h2 frames, for the abuse cases a well-behaved client library will not send. */
function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const SETTINGS = 0x4;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
/** HPACK: :method GET (2), :scheme https (7), :path / (4), :authority literal (1, not indexed). */
const GET_HEADERS = Buffer.concat([Buffer.from([0x82, 0x87, 0x84, 0x01, 9]), Buffer.from('localhost')]);

/**
 * The abuse cases meet h2.ts on a listener of their own, with a short idle timeout, so "the abusing
 * connection is ended" is seen within seconds (the server's is RELAY_IDLE_TIMEOUT_MS).
 */
const ABUSE_IDLE_MS = 1_000;
let abuseServer: tls.Server;
let abused: H2Visitors;
let abusePort = 0;
before(async () => {
  const files = selfSignedCert(dir, 'localhost');
  abused = createH2Visitors({
    handleRequest: (_req, res) => res.end('ok'),
    logger: createLogger({ level: 'silent' }),
    maxHeaderBytes: 32 * 1024,
    idleTimeoutMs: ABUSE_IDLE_MS,
  });
  abuseServer = tls.createServer(
    { cert: readFileSync(files.cert), key: readFileSync(files.key), ALPNProtocols: ALPN_PROTOCOLS },
    (socket) => abused.accept(socket),
  );
  abuseServer.listen(0, '127.0.0.1');
  await once(abuseServer, 'listening');
  abusePort = (abuseServer.address() as net.AddressInfo).port;
});
after(() => abuseServer.close());

/** A raw TLS+h2 connection; resolves when the server closes it, with whether a GOAWAY came first. */
async function abuse(write: (s: tls.TLSSocket) => void): Promise<{ closed: boolean; goaway: boolean }> {
  const s = tls.connect({ host: '127.0.0.1', port: abusePort, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
  await once(s, 'secureConnect');
  assert.equal(s.alpnProtocol, 'h2');
  let goaway = false;
  let buf = Buffer.alloc(0);
  s.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      if (buf[3] === 0x7) goaway = true;
      buf = buf.subarray(9 + len);
    }
  });
  s.on('error', () => undefined);
  s.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0)]));
  write(s);
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    once(s, 'close').then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 10 * ABUSE_IDLE_MS))),
  ]);
  clearTimeout(timer);
  s.destroy();
  return { closed, goaway };
}

/** Another connection to the abused listener is served, and no session is left behind. */
async function stillServes(): Promise<void> {
  const s = http2.connect(`https://127.0.0.1:${abusePort}`, { rejectUnauthorized: false });
  s.on('error', () => undefined);
  try {
    const r = await request(s, { ':path': '/after' });
    assert.equal(r.headers[':status'], 200);
    assert.equal(r.body.toString(), 'ok');
  } finally {
    s.close();
  }
  await waitUntil(() => abused.sessions === 0, { what: 'every h2 session to be gone' });
}

void test('h2 abuse: rapid reset (HEADERS then RST_STREAM, thousands) ends that connection only', async () => {
  const r = await abuse((s) => {
    const burst: Buffer[] = [];
    for (let id = 1; id < 2 * 20_000; id += 2) {
      burst.push(
        frame(HEADERS, END_HEADERS | END_STREAM, id, GET_HEADERS),
        frame(RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8])),
      );
    }
    s.write(Buffer.concat(burst));
  });
  assert.ok(r.goaway, 'nghttp2 answered the flood with GOAWAY');
  assert.ok(r.closed, 'the abusing connection was closed');
  await stillServes();
});

void test('h2 abuse: a CONTINUATION flood (a header block that never ends) ends that connection only', async () => {
  const r = await abuse((s) => {
    s.write(frame(HEADERS, END_STREAM, 1, GET_HEADERS));
    const filler = Buffer.concat([
      Buffer.from([0x40, 1]),
      Buffer.from('x'),
      Buffer.from([100]),
      Buffer.alloc(100, 0x61),
    ]);
    const flood: Buffer[] = [];
    for (let i = 0; i < 20_000; i++) flood.push(frame(CONTINUATION, 0, 1, filler));
    s.write(Buffer.concat(flood));
  });
  assert.ok(r.closed, 'the abusing connection was closed');
  await stillServes();
});

void test('h2 abuse: a SETTINGS flood from a peer that never reads the ACKs ends that connection only', async () => {
  const r = await abuse((s) => {
    const one = frame(SETTINGS, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100]));
    const flood: Buffer[] = [];
    for (let i = 0; i < 100_000; i++) flood.push(one);
    s.pause(); // never read: the ACKs pile up on the server
    s.write(Buffer.concat(flood));
    // the server ends the session while this side still reads nothing; then read, to see the close
    void waitUntil(() => abused.sessions === 0, { what: 'the flooded session to end' }).then(() => s.resume());
  });
  assert.ok(r.closed, 'the abusing connection was closed');
  await stillServes();
});
