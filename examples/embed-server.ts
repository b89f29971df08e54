/**
 * Mount a burrow server into an existing Node http.Server: your own routes keep working, and the
 * same port also serves tunnels, the agent endpoint (/api/v1/agent) and burrow's API.
 *
 *   node --import tsx examples/embed-server.ts          # listens on http://localhost:8080 (PORT=…)
 *   node --import tsx examples/embed-server.ts --demo   # also opens a tunnel to itself and exits
 *
 * With Express or Fastify: app requests for burrow's hosts go to burrow.handleRequest(req, res), and
 * server.on('upgrade', burrow.handleUpgrade) carries WebSockets.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openTunnel } from 'burrow-tunnel';
import { createServer } from 'burrow-tunnel/server';

// Your existing server. Listen first, so the port is known (PORT=0 picks a free one).
const app = http.createServer();
const port = Number(process.env['PORT'] ?? 8080);
await new Promise<void>((resolve) => app.listen(port, resolve));
const bound = (app.address() as AddressInfo).port;

// A mounted server never calls listen(), so tell it its public URL: tunnel URLs take its port.
const burrow = createServer({
  domains: ['localhost'],
  publicUrl: `http://localhost:${bound}`,
  logLevel: 'warn',
  onTunnelCreated: (t) => console.log(`tunnel up:   ${t.name} → ${t.url}`),
  onTunnelClosed: (t) => console.log(`tunnel down: ${t.name}`),
});

// Your own route first; everything else (tunnel hosts, /api/…, /health, /metrics) goes to burrow.
app.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
  const host = (req.headers.host ?? '').split(':')[0];
  if (host === 'localhost' && req.url === '/hello') {
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('hello from the host application\n');
    return;
  }
  burrow.handleRequest(req, res);
});
app.on('upgrade', burrow.handleUpgrade);
// When burrow may answer every request, burrow.attach(app) adds both listeners instead.

console.log(`host app:    http://localhost:${bound}/hello`);
console.log(
  `burrow:      http://localhost:${bound}/api/status  (agents: burrow http 3000 --server http://localhost:${bound})`,
);

const shutdown = async (): Promise<void> => {
  await burrow.close();
  app.close();
};

if (process.argv.includes('--demo')) {
  // Expose a local service through the embedded server, fetch it once, then stop.
  const origin = http.createServer((_req, res) => res.end('hello through the embedded burrow\n'));
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const tunnel = await openTunnel({
    port: (origin.address() as AddressInfo).port,
    localHost: '127.0.0.1',
    server: `http://localhost:${bound}`,
  });
  const text = await new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: bound, path: '/', headers: { Host: new URL(tunnel.url).host } }, (res) => {
        let t = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (t += c));
        res.on('end', () => resolve(t));
      })
      .on('error', reject);
  });
  console.log(`through ${tunnel.url}: ${text.trim()}`);
  tunnel.close();
  origin.close();
  await shutdown();
} else {
  process.once('SIGINT', () => void shutdown());
}
