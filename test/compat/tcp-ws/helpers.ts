import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import {
  createServer as createNetServer,
  connect,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { once } from 'node:events';
import { createTcpWsAdapter, type TcpWsAdapter, type TcpWsAdapterOptions } from '../../../src/adapters/tcp-ws/index.js';

export interface Mounted {
  adapter: TcpWsAdapter;
  http: HttpServer;
  port: number;
  /** Server-side raw sockets of accepted upgrades (to kill mid-stream). */
  upgraded: Set<import('node:stream').Duplex>;
  close(): Promise<void>;
}

/** The adapter mounted on a plain http server, as burrow's server would (handleUpgrade from 'upgrade'). */
export async function mountAdapter(options: TcpWsAdapterOptions): Promise<Mounted> {
  const adapter = createTcpWsAdapter(options);
  const upgraded = new Set<import('node:stream').Duplex>();
  const http = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!adapter.handleRequest?.(req, res, url)) {
      res.writeHead(404).end();
    }
  });
  http.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    if (!adapter.handleUpgrade?.(req, socket, head, url)) socket.destroy();
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const port = (http.address() as AddressInfo).port;
  return {
    adapter,
    http,
    port,
    upgraded,
    async close() {
      await adapter.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

export interface TargetServer {
  server: NetServer;
  port: number;
  sockets: Set<Socket>;
  /** Number of accepted connections so far. */
  accepted(): number;
  close(): Promise<void>;
}

/** A TCP server on port 0 running `onConnection` per socket. */
export async function startTarget(
  onConnection: (socket: Socket) => void,
  options: { allowHalfOpen?: boolean } = {},
): Promise<TargetServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createNetServer({ allowHalfOpen: options.allowHalfOpen ?? false }, (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onConnection(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    sockets,
    accepted: () => accepted,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const echo = (socket: Socket): void => {
  socket.pipe(socket);
};

/** Connect to 127.0.0.1:port. */
export async function dial(port: number, host = '127.0.0.1'): Promise<Socket> {
  const socket = connect({ port, host });
  await once(socket, 'connect');
  return socket;
}

/** Read from a socket until it has `n` bytes; returns them (rejects on close first). */
export function readBytes(socket: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer): void => {
      chunks.push(c);
      got += c.length;
      if (got >= n) {
        cleanup();
        resolve(Buffer.concat(chunks));
      }
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`closed after ${got} of ${n} bytes`));
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

/** Hash everything a socket delivers until it ends. */
export function hashUntilEnd(socket: Socket): Promise<{ bytes: number; sha: string }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    socket.on('data', (c: Buffer) => {
      h.update(c);
      bytes += c.length;
    });
    socket.once('end', () => resolve({ bytes, sha: h.digest('hex') }));
    socket.once('error', reject);
  });
}

/** Write `total` deterministic pseudo-random bytes with backpressure; returns their sha-256. */
export async function writePattern(socket: Socket, total: number, seed = 1, end = true): Promise<string> {
  const block = randomBlock(seed);
  const h = createHash('sha256');
  let left = total;
  while (left > 0) {
    const n = Math.min(left, block.length);
    const chunk = block.subarray(0, n);
    h.update(chunk);
    left -= n;
    if (!socket.write(chunk)) await once(socket, 'drain');
  }
  if (end) socket.end();
  return h.digest('hex');
}

const blocks = new Map<number, Buffer>();
function randomBlock(seed: number): Buffer {
  let b = blocks.get(seed);
  if (!b) {
    // not a power of two: a relay that reuses a read buffer too early (256 KiB reads,
    // core/pooled-reads.ts) would overwrite it with different bytes, not the same period again
    b = randomBytes(256 * 1024 + 7);
    blocks.set(seed, b);
  }
  return b;
}

/**
 * Send a raw WebSocket upgrade request and return what the server wrote: a refusal whole (head and
 * body, until the server closes), an accepted upgrade up to the end of its 101 head.
 */
export async function rawUpgrade(port: number, path: string, headers: Record<string, string> = {}): Promise<string> {
  const sock = connect({ port, host: '127.0.0.1' });
  await once(sock, 'connect');
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    '',
    '',
  ];
  sock.write(lines.join('\r\n'));
  let text = '';
  sock.on('data', (c: Buffer) => {
    text += c.toString('latin1');
    if (text.startsWith('HTTP/1.1 101') && text.includes('\r\n\r\n')) sock.destroy(); // accepted: enough seen
  });
  await once(sock, 'close');
  return text;
}

/** The response head (status line and headers) of a raw upgrade request, as the server wrote it. */
export async function rawUpgradeHead(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const text = await rawUpgrade(port, path, headers);
  const end = text.indexOf('\r\n\r\n');
  return end < 0 ? text : text.slice(0, end + 2);
}
