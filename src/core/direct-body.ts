/**
 * A large request body read straight from its TCP socket into a few reused buffers, past Node's
 * HTTP parser. The second place burrow leans on Node's HTTP server internals (the first is
 * src/server/http/socket-handoff.ts).
 *
 * Why: Node's parser hands JavaScript every body piece as a fresh copy (`Parser::on_body` →
 * `Buffer::Copy`), and every read of the socket is a fresh 64 KiB buffer. A process streaming a
 * large upload therefore allocates its size in short-lived buffers, which V8 frees only once 32 MiB
 * of them are young: measured on a pipe, a 500 MiB `curl -T` → `curl` through a bare Node server
 * peaked at 86 MiB RSS and 330–370 ms CPU; reading into reused buffers, 57 MiB and 250–290 ms
 * (bench/RESULTS.md, "The pipe's upload read into reused buffers").
 *
 * How, with Node's public pieces where there are any:
 * - the parser is taken off the socket's handle (`parser.unconsume()`, as Node itself does for an
 *   upgrade), once the head and the body bytes that came with it went through it;
 * - the socket reads into user buffers, the mechanism behind `net.Socket`'s documented `onread`
 *   option, installed on a socket that already exists: its three `kBuffer*` slots (found by their
 *   descriptions; every `net.Socket` has them) and `handle.useUserBuffer()`;
 * - the body ends at its Content-Length; bytes after it are read and dropped, and the connection
 *   is not reused (the caller answers with `Connection: close`, see `directBodyEligible`).
 *
 * A buffer handed to the sink stays the sink's until it calls `release()`; reading pauses when
 * DIRECT_BODY_MAX_BUFFERS are out. test/core/direct-body.test.ts fails loudly if a Node version
 * changes any of this; `directBodyEligible` says no (the parser path is used) where a piece is
 * missing.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { canReadIntoPool, readIntoPool, type PooledReads } from './pooled-reads.js';

/**
 * Size of each reused read buffer: Node's own socket read size. 128 KiB halved the read and write
 * calls and cost a curl → curl transfer ~25 % less server CPU, but three Node receivers of one sender
 * took 14 % longer (alternating, 10 rounds of 512 MiB: 1.06 against 0.91 s); bench/RESULTS.md.
 */
export const DIRECT_BODY_BUFFER_BYTES = 64 * 1024;
/** Most read buffers one body may have out (delivered, not yet released) before its reads pause: 4 MiB. */
export const DIRECT_BODY_MAX_BUFFERS = 64;
/** Bodies smaller than this go through Node's parser as usual (their connection stays reusable). */
export const DIRECT_BODY_MIN_BYTES = 1024 * 1024;

export interface DirectBodySink {
  /** A piece of the body, in order. `chunk` may be overwritten once `release()` was called (once). */
  onChunk(chunk: Buffer, release: () => void): void;
  /** The whole Content-Length arrived. */
  onEnd(): void;
  /** The connection closed or failed before the body was complete. */
  onError(err: Error): void;
}

interface ParserLike {
  _consumed?: boolean;
  unconsume(): void;
}

function socketParts(req: IncomingMessage): { socket: Socket; parser: ParserLike } | undefined {
  const socket = req.socket as (Socket & { parser?: ParserLike | null }) | null;
  if (!socket || !canReadIntoPool(socket)) return undefined;
  const parser = socket.parser;
  if (!parser || parser._consumed !== true || typeof parser.unconsume !== 'function') return undefined;
  return { socket, parser };
}

/**
 * Whether `req`'s body can be read directly: HTTP/1.1 over plain TCP, Node's parser reading the
 * socket in C++, a Content-Length of at least `minBytes` and no Transfer-Encoding. A caller that
 * goes on to use `DirectBody` answers this request with `Connection: close`.
 */
