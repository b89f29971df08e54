/** A stand-alone listener for a pipe handler (`burrow pipe serve`, or the server's `--pipe-port`). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PipeHandler } from './handler.js';

export interface PipeListenOptions {
  port: number;
  /** Bind address (default: all interfaces). */
  address?: string;
}

export interface PipeListener {
  readonly server: Server;
  /** `http://address:port` actually bound (port resolved when 0 was asked). */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, closes the handler's transfers, then the open connections. */
  close(): Promise<void>;
}

/**
 * Listens with `handler` as the whole URL space (bare `/<path>`). Node's default request timeout
 * (300 s) is switched off: a pipe transfer may legitimately last hours.
 */
export function listenPipe(
  handler: PipeHandler,
  options: PipeListenOptions,
  closeHandler = true,
): Promise<PipeListener> {
  const server = createServer({ requestTimeout: 0 }, handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.address, () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve({
        server,
        port: addr.port,
        url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${addr.port}`,
        close: async () => {
          const closing = new Promise<void>((r) => server.close(() => r()));
          if (closeHandler) await handler.close();
          server.closeAllConnections();
          await closing;
        },
      });
    });
  });
}
