/**
 * Frame encoding and decoding for burrow's protocol. Pure: no sockets, no timers.
 *
 *   0      1      2              6              10
 *   +------+------+--------------+--------------+-----------------+
 *   | type | flags| stream id    | length       | payload ...     |
 *   | u8   | u8   | u32 BE       | u32 BE       | length bytes    |
 *   +------+------+--------------+--------------+-----------------+
 */
import { BurrowError } from '../../core/errors.js';
import { FRAME_HEADER_SIZE, MAX_CONTROL_PAYLOAD, MAX_FRAME_PAYLOAD } from './limits.js';

export const FrameType = {
  /** agent → server, stream 0, JSON Hello */
  HELLO: 0x01,
  /** server → agent, stream 0, JSON Welcome */
  WELCOME: 0x02,
  /** agent → server, stream 0, JSON RegisterRequest */
  REGISTER: 0x03,
  /** server → agent, stream 0, JSON RegisterResult */
  REGISTERED: 0x04,
  /** agent → server, stream 0, JSON { tunnelId } */
  UNREGISTER: 0x05,
  /** opener → peer, JSON StreamOpen */
  OPEN: 0x10,
  /** bytes of a stream */
  DATA: 0x11,
  /** sender will send no more DATA on this stream (half-close) */
  END: 0x12,
  /** abort a stream, JSON { code, message } */
  RESET: 0x13,
  /** receive credit: u32 BE increment */
  WINDOW: 0x14,
  /** 8 opaque bytes, answered by PONG with the same bytes */
  PING: 0x20,
  PONG: 0x21,
  /** server → agent, stream 0, JSON event (request log, notices) */
  EVENT: 0x30,
  /** either side, stream 0, JSON { code, message }; the sender closes afterwards */
  GOAWAY: 0x3f,
} as const;

export type FrameTypeName = keyof typeof FrameType;
export type FrameTypeCode = (typeof FrameType)[FrameTypeName];

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(FrameType));
const CONTROL_TYPES: ReadonlySet<number> = new Set([
  FrameType.HELLO,
  FrameType.WELCOME,
  FrameType.REGISTER,
  FrameType.REGISTERED,
  FrameType.UNREGISTER,
  FrameType.OPEN,
  FrameType.RESET,
  FrameType.EVENT,
  FrameType.GOAWAY,
]);
/** Frames that must be on stream 0. */
const SESSION_TYPES: ReadonlySet<number> = new Set([
  FrameType.HELLO,
  FrameType.WELCOME,
  FrameType.REGISTER,
  FrameType.REGISTERED,
  FrameType.UNREGISTER,
  FrameType.PING,
  FrameType.PONG,
  FrameType.EVENT,
  FrameType.GOAWAY,
]);

export interface Frame {
  type: FrameTypeCode;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export function frameTypeName(type: number): string {
  for (const [k, v] of Object.entries(FrameType)) if (v === type) return k;
  return `0x${type.toString(16)}`;
}

function writeHeader(buf: Buffer, type: FrameTypeCode, flags: number, streamId: number, length: number): void {
  if (length > MAX_FRAME_PAYLOAD)
    throw new BurrowError('BURROW_ERR_FRAME_TOO_LARGE', `${length} > ${MAX_FRAME_PAYLOAD}`);
  buf[0] = type;
  buf[1] = flags & 0xff;
  buf.writeUInt32BE(streamId >>> 0, 2);
  buf.writeUInt32BE(length, 6);
}

/** Encode one frame. The payload is copied behind a fresh header. */
export function encodeFrame(type: FrameTypeCode, streamId: number, payload?: Buffer | Uint8Array, flags = 0): Buffer {
  const len = payload ? payload.length : 0;
  const buf = Buffer.allocUnsafe(FRAME_HEADER_SIZE + len);
  writeHeader(buf, type, flags, streamId, len);
  if (payload && len) buf.set(payload, FRAME_HEADER_SIZE);
  return buf;
}

/**
 * Encode only the header of a frame whose `length` payload bytes the caller sends right behind it
 * (in the same transport message), so that a large payload is never copied.
 */
export function encodeFrameHeader(type: FrameTypeCode, streamId: number, length: number, flags = 0): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_SIZE);
  writeHeader(buf, type, flags, streamId, length);
  return buf;
}

export function encodeJsonFrame(type: FrameTypeCode, streamId: number, value: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(value), 'utf8');
  if (payload.length > MAX_CONTROL_PAYLOAD) {
    throw new BurrowError('BURROW_ERR_FRAME_TOO_LARGE', `control frame of ${payload.length} bytes`);
  }
  return encodeFrame(type, streamId, payload);
}