export function directBodyEligible(req: IncomingMessage, minBytes = DIRECT_BODY_MIN_BYTES): boolean {
  if (req.httpVersion !== '1.1' || req.headers['transfer-encoding'] !== undefined) return false;
  const cl = req.headers['content-length'];
  if (cl === undefined || !/^\d{1,15}$/.test(cl) || Number(cl) < minBytes) return false;
  return socketParts(req) !== undefined;
}

export class DirectBody {
  readonly #req: IncomingMessage;
  #remaining: number;
  #sink: DirectBodySink | undefined;
  /** The socket's reads, once taken over (undefined: not yet, or read through `req` instead). */
  #reads: PooledReads | undefined;
  #paused = false;
  #ended = false;
  #discarding = false;

  /** `req` must have passed `directBodyEligible`. */
  constructor(req: IncomingMessage) {
    this.#req = req;
    this.#remaining = Number(req.headers['content-length']);
  }

  /**
   * Begins delivering to `sink` on the next tick (after Node's parser finished the read that held
   * the head). Falls back to the request stream itself if the socket can no longer be taken over.
   */
  start(sink: DirectBodySink): void {
    this.#sink = sink;
    process.nextTick(() => this.#takeOver());
  }

  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    if (this.#reads) this.#reads.pause();
    else this.#req.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#resumeReading();
  }

  /** Drops the rest of the body as it arrives (the transfer failed; the caller cuts the connection). */
  discard(): void {
    this.#discarding = true;
    this.#paused = false;
    this.#resumeReading();
  }

  #resumeReading(): void {
    if (this.#ended && !this.#discarding) return;
    if (!this.#reads) this.#req.resume();
    else if (this.#discarding) this.#reads.resumeUnbounded();
    else this.#reads.resume();
  }

  #takeOver(): void {
    const req = this.#req;
    const parts = socketParts(req);
    if (!parts) return this.#fallBack();
    const { socket, parser } = parts;
    parser.unconsume();
    parser._consumed = false;
    this.#reads = readIntoPool(
      socket,
      { onChunk: (chunk, release) => this.#deliver(chunk, release) },
      {
        bufferBytes: DIRECT_BODY_BUFFER_BYTES,
        firstBytes: DIRECT_BODY_BUFFER_BYTES,
        maxBuffers: DIRECT_BODY_MAX_BUFFERS,
        // one body per connection (it closes after): every buffer is worth keeping till the end
        keepBuffers: DIRECT_BODY_MAX_BUFFERS,
        paused: this.#paused,
      },
    );
    socket.once('close', () => {
      if (!this.#ended) this.#fail(new Error('the sender closed the connection before the body was complete'));
    });
    // The body bytes that arrived with the head already went through the parser: they come first
    // (the socket's own reads are delivered from the next turn on).
    let chunk: Buffer | null;
    while (!this.#ended && (chunk = req.read() as Buffer | null) !== null) this.#deliver(chunk, noop);
  }

  #fallBack(): void {
    const req = this.#req;
    req.on('data', (chunk: Buffer) => this.#deliver(chunk, noop));
    req.once('end', () => {
      if (!this.#ended) this.#fail(new Error('the body ended before its Content-Length'));
    });
    req.once('error', (err) => this.#fail(err));
    if (this.#paused) req.pause();
  }

  #deliver(data: Buffer, release: () => void): void {
    if (this.#ended || this.#discarding || this.#remaining <= 0) {
      release();
      return;
    }
    const piece = data.length > this.#remaining ? data.subarray(0, this.#remaining) : data;
    this.#remaining -= piece.length;
    this.#sink?.onChunk(piece, release);
    if (this.#remaining === 0 && !this.#ended) {
      this.#ended = true;
      // what follows the body is read and dropped until the connection closes: left unread, it
      // would turn the close into a reset, which can cut the end of the answer in flight
      this.#discarding = true;
      this.#paused = false;
      this.#sink?.onEnd();
      this.#resumeReading();
    }
  }

  #fail(err: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#sink?.onError(err);
  }
}

function noop(): void {}
