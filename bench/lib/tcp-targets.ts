/**
 * The TCP bench targets, shared by bench/tcp.ts and bench/tcp-expose.ts (a child process role):
 * a sink (reads an 8-byte length, then that many bytes, answers "K"), a source (reads an 8-byte
 * length, then sends that many bytes) and an echo server. Prints their ports with ready().
 */
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { exitWithParent, ready } from './child.js';

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
