/**
 * The simplest TCP proxy Node can be (child process): each connection is piped to 127.0.0.1:--port.
 * bench/http-cpu uses it as the floor of one JavaScript hop. Prints BENCH_READY {"port"}.
 */
import net from 'node:net';
import { argNumber, exitWithParent, ready } from './child.js';

const target = argNumber('port', 0);
const server = net.createServer((visitor) => {
  const origin = net.connect(target, '127.0.0.1');
  visitor.setNoDelay(true);
  origin.setNoDelay(true);
  visitor.pipe(origin).pipe(visitor);
  visitor.on('error', () => origin.destroy());
  origin.on('error', () => visitor.destroy());
});
server.listen(0, '127.0.0.1', () => ready({ port: (server.address() as net.AddressInfo).port }));
exitWithParent(() => server.close());
