/**
 * A TCP socket read into a few reused buffers instead of a fresh 64 KiB allocation per read.
 *
 * Why: a Node socket that is piped on hands every read over in a new buffer, which V8 frees only
 * once enough of them are young, and whose backing store is external memory that triggers
 * collections by its growth. A bare hop (`net` in → `net` out, 1 GiB, hop CPU from
 * `process.cpuUsage`) cost 0.79 s/GiB with `pipe()` and 0.65 s/GiB reading into reused 64 KiB buffers
 * (bench/RESULTS.md, "Reused read buffers on the tunnel's TCP ends"); a hop of burrow's is such a hop
 * with the mux between its two sockets.
 *
 * How: the mechanism behind `net.Socket`'s documented `onread` option, installed on a socket that
 * already exists (an accepted one, or one connected before its reader is known): its three
 * `kBuffer*` slots, found by their descriptions (every `net.Socket` has them), and
 * `handle.useUserBuffer()`. Node's own `pause()` / `resume()` stop and restart such reads.
 * src/core/direct-body.ts does the same for a request body past Node's HTTP parser.
 *
 * A buffer handed over stays the consumer's until it calls `release()` (once): the reads pause while
 * POOLED_READ_MAX_BUFFERS are out. A consumer that never releases only costs fresh buffers later
 * (the pool is per socket and dies with it), never wrong bytes.
 */
import type { Socket } from 'node:net';

/**
 * Size of each reused read buffer: four times Node's own read size, so a busy socket is read (and
 * its bytes written on) in a quarter of the calls. Against 64 KiB, both reused: 7–19 % less CPU per
 * GiB through a tunnel's public TCP port (bench/ws-access-cpu.ts --mode public-port; bench/RESULTS.md).
 */
export const POOLED_READ_BUFFER_BYTES = 256 * 1024;
/**
 * Size of a socket's first buffer. A socket whose read fills its buffer moves up to
 * POOLED_READ_BUFFER_BYTES; one that never does (small requests and answers, an idle connection)
 * keeps 16 KiB.
 */
export const POOLED_READ_FIRST_BYTES = 16 * 1024;
/** Most buffers one socket may have out (delivered, not yet released) before its reads pause: 4 MiB. */
export const POOLED_READ_MAX_BUFFERS = 16;
/**
 * Most released buffers a socket keeps for its next reads; more are left to the garbage collector.
 * A socket thus holds at most two buffers (512 KiB, resident only as far as reads filled them) once
 * its burst is over, not the POOLED_READ_MAX_BUFFERS a congested link let pile up.
 */
export const POOLED_READ_KEEP_BUFFERS = 1;

interface UserBufferHandle {
  useUserBuffer(buf: Buffer): void;
}

type UserBufferSlots = { kBuffer: symbol; kBufferCb: symbol; kBufferGen: symbol };

/** The socket's `onread` slots, when this Node version has them and nobody uses them yet. */
export function userBufferSlots(socket: Socket): UserBufferSlots | undefined {
  const found: Partial<Record<keyof UserBufferSlots, symbol>> = {};
  for (const s of Object.getOwnPropertySymbols(socket)) {
    const d = s.description;
    if (d === 'kBuffer' || d === 'kBufferCb' || d === 'kBufferGen') found[d] = s;
  }
  if (!found.kBuffer || !found.kBufferCb || !found.kBufferGen) return undefined;
  const v = socket as unknown as Record<symbol, unknown>;
  if (v[found.kBuffer] !== null || v[found.kBufferCb] !== null) return undefined;
  return found as UserBufferSlots;
}

/** The socket's slots, if it can read into user buffers: plain TCP (not TLS), open, with a handle that takes them. */
function usableSlots(socket: Socket): UserBufferSlots | undefined {
  const s = socket as Socket & { encrypted?: boolean; _handle?: Partial<UserBufferHandle> | null };
  if (s.encrypted === true || s.destroyed || typeof s._handle?.useUserBuffer !== 'function') return undefined;
  return userBufferSlots(socket);
}

