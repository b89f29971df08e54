/**
 * core/direct-body: a large request body read past Node's HTTP parser into reused buffers, on real
 * sockets. The first test fails loudly if a Node version drops a piece it relies on.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  DIRECT_BODY_BUFFER_BYTES,
  DIRECT_BODY_MAX_BUFFERS,
  DirectBody,
  directBodyEligible,
  type DirectBodySink,
} from '../../src/core/direct-body.js';
import { waitUntil, waitUntilSteady } from '../helpers/wait.js';
import { rawExchange } from '../helpers/net.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let port: number;
let handler: Handler = () => {};

before(async () => {
  server = createServer((req, res) => handler(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Collects a direct body; answers with its sha once complete (or the error). */
function collecting(): Handler {
  return (req, res) => {
    if (!directBodyEligible(req, 1)) {
      res.writeHead(200, { connection: 'close' }).end('not eligible');
      return;
    }
    const body = new DirectBody(req);
    const h = createHash('sha256');
    let bytes = 0;
    body.start({
      onChunk: (chunk, release) => {
        bytes += chunk.length;
        h.update(chunk);
        release();
      },
      onEnd: () => res.writeHead(200, { connection: 'close' }).end(`${bytes} ${h.digest('hex')}`),
      onError: (err) => res.writeHead(500, { connection: 'close' }).end(err.message),
    });
  };
}

