/** pipenet's own server (its npm package's createServer) as a child process. Prints BENCH_READY {"port"}. */
import type { AddressInfo } from 'node:net';
import { createServer } from 'pipenet/server';
import { exitWithParent, ready } from './child.js';

const server = createServer({ domains: ['localhost'] });
server.listen(0, '127.0.0.1', () => ready({ port: (server.address() as AddressInfo).port }));
exitWithParent(() => server.closeAllConnections());
