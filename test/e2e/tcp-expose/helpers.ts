/** Shared setup for the `burrow tcp` (expose side) end-to-end tests: the composed server + a local service. */
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { composeServer, type ComposedServer } from '../../../src/app/compose.js';
import { exposeTcp, type ExposeTcpOptions, type TcpTunnel } from '../../../src/client/burrow/expose-tcp.js';

export { dial, echo, hashUntilEnd, readBytes, startTarget, writePattern } from '../../compat/tcp-ws/helpers.js';

export interface Stack {
  composed: ComposedServer;
  port: number;
  url: string;
  range: { from: number; to: number } | undefined;
  close(): Promise<void>;
}

/** A random 50-port window in 30000-39999 (unlikely to collide with other test files). */
export function randomRange(size = 50): { from: number; to: number } {
  const from = 30000 + Math.floor(Math.random() * (10000 - size));
  return { from, to: from + size - 1 };
}

/** The full server (composeServer) on 127.0.0.1:0; `range: false` = no --tcp-ports. */
export async function startComposedTcp(
  options: { range?: false; rangeSize?: number; tcpPublicHost?: string } = {},
): Promise<Stack> {
  const range = options.range === false ? undefined : randomRange(options.rangeSize);
  const composed = await composeServer({
    port: 0,
    address: '127.0.0.1',
    db: 'sqlite::memory:',
    ...(range ? { tcpPorts: `${range.from}-${range.to}` } : {}),
    ...(options.tcpPublicHost ? { tcpPublicHost: options.tcpPublicHost } : {}),
    logLevel: 'silent',
    processMetrics: false,
  });
  const { main } = await composed.listen();
  return {
    composed,
    port: main.port,
    url: `http://127.0.0.1:${main.port}`,
    range,
    close: () => composed.close(),
  };
}

export async function expose(stack: Stack, port: number, extra: Partial<ExposeTcpOptions> = {}): Promise<TcpTunnel> {
  return exposeTcp({ port, localHost: '127.0.0.1', server: stack.url, reconnect: false, ...extra });
}

/** The public port of tcp://host:port. */
export function publicPort(tunnel: TcpTunnel): number {
  const a = tunnel.tcpAddress;
  if (!a) throw new Error('no public TCP address');
  return Number(new URL(a).port);
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export async function accepts(port: number): Promise<boolean> {
  const s = connect({ port, host: '127.0.0.1' });
  const r = await new Promise<boolean>((resolve) => {
    s.once('connect', () => resolve(true));
    s.once('error', () => resolve(false));
  });
  s.destroy();
  return r;
}

/** Whether port is free to bind on 127.0.0.1. */
export async function bindable(port: number): Promise<boolean> {
  const srv = createNetServer();
  const ok = await new Promise<boolean>((resolve) => {
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (ok) await new Promise<void>((r) => srv.close(() => r()));
  return ok;
}

/** Connect with allowHalfOpen (our side stays writable after the peer's FIN). */
export async function dialHalfOpen(port: number): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('error', reject);
  });
  return s;
}