function put(body: Buffer, headers: Record<string, string | number> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { port, host: '127.0.0.1', method: 'PUT', agent: false, headers: { 'content-length': body.length, ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

void describe('core/direct-body', () => {
  void test("Node still has what a direct body needs (user-buffer slots, useUserBuffer, the parser's unconsume)", async () => {
    const seen: boolean[] = [];
    handler = (req, res) => {
      seen.push(directBodyEligible(req));
      req.resume();
      req.on('end', () => res.end('ok'));
    };
    assert.equal((await put(Buffer.alloc(2 * 1024 * 1024))).status, 200);
    assert.deepEqual(seen, [true], 'a 2 MiB HTTP/1.1 upload over TCP must be eligible on this Node');
  });

  void test('a large body arrives byte-exact in reused buffers', async () => {
    handler = collecting();
    const body = randomBytes(8 * 1024 * 1024 + 4321);
    const r = await put(body);
    assert.equal(r.status, 200);
    assert.equal(r.text, `${body.length} ${sha(body)}`);
  });

  void test('head and body in one write, odd pieces, bytes after the Content-Length ignored', async () => {
    handler = collecting();
    const body = randomBytes(300_001);
    const head = Buffer.from(`PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n`);
    const extra = Buffer.from('GET /next HTTP/1.1\r\nHost: a\r\n\r\n');
    const pieces = [Buffer.concat([head, body.subarray(0, 1000)])];
    for (let at = 1000; at < body.length; at += 77_777)
      pieces.push(body.subarray(at, Math.min(body.length, at + 77_777)));
    pieces[pieces.length - 1] = Buffer.concat([pieces[pieces.length - 1]!, extra]);
    const out = await rawExchange(port, pieces, 2);
    assert.match(out, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(out.includes(`${body.length} ${sha(body)}`), out.slice(-160));
    assert.equal(out.match(/HTTP\/1\.1/g)?.length, 1, 'the bytes after the body are not a second request');
  });

  void test('bytes after the body are read and dropped: the connection ends with a FIN, a late reader gets the whole answer', async () => {
    // a large answer the client reads late: still in the server's send buffer when it closes
    const answer = Buffer.alloc(8 * 1024 * 1024, 5);
    let answering: ServerResponse | undefined;
    handler = (req, res) => {
      const body = new DirectBody(req);
      body.start({
        onChunk: (_chunk, release) => release(),
        onEnd: () => {
          answering = res;
          res.writeHead(200, { connection: 'close', 'content-length': answer.length }).end(answer);
        },
        onError: () => {},
      });
    };
    const body = Buffer.alloc(2 * 1024 * 1024, 3);
    const head = Buffer.from(`PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n`);
    const sock = connect(port, '127.0.0.1');
    await once(sock, 'connect');
    const errors: string[] = [];
    sock.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
    let got = 0;
    sock.on('data', (c: Buffer) => (got += c.length));
    sock.pause();
    const closed = once(sock, 'close');
    // the body, then 1 MiB the server has no use for (a client that pipelines, or junk)
    sock.write(Buffer.concat([head, body, Buffer.alloc(1024 * 1024, 9)]));
    // the server holds the rest of the answer: the client has not read, the kernel's buffers are full
    await waitUntil(() => (answering?.writableLength ?? 0) > 0, { what: 'the answer to back up' });
    sock.resume();
    await closed;
    assert.deepEqual(errors, [], 'no ECONNRESET');
    assert.ok(got > answer.length, `${got} bytes: the whole answer, ${answer.length} bytes and its head`);
  });

  void test('a sender that closes mid-body: onError, nothing else breaks', async () => {
    const errors: string[] = [];
    handler = (req) => {
      const body = new DirectBody(req);
      body.start({
        onChunk: (_c, release) => release(),
        onEnd: () => errors.push('ended'),
        onError: (err) => errors.push(err.message),
      });
    };
    const head = Buffer.from(`PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: ${4 * 1024 * 1024}\r\n\r\n`);
    const sock = connect(port, '127.0.0.1');
    sock.on('error', () => {});
    await once(sock, 'connect');
    sock.write(Buffer.concat([head, Buffer.alloc(512 * 1024)]));
    await new Promise((r) => setTimeout(r, 50));
    sock.destroy();
    await waitUntil(() => errors.length > 0, { what: 'onError' });
    assert.match(errors[0]!, /closed the connection before the body was complete/);
    handler = collecting();
    const again = randomBytes(2 * 1024 * 1024);
    assert.equal((await put(again)).text, `${again.length} ${sha(again)}`, 'the server still serves');
  });

  void test(`reads pause with ${DIRECT_BODY_MAX_BUFFERS} buffers unreleased and go on once released`, async () => {
    const held: (() => void)[] = [];
    let delivered = 0;
    let ended = false;
    handler = (req, res) => {
      const body = new DirectBody(req);
      const sink: DirectBodySink = {
        onChunk: (chunk, release) => {
          delivered += chunk.length;
          held.push(release);
        },
        onEnd: () => {
          ended = true;
          res.writeHead(200, { connection: 'close' }).end(String(delivered));
        },
        onError: () => {},
      };
      body.start(sink);
    };
    const size = (DIRECT_BODY_MAX_BUFFERS + 40) * DIRECT_BODY_BUFFER_BYTES;
    const done = put(Buffer.alloc(size, 7));
    await waitUntil(() => held.length >= DIRECT_BODY_MAX_BUFFERS - 1, { what: 'the buffers to run out' });
    await waitUntilSteady(() => delivered, { quietMs: 100, what: 'the delivered bytes' });
    assert.equal(ended, false);
    assert.ok(held.length <= DIRECT_BODY_MAX_BUFFERS + 2, `held ${held.length} buffers`);
    const stalledAt = delivered;
    assert.ok(stalledAt < size);
    const releaseAll = setInterval(() => held.splice(0).forEach((r) => r()), 5);
    const r = await done;
    clearInterval(releaseAll);
    assert.equal(r.text, String(size));
  });

  void test('pause() stops delivery, resume() goes on', async () => {
    let body!: DirectBody;
    let delivered = 0;
    handler = (req, res) => {
      body = new DirectBody(req);
      body.start({
        onChunk: (chunk, release) => {
          delivered += chunk.length;
          release();
        },
        onEnd: () => res.writeHead(200, { connection: 'close' }).end(String(delivered)),
        onError: () => {},
      });
      body.pause();
    };
    const size = 16 * 1024 * 1024;
    const done = put(Buffer.alloc(size, 1));
    // the bytes that came with the head may arrive; then nothing while paused
    const whilePaused = await waitUntilSteady(() => delivered, { quietMs: 150, what: 'the delivered bytes' });
    assert.ok(whilePaused <= 2 * DIRECT_BODY_BUFFER_BYTES, `${whilePaused} bytes delivered while paused`);
    body.resume();
    assert.equal((await done).text, String(size));
  });

  void test('not eligible: chunked, small, HTTP/1.0', async () => {
    const seen: boolean[] = [];
    handler = (req, res) => {
      seen.push(directBodyEligible(req));
      req.resume();
      req.on('end', () => res.writeHead(200, { connection: 'close' }).end());
    };
    const big = 2 * 1024 * 1024;
    await rawExchange(port, [
      Buffer.from(`PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`),
    ]);
    await put(Buffer.alloc(1000));
    await rawExchange(port, [
      Buffer.from(`PUT /o HTTP/1.0\r\nHost: a\r\nContent-Length: ${big}\r\n\r\n`),
      Buffer.alloc(big),
    ]);
    assert.deepEqual(seen, [false, false, false]);
  });
});
