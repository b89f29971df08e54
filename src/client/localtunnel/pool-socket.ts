/**
 * One pool socket of the localtunnel wire protocol, client side: a raw TCP connection to the
 * server's pool port. The server writes whole HTTP requests into it; we dial the local service on
 * the first request byte (keep-alive blank lines are dropped, so an idle socket never holds a
 * local connection open), copy bytes both ways with backpressure, and report each request line.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { BurrowError } from '../../core/errors.js';
import { rawHttpResponse } from '../../core/raw-response.js';
import { TCP_KEEPALIVE_DELAY_MS } from '../../core/limits.js';
import { dialLocal, type LocalTarget } from '../burrow/local-target.js';
import { RequestFramer, type RequestLine } from './request-framer.js';

export interface PoolSocketOptions {
  host: string;
  port: number;
  /** Shared tunnel port: send `<id>\n` first. */
  idLine: string | undefined;
  target: LocalTarget;
  /** Rewrite the Host header of each request to this value (`--local-host`). */
  rewriteHost: string | undefined;
  onRequest: (r: RequestLine) => void;
  /** The local service could not be reached (a 502 was answered). */
  onLocalError: (err: BurrowError) => void;
}

/** Write a short HTTP error answer into the pool socket so the visitor sees why. */
function answerError(remote: net.Socket, err: BurrowError): void {
  const body = `${err.message}\n${err.fix}\n`;
  remote.end(
    rawHttpResponse(
      err.status,
      {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
        Connection: 'close',
        'X-Burrow-Error': err.code,
      },
      body,
    ),
  );
}

/** Connect one pool socket and serve it until it closes. */
export function openPoolSocket(o: PoolSocketOptions): net.Socket {
  const remote = net.connect({ host: o.host, port: o.port, noDelay: true });
  remote.setKeepAlive(true, TCP_KEEPALIVE_DELAY_MS);
  const framer = new RequestFramer({ rewriteHost: o.rewriteHost });
  let local: Duplex | undefined;
  let dialing = false;
  let pending: Buffer[] = [];

  remote.once('connect', () => {
    if (o.idLine !== undefined) remote.write(`${o.idLine}\n`);
  });
  remote.on('error', () => {});

  const writeLocal = (bufs: Buffer[]): void => {
    let ok = true;
    for (const b of bufs) ok = local!.write(b) && ok;
    if (!ok) remote.pause();
  };

  const dial = (): void => {
    dialing = true;
    remote.pause();
    dialLocal(o.target).then(
      (l) => {
        dialing = false;
        if (remote.destroyed) {
          l.destroy();
          return;
        }
        local = l;
        l.on('error', () => {});
        l.on('drain', () => remote.resume());
        l.pipe(remote);
        l.on('close', () => {
          if (!remote.destroyed) remote.end();
        });
        const queued = pending;
        pending = [];
        writeLocal(queued);
        if (local.writableNeedDrain) return;
        remote.resume();
      },
      (err: BurrowError) => {
        dialing = false;
        pending = [];
        o.onLocalError(err);
        if (!remote.destroyed) answerError(remote, err);
      },
    );
  };

  remote.on('data', (chunk: Buffer) => {
    const { out, requests } = framer.push(chunk);
    for (const r of requests) o.onRequest(r);
    if (!out.length) return;
    if (local) writeLocal(out);
    else {
      pending.push(...out);
      if (!dialing) dial();
    }
  });
  remote.on('end', () => {
    if (local) local.end();
    else remote.end();
  });
  remote.on('close', () => {
    local?.destroy();
  });
  return remote;
}
