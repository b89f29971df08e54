/**
 * Put a tiny local HTTP server on a public URL with openTunnel().
 *
 *   npm start                                  # a burrow server on http://localhost:8080 (another terminal)
 *   node --import tsx examples/expose.ts       # prints the URL, fetches it once through the tunnel
 *   node --import tsx examples/expose.ts --once   # … and exits
 *
 * BURROW_SERVER=https://tunnels.example.com (and BURROW_TOKEN) point it at another server.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openTunnel } from 'burrow-tunnel';

// 1. A local service on any free port.
const local = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(`hello from ${String(req.headers['x-forwarded-for'] ?? 'somewhere')}: ${req.method} ${req.url}\n`);
});
await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
const { port } = local.address() as AddressInfo;

// 2. The tunnel: a public URL for that port.
const server = process.env['BURROW_SERVER'] ?? 'http://localhost:8080';
const token = process.env['BURROW_TOKEN'];
const tunnel = await openTunnel({ port, localHost: '127.0.0.1', server, ...(token ? { token } : {}) });
console.log(`local service  http://127.0.0.1:${port}`);
console.log(`public URL     ${tunnel.url}`);

tunnel.on('request', (r) => console.log(`  ${r.method} ${r.path} ${r.status} ${r.durationMs}ms`));
tunnel.on('reconnecting', (r) => console.log(`  reconnecting in ${r.delayMs} ms: ${r.error.message}`));
tunnel.on('error', (e) => console.error(`  error: ${e.message}`));

// 3. One request through the tunnel. *.localhost may not resolve everywhere, so connect to the
//    server itself and name the tunnel in the Host header (what `curl -H 'Host: …'` does).
const url = new URL(tunnel.url);
const via = new URL(server);
const body = await new Promise<string>((resolve, reject) => {
  const req = http.get(
    { host: via.hostname, port: via.port || 80, path: '/from-example', headers: { Host: url.host } },
    (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(`${res.statusCode} ${text}`));
    },
  );
  req.on('error', reject);
});
console.log(`through the tunnel: ${body.trim()}`);
console.log(`try it:         curl -H 'Host: ${url.host}' ${via.origin}/`);

const stop = (): void => {
  tunnel.close();
  local.close();
};
if (process.argv.includes('--once')) stop();
else {
  console.log('Press Ctrl-C to stop.');
  process.once('SIGINT', stop);
}
