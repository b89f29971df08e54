import {
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ClientRequest,
} from 'node:http';
import { connect } from 'node:net';
import { once } from 'node:events';
import { createPipeHandler, listenPipe, type PipeHandler, type PipeOptions } from '../../../src/app/pipe.js';

export interface TestPipe {
  url: string;
  port: number;
  handler: PipeHandler;
  close(): Promise<void>;
}

export async function startPipe(options: PipeOptions = {}): Promise<TestPipe> {
  const handler = createPipeHandler(options);
  const l = await listenPipe(handler, { port: 0, address: '127.0.0.1' });
  return { url: l.url, port: l.port, handler, close: () => l.close() };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  text: string;
  complete: boolean;
}

/** Collects a response; resolves even when the body is cut (complete=false). */
export function collect(res: IncomingMessage): Promise<Reply> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (complete: boolean): void => {
      if (done) return;
      done = true;
      const body = Buffer.concat(chunks);
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        rawHeaders: res.rawHeaders,
        body,
        text: body.toString('utf8'),
        complete,
      });
    };
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => finish(res.complete));
    res.on('error', () => finish(false));
    res.on('close', () => finish(res.complete && res.readableEnded));
  });
}

export interface Open {
  req: ClientRequest;
  response: Promise<IncomingMessage>;
  reply: Promise<Reply>;
}

/** Starts a request without waiting; `body` undefined leaves it open for writing unless end=true. */
export function open(
  url: string,
  opts: { method?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer; keepOpen?: boolean } = {},
): Open {
  const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: false });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  response.catch(() => {});
  const reply = response.then(collect);
  reply.catch(() => {});
  if (!opts.keepOpen) req.end(opts.body);
  else if (opts.body !== undefined) req.write(opts.body);
  else req.flushHeaders();
  return { req, response, reply };
}

export async function fetchText(
  url: string,
  opts: { method?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer } = {},
): Promise<Reply> {
  return open(url, opts).reply;
}

/** Sends raw bytes on a TCP socket and returns everything the server wrote until it closed. */
export async function raw(port: number, text: string | Buffer, waitFor?: (soFar: string) => boolean): Promise<string> {
  const sock = connect(port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write(text);
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      if (waitFor?.(Buffer.concat(chunks).toString('latin1'))) sock.end();
    });
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    sock.on('error', () => {});
  });
}
