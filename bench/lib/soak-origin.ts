/**
 * The origins of bench/soak (child process): one HTTP server and one TCP echo server on 127.0.0.1.
 *
 *   GET  /small                    a 3-byte body
 *   GET  /download?bytes=N&seed=S  N bytes of the soak pattern from offset S (Content-Length)
 *   POST /upload                   answers {"bytes", "sha256", "chunked"} of the body it read
 *   GET  /sse?n=N&ms=M             N events `id: i / data: i`, one every M ms, then the end
 *   ANY  /slow?id=X                counts one arrival for X, answers after SLOW_MS (or never, if the
 *                                  visitor's connection closes first)
 *   GET  /drop                     closes the connection without answering
 *   WS   /ws                       echoes every message
 *
 * Prints BENCH_READY {"port", "tcpPort"}. IPC {"cmd":"arrivals"} answers {"arrivals": {id: count}}:
 * every /slow arrival since the start, so the bench can tell how often each abandoned request came.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { exitWithParent, ready } from './child.js';
import { patternChunks } from './soak-data.js';

/** How long /slow keeps the visitor waiting; far longer than the bench's visitors wait. */
const SLOW_MS = 10_000;

const arrivals = new Map<string, number>();

function download(res: http.ServerResponse, bytes: number, seed: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes });
  const chunks = patternChunks(bytes, seed);
  let stopped = false;
  res.on('close', () => (stopped = true));
  const pump = (): void => {
    while (!stopped) {
      const c = chunks.next();
      if (c.done) {
        res.end();
        return;
      }
      if (!res.write(c.value)) {
        res.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

function upload(req: http.IncomingMessage, res: http.ServerResponse): void {
  const h = createHash('sha256');
  let bytes = 0;
  req.on('data', (c: Buffer) => {
    bytes += c.length;
    h.update(c);
  });
  req.on('end', () => {
    const body = JSON.stringify({
      bytes,
      sha256: h.digest('hex'),
      chunked: /chunked/i.test(req.headers['transfer-encoding'] ?? ''),
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

function sse(res: http.ServerResponse, n: number, ms: number): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  let i = 0;
  const timer = setInterval(() => {
    res.write(`id: ${i}\ndata: ${i}\n\n`);
    if (++i >= n) {
      clearInterval(timer);
      res.end();
    }
  }, ms);
  res.on('close', () => clearInterval(timer));
}

function slow(req: http.IncomingMessage, res: http.ServerResponse, id: string): void {
  arrivals.set(id, (arrivals.get(id) ?? 0) + 1);
  req.resume();
  const timer = setTimeout(() => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 5 });
    res.end('slow\n');
  }, SLOW_MS);
  res.on('close', () => clearTimeout(timer));
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://origin');
  switch (url.pathname) {
    case '/small':
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 });
      res.end('ok\n');
      return;
    case '/download':
      download(res, Number(url.searchParams.get('bytes') ?? 0), Number(url.searchParams.get('seed') ?? 0));
      return;
    case '/upload':
      upload(req, res);
      return;
    case '/sse':
      sse(res, Number(url.searchParams.get('n') ?? 10), Number(url.searchParams.get('ms') ?? 20));
      return;
    case '/slow':
      slow(req, res, url.searchParams.get('id') ?? '?');
      return;
    case '/drop':
      req.socket.destroy();
      return;
    default:
      res.writeHead(404, { 'content-length': 0 });
      res.end();
  }
});
server.keepAliveTimeout = 60_000;

const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
server.on('upgrade', (req, socket, head) => {
  if (req.url !== '/ws') {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => {});
  });
});

const tcp = net.createServer((s) => {
  s.on('error', () => {});
  s.pipe(s);
});

await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));

process.on('message', (m: { cmd?: string }) => {
  if (m?.cmd === 'arrivals') process.send?.({ arrivals: Object.fromEntries(arrivals) });
});
exitWithParent(() => {
  server.closeAllConnections();
  tcp.close();
});
ready({ port: (server.address() as AddressInfo).port, tcpPort: (tcp.address() as AddressInfo).port });
