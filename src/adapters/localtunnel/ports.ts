/** TCP listeners for pool sockets: one per tunnel (from a port range) or one shared port. */
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { BurrowError } from '../../core/errors.js';
import type { PortRange } from '../../core/port-range.js';
import { PORT_RANGE_ATTEMPTS } from './limits.js';
import './errors.js';

function listenOn(server: net.Server, port: number, address: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    const done = (): void => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    };
    if (address) server.listen(port, address, done);
    else server.listen(port, done);
  });
}

/**
 * Listen on a free port: any (range undefined) or one from the range, trying up to
 * PORT_RANGE_ATTEMPTS ports from a random start. Rejects with a BurrowError when none is free.
 */
export async function listenInRange(
  server: net.Server,
  address: string | undefined,
  range: PortRange | undefined,
): Promise<number> {
  if (!range) return listenOn(server, 0, address);
  const size = range.to - range.from + 1;
  const start = randomInt(size);
  const attempts = Math.min(size, PORT_RANGE_ATTEMPTS);
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    const port = range.from + ((start + i) % size);
    try {
      return await listenOn(server, port, address);
    } catch (err) {
      last = err;
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
    }
  }
  throw new BurrowError(
    'BURROW_ERR_LOCALTUNNEL_NO_PORT',
    `no free port in ${range.from}-${range.to} (${(last as Error | undefined)?.message ?? 'all in use'})`,
  );
}

export { listenOn };
