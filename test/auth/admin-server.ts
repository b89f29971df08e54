import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminAdapter } from '../../src/auth/admin-api.js';
import { TokenService } from '../../src/auth/token-service.js';
import type { Store } from '../../src/store/types.js';

export const ADMIN_SECRET = 'admin-secret-for-tests-0123456789';

/** The admin adapter mounted on a plain Node HTTP server on port 0. */
export async function startAdminServer(
  store: Store,
): Promise<{ url: string; tokens: TokenService; server: Server; close: () => Promise<void> }> {
  const tokens = new TokenService({ store });
  const adapter = createAdminAdapter({ store, tokens, adminToken: ADMIN_SECRET });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!adapter.handleRequest?.(req, res, url)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not admin\n');
    }
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tokens,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