/** Whether `readIntoPool(socket, …)` would take the socket over (else it returns undefined). */
export function canReadIntoPool(socket: Socket): boolean {
  return usableSlots(socket) !== undefined;
}

export interface PooledReadsSink {
  /** A piece read, in order; `release()` once its bytes are no longer needed (written or copied). */
  onChunk(chunk: Buffer, release: () => void): void;
}

export interface PooledReadsOptions {
  /** Size of each buffer once a read filled one (default POOLED_READ_BUFFER_BYTES). */
  bufferBytes?: number;
  /** Size of the first buffers (default POOLED_READ_FIRST_BYTES; at most bufferBytes). */
  firstBytes?: number;
  /** Most buffers out before the reads pause (default POOLED_READ_MAX_BUFFERS). */
  maxBuffers?: number;
  /** Most released buffers kept for the next reads (default POOLED_READ_KEEP_BUFFERS). */
  keepBuffers?: number;
  /** Start paused: nothing is read until `resume()`. */
  paused?: boolean;
}

/** A socket's reads into reused buffers; made by `readIntoPool`. */
export class PooledReads {
  readonly #socket: Socket;
  readonly #sink: PooledReadsSink;
  readonly #bufferBytes: number;
  /** The size of the buffers taken now: firstBytes until a read filled one, then bufferBytes. */
  #size: number;
  readonly #maxBuffers: number;
  readonly #keepBuffers: number;
  readonly #free: Buffer[] = [];
  /** Buffers handed to the sink or waiting for the next read, not yet back. */
  #out = 0;
  #paused = false;
  /** The read callback said stop (too many buffers out, or paused). */
  #stopped = false;
  #unbounded = false;

  constructor(socket: Socket, sink: PooledReadsSink, options: PooledReadsOptions) {
    this.#socket = socket;
    this.#sink = sink;
    this.#bufferBytes = options.bufferBytes ?? POOLED_READ_BUFFER_BYTES;
    this.#size = Math.min(options.firstBytes ?? POOLED_READ_FIRST_BYTES, this.#bufferBytes);
    this.#maxBuffers = options.maxBuffers ?? POOLED_READ_MAX_BUFFERS;
    this.#keepBuffers = options.keepBuffers ?? POOLED_READ_KEEP_BUFFERS;
    this.#paused = options.paused ?? false;
  }

  /** Stop reading (the sink cannot take more); `resume()` reads on. */
  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#socket.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#readOn();
  }

  /**
   * Read on from now on whatever the sink still holds (no pause at the buffer limit): for a sink
   * that drops what follows (it releases it at once) and may never give back what it held.
   */
  resumeUnbounded(): void {
    this.#unbounded = true;
    this.#paused = false;
    this.#readOn();
  }

  /** @internal */
  start(slots: UserBufferSlots): void {
    const socket = this.#socket;
    const first = this.#take();
    const v = socket as unknown as Record<symbol, unknown>;
    v[slots.kBuffer] = first;
    v[slots.kBufferCb] = (n: number, buf: Buffer): boolean => this.#onRead(n, buf);
    v[slots.kBufferGen] = (): Buffer => this.#take();
    (socket as unknown as { _handle: UserBufferHandle })._handle.useUserBuffer(first);
    // what the socket read before (into its own buffers) comes first
    let chunk: Buffer | null;
    while ((chunk = socket.read() as Buffer | null) !== null) this.#sink.onChunk(chunk, noop);
    if (this.#paused) socket.pause();
    else socket.resume();
  }

  #readOn(): void {
    if ((this.#out >= this.#maxBuffers && !this.#unbounded) || this.#socket.destroyed) return;
    this.#stopped = false;
    this.#socket.resume();
  }

  #take(): Buffer {
    this.#out++;
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.#size);
  }

  #onRead(n: number, buf: Buffer): boolean {
    if (n === buf.length && this.#size < this.#bufferBytes) {
      // a full read: the socket has more to give than its buffer takes
      this.#size = this.#bufferBytes;
      this.#free.length = 0;
    }
    let released = false;
    this.#sink.onChunk(buf.subarray(0, n), () => {
      if (released) return;
      released = true;
      this.#out--;
      if (this.#free.length < this.#keepBuffers && buf.length === this.#size) this.#free.push(buf);
      if (this.#stopped && !this.#paused) this.#readOn();
    });
    const go = !this.#paused && (this.#out < this.#maxBuffers || this.#unbounded);
    if (!go) this.#stopped = true;
    return go;
  }
}

