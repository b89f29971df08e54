/**
 * burrow agent (child process): opens --count tunnels with openTunnel() (one WebSocket each, as a
 * real deployment would) to --server for the origin at 127.0.0.1:--port, --concurrency at a time.
 * Prints BENCH_READY {"urls": [...first 5], "count"}.
 */
import { openTunnel, type Tunnel } from '../../src/client/burrow/open-tunnel.js';
import { argNumber, argValue, exitWithParent, likeBurrowCli, ready, serveProfiling } from './child.js';

likeBurrowCli('client');

const serverArg = argValue('server');
if (!serverArg) throw new Error('--server is required');
const server: string = serverArg;
const port = argNumber('port', 0);
const count = argNumber('count', 1);
const concurrency = argNumber('concurrency', 25);
const prefix = argValue('prefix') ?? 'bench';
/** user:password: the tunnels get a Basic-auth visitor rule. */
const basicAuth = argValue('basic-auth');
/** --inspect: each tunnel records its requests in a local inspector (on any free loopback port). */
const inspect = process.argv.includes('--inspect');

const tunnels: Tunnel[] = [];
serveProfiling();
exitWithParent(() => {
  for (const t of tunnels) t.close();
});

let next = 0;
async function worker(): Promise<void> {
  while (next < count) {
    const i = next++;
    const t = await openTunnel({
      port,
      server,
      localHost: '127.0.0.1',
      subdomain: `${prefix}-${i}`,
      ...(basicAuth ? { access: { basicAuth } } : {}),
      ...(inspect ? { inspect: { port: 0 } } : {}),
    });
    t.on('error', () => {});
    tunnels.push(t);
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, count) }, () => worker()));
ready({ urls: tunnels.slice(0, 5).map((t) => t.url), count: tunnels.length });
