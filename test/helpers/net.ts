/** Small socket and stream helpers shared by the tests. */
import { once } from 'node:events';
import net from 'node:net';
import type { Readable } from 'node:stream';

/** A TCP port that was free a moment ago on 127.0.0.1 (for things that cannot listen on port 0). */
export async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * Everything a stream (socket, response, mux stream) emits until it ends. Listens at once, so call it
 * before the data can arrive; leaves a socket's writable side alone (half-close stays possible).
 */
export function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer | string) => chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/**
 * Writes `pieces` in order on a new connection to 127.0.0.1:port, `gapMs` apart (so they arrive as
 * separate reads); resolves with everything the server wrote, once it closed the connection.
 */
export async function rawExchange(port: number, pieces: readonly Uint8Array[], gapMs = 1): Promise<string> {
  const sock = net.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  const out: Buffer[] = [];
  sock.on('data', (c: Buffer) => out.push(c));
  sock.on('error', () => {});
  const closed = once(sock, 'close');
  for (const p of pieces) {
    sock.write(p);
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
  }
  await closed;
  return Buffer.concat(out).toString('latin1');
}
