/**
 * The `localtunnel` npm client (its programmatic localtunnel(), as `lt` runs it) as a child process,
 * for the origin at 127.0.0.1:--port via --server (pipenet's server speaks localtunnel's protocol).
 * Prints BENCH_READY {"url", "id"}.
 */
import { createRequire } from 'node:module';
import { argNumber, argValue, exitWithParent, ready } from './child.js';

interface LtTunnel {
  url: string;
  clientId: string;
  on(ev: 'error', fn: (e: Error) => void): void;
  close(): void;
}
const localtunnel = createRequire(import.meta.url)('localtunnel') as (o: {
  port: number;
  host: string;
  local_host: string;
}) => Promise<LtTunnel>;

const host = argValue('server');
if (!host) throw new Error('--server is required');
const tunnel = await localtunnel({ port: argNumber('port', 0), host, local_host: '127.0.0.1' });
tunnel.on('error', () => {});
ready({ url: tunnel.url, id: tunnel.clientId });
exitWithParent(() => tunnel.close());
