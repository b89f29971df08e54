/**
 * Bench origin (child process): GET /zeros?bytes=N streams N zero bytes (with Content-Length, or
 * chunked with &chunked=1); POST /sink reads the body and answers {"bytes": N}; anything else
 * answers a small fixed body. Prints BENCH_READY {"port"}.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exitWithParent, ready } from './child.js';

const SMALL = Buffer.from('hello from the origin\n');
const CHUNK = Buffer.alloc(256 * 1024);

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://origin');
  if (url.pathname === '/sink') {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      const body = JSON.stringify({ bytes });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    return;
  }
  if (url.pathname === '/zeros') {
    const total = Number(url.searchParams.get('bytes') ?? 0);
    const chunked = url.searchParams.get('chunked') === '1';
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      ...(chunked ? {} : { 'content-length': total }),
    });
    let left = total;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        const ok = res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
        if (!ok) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    res.on('close', () => (left = 0));
    pump();
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': SMALL.length });
  res.end(SMALL);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => ready({ port: (server.address() as AddressInfo).port }));
exitWithParent(() => server.closeAllConnections());