export function encodeWindow(streamId: number, increment: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(increment >>> 0, 0);
  return encodeFrame(FrameType.WINDOW, streamId, p);
}

/** Parse a JSON control payload into an object, or throw BURROW_ERR_PROTOCOL. */
export function decodeJson(frame: Frame): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(frame.payload.toString('utf8'));
  } catch {
    throw new BurrowError('BURROW_ERR_PROTOCOL', `${frameTypeName(frame.type)} payload is not JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BurrowError('BURROW_ERR_PROTOCOL', `${frameTypeName(frame.type)} payload must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

export function decodeWindow(frame: Frame): number {
  if (frame.payload.length !== 4) throw new BurrowError('BURROW_ERR_PROTOCOL', 'WINDOW payload must be 4 bytes');
  const inc = frame.payload.readUInt32BE(0);
  if (inc === 0) throw new BurrowError('BURROW_ERR_PROTOCOL', 'WINDOW increment of 0');
  return inc;
}

/**
 * Streaming decoder: feed it chunks as they arrive (split anywhere); it returns whole frames, except
 * DATA, whose payload is a stream's bytes: a DATA frame split across chunks comes out as several
 * DATA frames of the same stream, one per piece (views of the chunks, never copied or assembled).
 * Validates the header (known type, stream-0 rules, length limits) before buffering the payload.
 *
 * What it holds between pushes is bounded: the bytes of at most one partial frame, in a 10-byte
 * header scratch and one assembly buffer that grows (doubling, from ASSEMBLY_MIN_BYTES) up to that
 * frame's validated length, so never more than FRAME_HEADER_SIZE + maxPayload, and never one
 * object per received chunk. A payload that arrives whole inside one chunk is a view of it (no copy).
 * After the first invalid header it is failed: every later push throws the same BurrowError.
 */
export class FrameDecoder {
  readonly #maxPayload: number;
  /** Bytes [0, #headLen) of a header that straddles chunks. */
  readonly #head = Buffer.alloc(FRAME_HEADER_SIZE);
  #headLen = 0;
  /** The validated header of the frame whose payload is arriving (#length is -1 when there is none). */
  #type = 0;
  #flags = 0;
  #streamId = 0;
  #length = -1;
  /** Payload bytes [0, #payloadLen) of that frame. */
  #payload: Buffer = EMPTY;
  #payloadLen = 0;
  /** The pending frame is DATA: its payload is passed on in pieces (#payloadLen counts them), not assembled. */
  #streaming = false;
  #failed: BurrowError | undefined;

  constructor(options: { maxPayload?: number } = {}) {
    this.#maxPayload = options.maxPayload ?? MAX_FRAME_PAYLOAD;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    if (this.#length < 0) return this.#headLen;
    return this.#streaming ? 0 : FRAME_HEADER_SIZE + this.#payloadLen;
  }

  /** Bytes allocated for the partial frame (header scratch + assembly buffer): ≤ FRAME_HEADER_SIZE + maxPayload. */
  get retained(): number {
    return FRAME_HEADER_SIZE + this.#payload.length;
  }

  /** Feed bytes; returns the frames completed by them. Throws BurrowError on invalid input. */
  push(chunk: Buffer): Frame[] {
    if (this.#failed) throw this.#failed;
    const frames: Frame[] = [];
    const end = chunk.length;
    let off = 0;
    try {
      while (off < end) {
        if (this.#length >= 0) {
          off = this.#assemble(chunk, off, frames);
          continue;
        }
        // a header: read in place, or completed in the scratch when it straddles chunks
        let src = chunk;
        let at = off;
        if (this.#headLen === 0 && end - off >= FRAME_HEADER_SIZE) {
          off += FRAME_HEADER_SIZE;
        } else {
          const take = Math.min(FRAME_HEADER_SIZE - this.#headLen, end - off);
          chunk.copy(this.#head, this.#headLen, off, off + take);
          this.#headLen += take;
          off += take;
          if (this.#headLen < FRAME_HEADER_SIZE) break;
          this.#headLen = 0;
          src = this.#head;
          at = 0;
        }
        const type = src[at]!;
        const flags = src[at + 1]!;
        const streamId = src.readUInt32BE(at + 2);
        const length = src.readUInt32BE(at + 6);
        validateHeader(type, streamId, length, this.#maxPayload);
        if (end - off >= length) {
          // the whole payload is in this chunk: a view, no copy
          const payload =
            length === 0 ? EMPTY : off === 0 && length === end ? chunk : chunk.subarray(off, off + length);
          frames.push({ type: type as FrameTypeCode, flags, streamId, payload });
          off += length;
          continue;
        }
        if (type === FrameType.DATA) {
          // DATA is bytes of a stream: its payload leaves in pieces as it comes, never assembled
          this.#type = type;
          this.#flags = flags;
          this.#streamId = streamId;
          this.#length = length;
          this.#streaming = true;
          continue;
        }
        this.#type = type;
        this.#flags = flags;
        this.#streamId = streamId;
        this.#length = length;
      }
    } catch (err) {
      this.#failed =
        err instanceof BurrowError ? err : new BurrowError('BURROW_ERR_PROTOCOL', String(err), { cause: err });
      this.#headLen = 0;
      this.#length = -1;
      this.#payload = EMPTY;
      this.#payloadLen = 0;
      this.#streaming = false;
      throw this.#failed;
    }
    return frames;
  }

  /** Take the pending frame's payload bytes from chunk[off…]; returns the new offset. */
  #assemble(chunk: Buffer, off: number, frames: Frame[]): number {
    const length = this.#length;
    if (this.#streaming) {
      const take = Math.min(length - this.#payloadLen, chunk.length - off);
      const piece = off === 0 && take === chunk.length ? chunk : chunk.subarray(off, off + take);
      frames.push({ type: this.#type as FrameTypeCode, flags: this.#flags, streamId: this.#streamId, payload: piece });
      this.#payloadLen += take;
      if (this.#payloadLen === length) {
        this.#length = -1;
        this.#payloadLen = 0;
        this.#streaming = false;
      }
      return off + take;
    }
    let payload: Buffer | undefined;
    if (this.#payloadLen === 0 && chunk.length - off >= length) {
      // the whole payload is in this chunk (it came after its header's chunk): a view, no copy
      payload = off === 0 && length === chunk.length ? chunk : chunk.subarray(off, off + length);
      off += length;
    } else {
      const take = Math.min(length - this.#payloadLen, chunk.length - off);
      this.#reserve(this.#payloadLen + take, length);
      chunk.copy(this.#payload, this.#payloadLen, off, off + take);
      this.#payloadLen += take;
      off += take;
      if (this.#payloadLen === length) payload = this.#payload;
    }
    if (payload !== undefined) {
      frames.push({ type: this.#type as FrameTypeCode, flags: this.#flags, streamId: this.#streamId, payload });
      this.#length = -1;
      this.#payload = EMPTY;
      this.#payloadLen = 0;
    }
    return off;
  }

  /** Grow the assembly buffer to hold at least `n` bytes (doubling, never beyond the frame's `max`). */
  #reserve(n: number, max: number): void {
    if (this.#payload.length >= n) return;
    const size = Math.min(max, Math.max(n, this.#payload.length * 2, ASSEMBLY_MIN_BYTES));
    const grown = Buffer.allocUnsafe(size);
    this.#payload.copy(grown, 0, 0, this.#payloadLen);
    this.#payload = grown;
  }
}

/** First size of the buffer a payload split across chunks is assembled in. */
const ASSEMBLY_MIN_BYTES = 4096;
const EMPTY = Buffer.alloc(0);

function validateHeader(type: number, streamId: number, length: number, maxPayload: number): void {
  if (!KNOWN_TYPES.has(type)) throw new BurrowError('BURROW_ERR_PROTOCOL', `unknown frame type 0x${type.toString(16)}`);
  if (length > maxPayload) {
    throw new BurrowError(
      'BURROW_ERR_FRAME_TOO_LARGE',
      `${frameTypeName(type)} of ${length} bytes (limit ${maxPayload})`,
    );
  }
  if (CONTROL_TYPES.has(type) && length > MAX_CONTROL_PAYLOAD) {
    throw new BurrowError(
      'BURROW_ERR_FRAME_TOO_LARGE',
      `${frameTypeName(type)} of ${length} bytes (limit ${MAX_CONTROL_PAYLOAD})`,
    );
  }
  const onSession = SESSION_TYPES.has(type);
  if (onSession && streamId !== 0)
    throw new BurrowError('BURROW_ERR_PROTOCOL', `${frameTypeName(type)} must use stream 0`);
  if (!onSession && streamId === 0)
    throw new BurrowError('BURROW_ERR_PROTOCOL', `${frameTypeName(type)} needs a stream id`);
  if (type === FrameType.WINDOW && length !== 4)
    throw new BurrowError('BURROW_ERR_PROTOCOL', 'WINDOW payload must be 4 bytes');
  if ((type === FrameType.PING || type === FrameType.PONG) && length !== 8) {
    throw new BurrowError('BURROW_ERR_PROTOCOL', `${frameTypeName(type)} payload must be 8 bytes`);
  }
  if (type === FrameType.END && length !== 0) throw new BurrowError('BURROW_ERR_PROTOCOL', 'END carries no payload');
}
