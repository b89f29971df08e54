/** Small socket and stream helpers shared by the tests. */
import { once } from 'node:events';
import net from 'node:net';
import type { Readable } from 'node:stream';

/** A TCP port that was free a moment ago on 127.0.0.1 (for things that cannot listen on port 0). */
/**
 * A TCP port on 127.0.0.1 that refuses connections and that no test's server can take meanwhile. A port got from
 * listen(0) and closed again can be handed at once to a server of another test file running in parallel: a tunely
 * agent's "unreachable" target then reached another test's origin, and both tests failed (CI, 2026-12-07). Port 1 is
 * privileged and below the ephemeral range; nothing here listens on it.
 */
export const REFUSED_PORT = 1;

export async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Ports tried for a free window: below Linux's ephemeral range (32768–60999), so no client socket takes one meanwhile. */
const WINDOW_PORTS = { from: 20_000, to: 32_767 } as const;

/**
 * `size` consecutive TCP ports that were all free a moment ago on every address (a random window, checked port by
 * port; for a server's --tcp-ports range). Throws after 50 windows with a port in use.
 */
export async function freePortRange(size: number): Promise<{ from: number; to: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const from = WINDOW_PORTS.from + Math.floor(Math.random() * (WINDOW_PORTS.to - WINDOW_PORTS.from - size));
    let free = true;
    for (let p = from; p < from + size && free; p++) free = await bindable(p);
    if (free) return { from, to: from + size - 1 };
  }
  throw new Error(`no ${size} free consecutive ports in ${WINDOW_PORTS.from}-${WINDOW_PORTS.to}`);
}

async function bindable(port: number): Promise<boolean> {
  const s = net.createServer();
  const ok = await new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '0.0.0.0', () => resolve(true));
  });
  if (ok) await new Promise<void>((r) => s.close(() => r()));
  return ok;
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
