/** The whole-system fixture: a burrow server on port 0, a local origin and an agent between them. */
import type http from 'node:http';
import type { TestContext } from 'node:test';
import { openTunnel, type OpenTunnelOptions, type Tunnel } from '../../src/client/burrow/open-tunnel.js';
import type { BurrowServer } from '../../src/app/server.js';
import type { ServerOptions } from '../../src/server/config.js';
import { closeHttp, request, startOrigin, startServer, type Reply } from './harness.js';

export interface StackOptions {
  /** createServer() options (on top of 127.0.0.1:0, silent, no process metrics). */
  server?: ServerOptions;
  /** openTunnel() options (server, port and localHost are the stack's). */
  tunnel?: Partial<OpenTunnelOptions>;
}

export interface Stack {
  server: BurrowServer;
  /** The burrow server's port and URL. */
  port: number;
  url: string;
  origin: http.Server;
  originPort: number;
  tunnel: Tunnel;
  /** The tunnel's Host header (`<name>.localhost:<port>`). */
  host: string;
  /** A request to the tunnel through the server. */
  visit(path: string, options?: Parameters<typeof request>[3]): Promise<Reply>;
  /** Agent, server and origin closed (also done by t.after; closing twice is harmless). */
  close(): Promise<void>;
}

/** Start server, origin (`handler`) and agent; the test's t.after tears them down. */
export async function startStack(
  t: Pick<TestContext, 'after'>,
  handler: http.RequestListener,
  options: StackOptions = {},
): Promise<Stack> {
  const srv = await startServer(options.server);
  const origin = await startOrigin(handler);
  let tunnel: Tunnel;
  try {
    tunnel = await openTunnel({ server: srv.url, port: origin.port, localHost: '127.0.0.1', ...options.tunnel });
  } catch (err) {
    await srv.server.close();
    await closeHttp(origin.server);
    throw err;
  }
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      tunnel.close();
      await srv.server.close();
      await closeHttp(origin.server);
    })());
  t.after(close);
  const host = new URL(tunnel.url).host;
  return {
    server: srv.server,
    port: srv.port,
    url: srv.url,
    origin: origin.server,
    originPort: origin.port,
    tunnel,
    host,
    visit: (path, o) => request(srv.port, host, path, o),
    close,
  };
}
