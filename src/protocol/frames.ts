/**
 * Frame encoding and decoding for burrow's protocol. Pure: no sockets, no timers.
 *
 *   0      1      2              6              10
 *   +------+------+--------------+--------------+-----------------+
 *   | type | flags| stream id    | length       | payload ...     |
 *   | u8   | u8   | u32 BE       | u32 BE       | length bytes    |
 *   +------+------+--------------+--------------+-----------------+
 */
import { BurrowError } from '../core/errors.js';
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
 * Streaming decoder: feed it chunks as they arrive (split anywhere); it returns whole frames.
 * Validates the header (known type, stream-0 rules, length limits) before buffering the payload.
 */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #buffered = 0;
  readonly #maxPayload: number;

  constructor(options: { maxPayload?: number } = {}) {
    this.#maxPayload = options.maxPayload ?? MAX_FRAME_PAYLOAD;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Feed bytes; returns the frames completed by them. Throws BurrowError on invalid input. */
  push(chunk: Buffer): Frame[] {
    if (chunk.length === 0) return [];
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.#buffered < FRAME_HEADER_SIZE) break;
      const header = this.#peek(FRAME_HEADER_SIZE);
      const type = header[0]!;
      const flags = header[1]!;
      const streamId = header.readUInt32BE(2);
      const length = header.readUInt32BE(6);
      validateHeader(type, streamId, length, this.#maxPayload);
      if (this.#buffered < FRAME_HEADER_SIZE + length) break;
      this.#consume(FRAME_HEADER_SIZE);
      const payload = length === 0 ? EMPTY : this.#consume(length);
      frames.push({ type: type as FrameTypeCode, flags, streamId, payload });
    }
    return frames;
  }

  /** The first n buffered bytes (n ≤ buffered), copying only when they straddle chunks. */
  #peek(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    for (const c of this.#chunks) {
      const take = Math.min(c.length, n - off);
      c.copy(out, off, 0, take);
      off += take;
      if (off === n) break;
    }
    return out;
  }

  #consume(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0]!;
    if (first.length === n) {
      this.#chunks.shift();
      return first;
    }
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.#chunks[0]!;
      const take = Math.min(c.length, n - off);
      c.copy(out, off, 0, take);
      off += take;
      if (take === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(take);
    }
    return out;
  }
}

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
