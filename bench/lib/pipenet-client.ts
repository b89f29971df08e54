/**
 * pipenet's own client (its npm package's pipenet()) as a child process, for the origin at
 * 127.0.0.1:--port via --server. The client dials the server's hostname (127.0.0.1 here) for its
 * socket pool and the origin at localHost. Prints BENCH_READY {"url", "id"}.
 */
import { pipenet } from 'pipenet';
import { argNumber, argValue, exitWithParent, ready } from './child.js';

const host = argValue('server');
if (!host) throw new Error('--server is required');
const tunnel = await pipenet({ port: argNumber('port', 0), host, localHost: '127.0.0.1' });
tunnel.on('error', () => {});
ready({ url: tunnel.url, id: tunnel.clientId });
exitWithParent(() => tunnel.close());
