/**
 * The WebSocket of a mux link (agent ↔ server, node ↔ node), read without copies.
 *
 * `ws` joins every WebSocket frame into one Buffer before it hands it over: a 64 KiB DATA payload
 * that spans two socket reads (nearly all of them: reads are 64 KiB too) is copied into a fresh
 * allocation, which was a quarter of the server's CPU in a bulk transfer (bench/http-bulk.ts). The
 * mux decoder takes bytes split anywhere, so the link does not need whole frames: takeOverBinary()
 * keeps a `ws` WebSocket (same handshake, sender, close handshake, events) but hands its binary
 * payload bytes to a callback as views of the socket's own read buffers, unmasked in place.
 * Control frames (ping, pong, close) and text messages still go to `ws`'s receiver, whole, so `ws`
 * answers pings and runs the close handshake as before.
 *
 * Wire format unchanged: peers that use a plain `ws` WebSocket interoperate both ways.
 */
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';

/** Opcodes (RFC 6455 §5.2). */
const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
/** A control frame's payload is at most this long (RFC 6455 §5.5). */
const MAX_CONTROL_PAYLOAD = 125;
/** The longest frame header: 2 + 8 (64-bit length) + 4 (mask). */
const MAX_FRAME_HEADER = 14;

type Unmask = (buf: Buffer, mask: Buffer) => void;

/** bufferutil's native unmask when installed (ws uses it too), else the same loop in JS. */
const unmask: Unmask = (() => {
  try {
    const bu = createRequire(import.meta.url)('bufferutil') as { unmask?: Unmask };
    if (typeof bu.unmask === 'function') return bu.unmask;
  } catch {
    /* optional */
  }
  return (buf: Buffer, mask: Buffer): void => {
    for (let i = 0; i < buf.length; i++) buf[i]! ^= mask[i & 3]!;
  };
})();

/** A WebSocket protocol violation by the peer (the connection is cut; `closeCode` says why). */
export class WsFrameError extends Error {
  constructor(
    message: string,
    readonly closeCode: number,
  ) {
    super(message);
    this.name = 'WsFrameError';
  }
}

export interface WsFrameReaderOptions {
  /** Frames from the peer must be masked (this side is the server) or must not be (the client). */
  masked: boolean;
  /** Largest payload of one frame (and of one text message); a longer one is an error. */
  maxPayload: number;
  /** Binary message bytes, in order, split anywhere; a view of the read buffer (owned by the callee). */
  onData(bytes: Buffer): void;
  /**
   * Optional: a binary message is complete (its last frame's payload has been passed to onData;
   * an empty message calls only this). For readers that need message boundaries.
   */
  onEnd?(): void;
  /** A whole control frame or text frame, header and (still masked) payload, as it came. */
  onOther(frame: Buffer): void;
}

/**
 * Streaming WebSocket frame reader: push() socket chunks as they arrive. Binary payloads leave as
 * views of the chunks (unmasked in place); other frames are gathered whole (they are small: control
 * frames ≤ 125 bytes, text is not part of the mux) and passed on unparsed. Holds at most one partial
 * header (≤ 14 bytes) and one partial non-binary frame between pushes. Throws WsFrameError on a
 * protocol violation; after that it must not be used.
 */
export class WsFrameReader {
  readonly #o: WsFrameReaderOptions;
  /** Bytes of a header that straddles chunks. */
  readonly #head = Buffer.alloc(MAX_FRAME_HEADER);
  #headLen = 0;
  /** Payload bytes still to come of the current frame (-1: between frames). */
  #left = -1;
  /** The current frame is binary data (else it is gathered for onOther). */
  #binary = false;
  /** The current frame's mask (null: unmasked or zero) and how many payload bytes were unmasked. */
  #mask: Buffer | null = null;
  readonly #maskBuf = Buffer.alloc(4);
  readonly #rotated = Buffer.alloc(4);
  #maskOffset = 0;
  /** A non-binary frame being gathered, and how much of it is filled. */
  #other: Buffer | null = null;
  #otherLen = 0;
  /** The message in progress is binary / text (continuation frames follow it), or none. */
  #message: 'binary' | 'text' | null = null;
  /** The current frame is its message's last. */
  #fin = false;

  constructor(options: WsFrameReaderOptions) {
    this.#o = options;
  }