/**
 * Read `socket` into reused buffers from now on: each read goes to `sink.onChunk` instead of the
 * socket's 'data' events ('end', 'close' and 'error' fire as before). Bytes the socket had already
 * read are passed on first. Returns undefined, touching nothing, where the socket cannot (TLS, no
 * handle, a Node without the slots, already reading into user buffers): read it as usual then.
 */
export function readIntoPool(
  socket: Socket,
  sink: PooledReadsSink,
  options: PooledReadsOptions = {},
): PooledReads | undefined {
  const slots = usableSlots(socket);
  if (!slots) return undefined;
  const reads = new PooledReads(socket, sink, options);
  reads.start(slots);
  return reads;
}

/** Where `pipeSocketPooled` writes: a writable that can say when it is done with a chunk's bytes. */
export interface ReleasingWritable {
  /** Write `chunk`; `release()` once its bytes were sent or copied. Same return value as `write()`. */
  writeReleasing(chunk: Buffer, release: () => void): boolean;
  end(): unknown;
  once(event: 'drain', listener: () => void): unknown;
  readonly destroyed: boolean;
}

/**
 * `socket.pipe(to)` with the socket read into reused buffers, each given back once `to` is done
 * with its bytes; reading pauses while `to` is full. The socket's end ends `to`. Returns false,
 * having done nothing, where the socket cannot be read so or `to` is no ReleasingWritable (the
 * caller pipes it as usual).
 */
export function pipeSocketPooled(
  socket: Socket,
  writable: object,
  /**
   * Optional: sees each piece after `to` got it, as a 'data' listener would (the inspector's tap).
   * The piece is valid only during the call: its buffer is read into again later, so what a
   * watcher keeps it must copy.
   */
  watch?: (chunk: Buffer) => void,
): boolean {
  if (typeof (writable as Partial<ReleasingWritable>).writeReleasing !== 'function') return false;
  const to = writable as ReleasingWritable;
  let reads: PooledReads | undefined = undefined;
  let waiting = false;
  reads = readIntoPool(socket, {
    onChunk(chunk, release) {
      if (to.destroyed) {
        release();
        return;
      }
      const more = to.writeReleasing(chunk, release);
      watch?.(chunk);
      if (!more && reads && !waiting) {
        waiting = true;
        reads.pause();
        to.once('drain', () => {
          waiting = false;
          reads!.resume();
        });
      }
    },
  });
  if (!reads) return false;
  socket.once('end', () => {
    if (!to.destroyed) to.end();
  });
  return true;
}

function noop(): void {}

/**
 * One buffer's release shared by the pieces it is sent in (frames, credit-sized parts): each piece
 * takes a share with hold() and calls it when done with its bytes (written or copied); the owner
 * drops its own share once every piece was handed over. The release runs when the last share goes.
 */
export class SharedRelease {
  /** One for the owner (dropped once every piece was handed over), one per piece not yet done. */
  #holds = 1;
  readonly #release: (() => void) | undefined;
  /** What hold() hands out, made at the first hold (a write whose pieces are all copied needs none). */
  #done: (() => void) | undefined;

  constructor(release?: () => void) {
    this.#release = release;
  }

  hold(): () => void {
    this.#holds++;
    return (this.#done ??= () => this.#give());
  }

  drop(): void {
    this.#give();
  }

  #give(): void {
    if (--this.#holds === 0) this.released();
  }

  /** The last share went: the release given at construction (a subclass may do more). */
  protected released(): void {
    this.#release?.();
  }
}
