/** pipenet's own server (its npm package's createServer) as a child process. Prints BENCH_READY {"port"}. */
import type { AddressInfo } from 'node:net';
import { createServer } from 'pipenet/server';
import { exitWithParent, ready } from './child.js';

// maxTcpSockets 10 = the `pipenet server` CLI's default (--max-sockets); the API alone would give the client 1.
const server = createServer({ domains: ['localhost'], maxTcpSockets: 10 });
server.listen(0, '127.0.0.1', () => ready({ port: (server.address() as AddressInfo).port }));
exitWithParent(() => server.closeAllConnections());