  push(chunk: Buffer): void {
    let off = 0;
    const end = chunk.length;
    while (off < end) {
      if (this.#left >= 0) {
        off = this.#payload(chunk, off);
        continue;
      }
      // a header: in place when it is whole in this chunk, else completed in the scratch
      let src = chunk;
      let at = off;
      let need = this.#headLen === 0 ? headerLength(chunk, off, end) : -1;
      if (need > 0 && end - off >= need) {
        off += need;
      } else {
        if (this.#headLen < 2) {
          const take = Math.min(2 - this.#headLen, end - off);
          chunk.copy(this.#head, this.#headLen, off, off + take);
          this.#headLen += take;
          off += take;
          if (this.#headLen < 2) break;
        }
        need = headerLength(this.#head, 0, 2);
        const take = Math.min(need - this.#headLen, end - off);
        chunk.copy(this.#head, this.#headLen, off, off + take);
        this.#headLen += take;
        off += take;
        if (this.#headLen < need) break;
        this.#headLen = 0;
        src = this.#head;
        at = 0;
      }
      this.#startFrame(src, at);
      if (this.#left === 0) this.#endFrame();
    }
  }

  #startFrame(h: Buffer, at: number): void {
    const b0 = h[at]!;
    const b1 = h[at + 1]!;
    const fin = (b0 & 0x80) !== 0;
    if ((b0 & 0x70) !== 0) throw new WsFrameError('RSV bits set (no extension was agreed)', 1002);
    const opcode = b0 & 0x0f;
    const isMasked = (b1 & 0x80) !== 0;
    if (isMasked !== this.#o.masked) {
      throw new WsFrameError(this.#o.masked ? 'frame from a client is not masked' : 'frame from a server is masked', 1002);
    }
    let length = b1 & 0x7f;
    let p = at + 2;
    if (length === 126) {
      length = h.readUInt16BE(p);
      p += 2;
    } else if (length === 127) {
      const hi = h.readUInt32BE(p);
      // 2^53 - 1 is the largest safe length; anything near it is over maxPayload anyway
      if (hi > 0x1fffff) throw new WsFrameError('frame length over 2^53 - 1', 1009);
      length = hi * 2 ** 32 + h.readUInt32BE(p + 4);
      p += 8;
    }
    if (opcode >= 0x8) {
      if (!fin || length > MAX_CONTROL_PAYLOAD) throw new WsFrameError('invalid control frame', 1002);
      if (opcode > 0xa) throw new WsFrameError(`unknown opcode ${opcode}`, 1002);
    } else if (opcode === OP_BINARY || opcode === OP_TEXT) {
      if (this.#message) throw new WsFrameError('a new message began inside a fragmented one', 1002);
      if (!fin) this.#message = opcode === OP_BINARY ? 'binary' : 'text';
    } else if (opcode === OP_CONTINUATION) {
      if (!this.#message) throw new WsFrameError('continuation frame outside a message', 1002);
    } else {
      throw new WsFrameError(`unknown opcode ${opcode}`, 1002);
    }
    if (length > this.#o.maxPayload) throw new WsFrameError(`frame of ${length} bytes (limit ${this.#o.maxPayload})`, 1009);
    const binary = opcode === OP_BINARY || (opcode === OP_CONTINUATION && this.#message === 'binary');
    if (opcode === OP_CONTINUATION && fin) this.#message = null;
    this.#binary = binary;
    this.#fin = fin;
    this.#left = length;
    this.#maskOffset = 0;
    this.#mask = null;
    if (isMasked) {
      h.copy(this.#maskBuf, 0, p, p + 4);
      if ((this.#maskBuf[0]! | this.#maskBuf[1]! | this.#maskBuf[2]! | this.#maskBuf[3]!) !== 0) this.#mask = this.#maskBuf;
    }
    if (!binary) {
      // gathered whole, header included, for ws's own receiver
      this.#other = Buffer.allocUnsafe(p + (isMasked ? 4 : 0) - at + length);
      h.copy(this.#other, 0, at, p + (isMasked ? 4 : 0));
      this.#otherLen = p + (isMasked ? 4 : 0) - at;
    }
  }

  /** Take the current frame's payload bytes from chunk[off…]; returns the new offset. */
  #payload(chunk: Buffer, off: number): number {
    const take = Math.min(this.#left, chunk.length - off);
    if (this.#binary) {
      if (take > 0) {
        const view = off === 0 && take === chunk.length ? chunk : chunk.subarray(off, off + take);
        if (this.#mask) {
          const r = this.#maskOffset & 3;
          const m = this.#mask;
          const key = r === 0 ? m : this.#rotate(m, r);
          unmask(view, key);
          this.#maskOffset += take;
        }
        this.#left -= take;
        this.#o.onData(view);
      }
    } else {
      chunk.copy(this.#other!, this.#otherLen, off, off + take);
      this.#otherLen += take;
      this.#left -= take;
    }
    if (this.#left === 0) this.#endFrame();
    return off + take;
  }

  #rotate(m: Buffer, r: number): Buffer {
    const out = this.#rotated;
    for (let i = 0; i < 4; i++) out[i] = m[(i + r) & 3]!;
    return out;
  }

  #endFrame(): void {
    this.#left = -1;
    if (this.#binary) {
      if (this.#fin) this.#o.onEnd?.();
    } else {
      const frame = this.#other!;
      this.#other = null;
      this.#o.onOther(frame);
    }
  }
}

/** The header length of the frame starting at buf[off] (needs 2 bytes; -1 when fewer are there). */
function headerLength(buf: Buffer, off: number, end: number): number {
  if (end - off < 2) return -1;
  const len7 = buf[off + 1]! & 0x7f;
  const masked = (buf[off + 1]! & 0x80) !== 0 ? 4 : 0;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + masked;
}

/** What takeOverBinary reaches of a `ws` WebSocket's internals (ws 8). */
interface WsInternals {
  _isServer: boolean;
  _socket: Duplex | null;
  _receiver: { write(chunk: Buffer): boolean } | null;
}

/** The socket under an open `ws` WebSocket (ws 8's `_socket`), e.g. to cork it around several sends; undefined once gone. */
export function wsSocket(ws: object): Duplex | undefined {
  return (ws as WsInternals)._socket ?? undefined;
}

/**
 * From now on, the binary message bytes of this open `ws` WebSocket go to `onData` as they arrive,
 * split anywhere (views of the socket's read buffers), instead of 'message' events; text messages
 * and control frames still reach ws (so 'message' fires for text, pings are answered, the close
 * handshake runs). Call it where the WebSocket has just opened — the server's upgrade callback or
 * the client's 'open' event — before any frame was read. A protocol violation emits 'error' on the
 * WebSocket, sends a close frame with its code and cuts the connection.
 */
export function takeOverBinary(
  ws: object,
  maxPayload: number,
  /** The bytes, or the bytes and each binary message's end (see WsFrameReaderOptions.onEnd). */
  sink: ((bytes: Buffer) => void) | { push(bytes: Buffer): void; end(): void },
  /** Called around each socket read (e.g. MuxSession.beginBatch/endBatch: one write per sink per read). */
  read?: { begin?(): void; end?(): void },
): void {
  const internals = ws as WsInternals;
  const socket = internals._socket;
  const receiver = internals._receiver;
  if (!socket || !receiver) throw new Error('takeOverBinary: the WebSocket is not open');
  // ws's own listener is the socket's last 'data' listener, added by setSocket() just before 'open'
  const wsOnData = socket.listeners('data').at(-1) as ((chunk: Buffer) => void) | undefined;
  if (wsOnData) socket.removeListener('data', wsOnData);
  const reader = new WsFrameReader({
    masked: internals._isServer,
    maxPayload,
    ...(typeof sink === 'function' ? { onData: sink } : { onData: (b) => sink.push(b), onEnd: () => sink.end() }),
    onOther: (frame) => {
      receiver.write(frame);
    },
  });
  const ee = ws as { emit(event: 'error', err: Error): boolean; close(code?: number): void };
  socket.on('data', function onLinkData(chunk: Buffer) {
    read?.begin?.();
    try {
      reader.push(chunk);
    } catch (err) {
      socket.removeListener('data', onLinkData);
      ee.emit('error', err as Error);
      ee.close(err instanceof WsFrameError ? err.closeCode : 1002);
      socket.destroy();
    } finally {
      read?.end?.();
    }
  });
}
