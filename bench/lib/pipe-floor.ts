/**
 * The least a Node pipe server can do (child process), bench/pipe.ts's floor row: raw TCP, no HTTP
 * library. A request head is read up to its blank line; `PUT`/`POST` with a Content-Length is a
 * sender, `GET` a receiver, `?n=N` the receivers the path waits for (default 1). Once a path has its
 * sender and its N receivers, each receiver gets `200` with the sender's Content-Length and every
 * chunk the sender's socket reads is written to every receiver as it came (`socket.on('data')` →
 * `write()`), the sender paused while a receiver's socket is over its high-water mark; sockets with
 * TCP_NODELAY, as Node's HTTP servers set it (with Nagle's algorithm the floor took ~20 % longer). An
 * `Expect: 100-continue` (curl's uploads) is answered at once. Nothing else: no parser for the
 * body, no pages, no checks beyond what the bench's clients send. Like burrow's CLI it settles
 * glibc's malloc thresholds first (src/core/malloc.ts), so the row measures the server's work, not
 * its heap trimming. Listens on 127.0.0.1:--port (bench/pipe-server.ts starts it as `floor`).
 */
import net from 'node:net';
import { settleMallocThresholds } from '../../src/core/malloc.js';
import { argNumber } from './child.js';

/** The longest request head read (the bench's clients send a few hundred bytes). */
const MAX_HEAD_BYTES = 16 * 1024;

interface Waiting {
  n: number;
  sender?: { socket: net.Socket; length: number; rest: Buffer };
  receivers: net.Socket[];
}

settleMallocThresholds();
const paths = new Map<string, Waiting>();

function start(path: string, w: Waiting): void {
  paths.delete(path);
  const { socket: sender, length } = w.sender!;
  let left = length;
  let blocked = 0;
  const head = `HTTP/1.1 200 OK\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;
  for (const r of w.receivers) {
    r.write(head);
    r.on('drain', () => {
      if (--blocked === 0) sender.resume();
    });
  }
  const pass = (chunk: Buffer): void => {
    if (chunk.length > left) chunk = chunk.subarray(0, left);
    left -= chunk.length;
    for (const r of w.receivers) if (!r.write(chunk)) blocked++;
    if (blocked > 0) sender.pause();
    if (left === 0) {
      for (const r of w.receivers) r.end();
      sender.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    }
  };
  if (w.sender!.rest.length) pass(w.sender!.rest);
  if (left > 0) sender.on('data', pass);
  sender.resume();
}

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => socket.destroy());
  let head = Buffer.alloc(0);
  const onHead = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > MAX_HEAD_BYTES) socket.destroy();
      return;
    }
    socket.off('data', onHead);
    socket.pause();
    const lines = head.subarray(0, end).toString('latin1').split('\r\n');
    const [method, target = '/'] = lines[0]!.split(' ');
    const url = new URL(target, 'http://floor');
    const header = (name: string): string | undefined =>
      lines
        .find((l) => l.toLowerCase().startsWith(`${name}:`))
        ?.slice(name.length + 1)
        .trim();
    const w = paths.get(url.pathname) ?? { n: Number(url.searchParams.get('n') ?? 1), receivers: [] };
    paths.set(url.pathname, w);
    if (method === 'GET') w.receivers.push(socket);
    else {
      if (header('expect')?.toLowerCase() === '100-continue') socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      w.sender = { socket, length: Number(header('content-length')), rest: head.subarray(end + 4) };
    }
    if (w.sender && w.receivers.length === w.n) start(url.pathname, w);
  };
  socket.on('data', onHead);
});
server.listen(argNumber('port', 0), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
