/**
 * The simplest TCP proxy Node can be (child process): each connection is piped to a target on
 * 127.0.0.1. `--port N` forwards one listening port to N and prints BENCH_READY {"port"};
 * `--ports A,B,C` listens once per target and prints BENCH_READY {"ports": […]} in the same order.
 * bench/http-cpu and bench/tcp-expose use it as the floor of one JavaScript hop.
 */
import net from 'node:net';
import { argValue, exitWithParent, ready } from './child.js';

function forward(target: number): Promise<net.Server> {
  const server = net.createServer((visitor) => {
    const origin = net.connect(target, '127.0.0.1');
    visitor.setNoDelay(true);
    origin.setNoDelay(true);
    visitor.pipe(origin).pipe(visitor);
    visitor.on('error', () => origin.destroy());
    origin.on('error', () => visitor.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const many = argValue('ports');
const targets = (many ?? argValue('port') ?? '').split(',').map(Number);
if (targets.some((t) => !Number.isInteger(t) || t <= 0)) throw new Error('--port N or --ports A,B,C is required');
const servers = await Promise.all(targets.map(forward));
const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
ready(many ? { ports } : { port: ports[0] });
exitWithParent(() => servers.forEach((s) => s.close()));
