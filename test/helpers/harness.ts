/** Shared test helpers: a burrow server + a local origin + requests with Host headers, all on port 0. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { createServer, type BurrowServer } from '../../src/app/server.js';
import { composeServer, type ComposedServer, type ComposeOptions } from '../../src/app/compose.js';
import type { ServerOptions } from '../../src/server/config.js';

export async function startServer(
  options: ServerOptions = {},
): Promise<{ server: BurrowServer; port: number; url: string }> {
  const server = createServer({ logLevel: 'silent', processMetrics: false, address: '127.0.0.1', port: 0, ...options });
  const addr = await server.listen();
  return { server, port: addr.port, url: `http://127.0.0.1:${addr.port}` };
}

/** The whole `burrow server` (accounts in an in-memory SQLite, the pipe, the edges), silent, on port 0. */
export async function startComposed(
  options: ComposeOptions = {},
): Promise<{ composed: ComposedServer; port: number; url: string }> {
  const composed = await composeServer({
    port: 0,
    address: '127.0.0.1',
    db: 'sqlite::memory:',
    logLevel: 'silent',
    processMetrics: false,
    ...options,
  });
  const { main } = await composed.listen();
  return { composed, port: main.port, url: `http://127.0.0.1:${main.port}` };
}

export async function startOrigin(handler: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A request to the burrow server with a Host header (`<name>.localhost`). */
export function request(
  port: number,
  host: string,
  path: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
    agent?: http.Agent | false;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: { host, ...options.headers },
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export function hostFor(tunnelUrl: string): string {
  return new URL(tunnelUrl).host;
}

export async function closeHttp(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}
