/**
 * What bench/tcp.ts and bench/tcp-expose.ts share: the TCP targets (a child process role: a sink
 * that reads an 8-byte length, then that many bytes, and answers "K"; a source that reads an
 * 8-byte length, then sends that many bytes; an echo server) and the client-side measurements.
 */
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { exitWithParent, ready } from './child.js';

/** The targets' ports as the flags a bench role takes (`--sink P --source P --echo P`). */
export function targetFlags(t: { sink: number; source: number; echo: number }): string[] {
  return ['--sink', String(t.sink), '--source', String(t.source), '--echo', String(t.echo)];
}

export async function runTargets(): Promise<void> {
  const sink = createServer((s) => {
    s.setNoDelay(true);
    let want = -1;
    let got = 0;
    let head = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      if (want < 0) {
        head = Buffer.concat([head, c]);
        if (head.length < 8) return;
        want = Number(head.readBigUInt64BE(0));
        got = head.length - 8;
      } else got += c.length;
      if (got >= want) s.write('K');
    });
    s.on('error', () => {});
  });
  const source = createServer((s) => {
    s.setNoDelay(true);
    let head = Buffer.alloc(0);
    const onData = (c: Buffer): void => {
      head = Buffer.concat([head, c]);
      if (head.length < 8) return;
      s.off('data', onData);
      s.resume();
      void sendN(s, Number(head.readBigUInt64BE(0)));
    };
    s.on('data', onData);
    s.on('error', () => {});
  });
  const echo = createServer((s) => {
    s.setNoDelay(true);
    s.pipe(s);
    s.on('error', () => {});
  });
  sink.listen(0, '127.0.0.1');
  source.listen(0, '127.0.0.1');
  echo.listen(0, '127.0.0.1');
  await Promise.all([once(sink, 'listening'), once(source, 'listening'), once(echo, 'listening')]);
  const portOf = (s: typeof sink): number => (s.address() as AddressInfo).port;
  ready({ sink: portOf(sink), source: portOf(source), echo: portOf(echo) });
  exitWithParent();
}

export async function sendN(s: Socket, n: number): Promise<void> {
  const block = Buffer.alloc(256 * 1024, 0x42);
  let left = n;
  while (left > 0 && !s.destroyed) {
    const k = Math.min(left, block.length);
    left -= k;
    if (!s.write(k === block.length ? block : block.subarray(0, k))) await once(s, 'drain');
  }
}

/** Size of one request/response exchange, in bytes. */
export const MSG = 64;

export async function dialPort(port: number): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1' });
  s.setNoDelay(true);
  await once(s, 'connect');
  return s;
}

/** One stream of `bytes` to the sink through `port`; returns MiB/s. */
export async function streamUp(port: number, bytes: number): Promise<number> {
  const s = await dialPort(port);
  const block = Buffer.alloc(256 * 1024, 0x5a);
  const start = process.hrtime.bigint();
  const head = Buffer.alloc(8);
  head.writeBigUInt64BE(BigInt(bytes));
  s.write(head);
  const acked = once(s, 'data');
  let left = bytes;
  while (left > 0) {
    const n = Math.min(left, block.length);
    left -= n;
    if (!s.write(n === block.length ? block : block.subarray(0, n))) await once(s, 'drain');
  }
  await acked;
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  s.destroy();
  return bytes / 1024 / 1024 / secs;
}

/** Ask the source for `bytes` through `port`; returns MiB/s. */
export async function streamDown(port: number, bytes: number): Promise<number> {
  const s = await dialPort(port);
  const start = process.hrtime.bigint();
  const head = Buffer.alloc(8);
  head.writeBigUInt64BE(BigInt(bytes));
  let got = 0;
  const done = new Promise<void>((resolve) =>
    s.on('data', (c: Buffer) => {
      got += c.length;
      if (got >= bytes) resolve();
    }),
  );
  s.write(head);
  await done;
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  s.destroy();
  return bytes / 1024 / 1024 / secs;
}

/** `exchanges` sequential 64-byte round trips on one socket; returns per-exchange latencies (ms). */
export async function pingPong(s: Socket, exchanges: number): Promise<number[]> {
  const msg = Buffer.alloc(MSG, 0x61);
  const lat: number[] = [];
  let pending = 0;
  let resolveOne: (() => void) | undefined;
  const onData = (c: Buffer): void => {
    pending -= c.length;
    if (pending <= 0 && resolveOne) resolveOne();
  };
  s.on('data', onData);
  for (let i = 0; i < exchanges; i++) {
    const t0 = process.hrtime.bigint();
    pending = MSG;
    const done = new Promise<void>((r) => (resolveOne = r));
    s.write(msg);
    await done;
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  s.off('data', onData);
  return lat;
}

export function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** One connection per port, `exchanges` round trips on each in parallel: exchanges/s and latency. */
export async function reqRes(
  ports: number[],
  exchanges: number,
): Promise<{ perSec: number; p50: number; p99: number }> {
  const socks = await Promise.all(ports.map((p) => dialPort(p)));
  // Warm-up exchange (multiplexed targets are dialled lazily on the first payload).
  await Promise.all(socks.map((s) => pingPong(s, 1)));
  const start = process.hrtime.bigint();
  const lats = (await Promise.all(socks.map((s) => pingPong(s, exchanges)))).flat();
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  for (const s of socks) s.destroy();
  lats.sort((a, b) => a - b);
  return { perSec: lats.length / secs, p50: pct(lats, 50), p99: pct(lats, 99) };
}
