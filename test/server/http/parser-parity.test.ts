/**
 * Two HTTP parsers face visitors: the relay's (src/core/http1.ts) and Node's (a mounted server, the
 * server's own host, anything handed off). The same bad bytes get the same answer from both: the
 * same status, the same error-table code in X-Burrow-Error, the same JSON body shape.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { startStack } from '../../helpers/stack.js';

async function wire(port: number, data: string): Promise<string> {
  const s = net.connect(port, '127.0.0.1');
  let got = '';
  s.setEncoding('latin1');
  s.on('data', (c: string) => (got += c));
  s.on('error', () => {});
  s.write(data, 'latin1');
  await once(s, 'close');
  return got;
}

interface Answer {
  status: number;
  code: string | undefined;
  bodyCode: string | undefined;
}

function parse(raw: string): Answer {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
  const code = /\r\nX-Burrow-Error: (\S+)/i.exec(raw)?.[1];
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  let bodyCode: string | undefined;
  try {
    bodyCode = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    bodyCode = undefined;
  }
  return { status, code, bodyCode };
}

const HOST = 'parity.localhost';
const CASES: Array<{ name: string; bytes: string; status: number; code: string }> = [
  {
    name: 'unknown Transfer-Encoding',
    bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: gzip\r\n\r\n`,
    status: 501,
    code: 'BURROW_ERR_TRANSFER_ENCODING',
  },
  {
    name: 'Transfer-Encoding with Content-Length',
    bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n`,
    status: 400,
    code: 'BURROW_ERR_BAD_REQUEST',
  },
  {
    name: 'a header name with a space',
    bytes: `GET / HTTP/1.1\r\nHost: ${HOST}\r\nBad Name: x\r\n\r\n`,
    status: 400,
    code: 'BURROW_ERR_BAD_REQUEST',
  },
  {
    name: 'a head over the limit',
    bytes: `GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    status: 431,
    code: 'BURROW_ERR_HEADERS_TOO_LARGE',
  },
  {
    name: 'a broken chunk size',
    bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
    status: 400,
    code: 'BURROW_ERR_BAD_REQUEST',
  },
];

void test('the relay and Node’s parser answer the same bad request with the same status and code', async (ctx) => {
  const stack = await startStack(ctx, (_req, res) => res.end('ok'), {
    server: { maxHeaderBytes: 16 * 1024 },
    tunnel: { subdomain: 'parity' },
  });
  const mount = http.createServer({ maxHeaderSize: 16 * 1024 });
  stack.server.attach(mount);
  mount.listen(0, '127.0.0.1');
  await once(mount, 'listening');
  ctx.after(() => {
    mount.closeAllConnections();
    return new Promise<void>((resolve) => mount.close(() => resolve()));
  });
  const mountPort = (mount.address() as net.AddressInfo).port;
  const before = Number(
    /^burrow_relayed_connections_total (\d+)/m.exec(await (await fetch(`${stack.url}/metrics`)).text())?.[1],
  );

  for (const c of CASES) {
    const relay = parse(await wire(stack.port, c.bytes));
    const node = parse(await wire(mountPort, c.bytes));
    assert.deepEqual(relay, { status: c.status, code: c.code, bodyCode: c.code }, `relay: ${c.name}`);
    assert.deepEqual(node, relay, `Node's parser: ${c.name}`);
  }
  const after = Number(
    /^burrow_relayed_connections_total (\d+)/m.exec(await (await fetch(`${stack.url}/metrics`)).text())?.[1],
  );
  assert.ok(after - before >= 3, `the relay parsed the tunnel's cases itself (${after - before} connections)`);
});
