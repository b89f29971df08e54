/**
 * The relay hands connections to Node's HTTP server with the bytes it already read put back
 * (src/server/http/socket-handoff.ts leans on `socket._handle._consumed`, a Node internal). If a
 * Node version changes how http.Server reads a fresh socket, these fail with the version named.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interceptConnections } from '../../../src/server/http/socket-handoff.js';
import { selfSignedCert } from '../../helpers/tls.js';

const NODE = `Node ${process.versions.node}`;

/** Read `take` bytes of each connection first, then hand it to Node's server with them put back. */
async function serverReadingFirst(take: number, server: http.Server | https.Server): Promise<number> {
  interceptConnections(server, (socket, handOff) => {
    let got: Buffer = Buffer.alloc(0);
    const onData = (c: Buffer): void => {
      got = Buffer.concat([got, c]);
      if (got.length < take) return;
      socket.removeListener('data', onData);
      handOff(socket, got);
    };
    socket.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

const echo: http.RequestListener = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => res.end(`${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`));
};

async function exchange(socket: net.Socket | tls.TLSSocket, parts: string[]): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  for (const p of parts) {
    socket.write(p);
    await new Promise((r) => setImmediate(r));
  }
  await once(socket, 'close');
  return Buffer.concat(chunks).toString();
}

void test(`socket hand-off: bytes read before the hand-off reach Node's parser first and in order (${NODE})`, async () => {
  const server = http.createServer(echo);
  const port = await serverReadingFirst(10, server);
  try {
    const wire = await exchange(net.connect(port, '127.0.0.1'), [
      'POST /first HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello',
      'GET /second HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    ]);
    assert.match(wire, /POST \/first hello/, `${NODE}: the bytes put back were lost or reordered`);
    assert.match(wire, /GET \/second $/m);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

void test(`socket hand-off: works on TLS sockets (secureConnection) too (${NODE})`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-handoff-'));
  const files = selfSignedCert(dir, '127.0.0.1');
  const server = https.createServer({ cert: readFileSync(files.cert), key: readFileSync(files.key) }, echo);
  const port = await serverReadingFirst(4, server);
  try {
    const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
    await once(socket, 'secureConnect');
    const wire = await exchange(socket, ['GET /tls HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n']);
    assert.match(wire, /^HTTP\/1\.1 200 /, `${NODE}: TLS hand-off failed`);
    assert.match(wire, /GET \/tls $/m);
  } finally {
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

void test(`regression (JS parser on every chunk): after the hand-off Node's parser reads the handle itself; a 16 MiB upload is no 'data' event (${NODE})`, async () => {
  let dataEvents = 0;
  let consumed: boolean | undefined;
  const server = http.createServer((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => res.end(String(n)));
  });
  interceptConnections(server, (socket, handOff) => {
    socket.once('data', (c: Buffer) => {
      handOff(socket, c);
      // counted on emit: a 'data' listener would itself make Node's server unconsume the socket
      const emit = socket.emit.bind(socket);
      socket.emit = (event: string | symbol, ...args: unknown[]): boolean => {
        if (event === 'data') dataEvents++;
        return emit(event, ...args);
      };
      consumed = (socket as unknown as { _handle?: { _consumed?: boolean } })._handle?._consumed;
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const size = 16 * 1024 * 1024;
    const answer = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        { port: (server.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST', headers: { 'content-length': size } },
        (res) => {
          let b = '';
          res.on('data', (c: Buffer) => (b += c.toString()));
          res.on('end', () => resolve(b));
        },
      );
      req.on('error', reject);
      req.end(Buffer.alloc(size));
    });
    assert.equal(answer, String(size));
    assert.equal(consumed, true, `${NODE}: Node's HTTP server did not consume the handed-off socket`);
    assert.equal(dataEvents, 0, `${NODE}: the upload went through JS 'data' events (${dataEvents})`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
