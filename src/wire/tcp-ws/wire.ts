/**
 * The limrun TCP-over-WebSocket wire, pure (no sockets). Specified in docs/tcp.md.
 *
 * Singleton mode: each binary message is raw bytes. burrow extension (negotiated with the
 * `X-Burrow-Tcp` header both ways): an empty message means "end of stream" (TCP FIN).
 *
 * Multiplexed mode: `[u32 BE connection id][payload]`; a message with only the id closes that id.
 * burrow extension: connection id 0 (never used by clients, which count from 1) carries control
 * messages `[0 0 0 0][op u8][u32 BE id]`; op 1 = FIN (half-close) for that id, op 2 = OPEN (dial the
 * target now, so server-speaks-first protocols work; without it the first payload opens).
 *
 * Multiplexed flow control (a second burrow extension, negotiated with `X-Burrow-Tcp-Window: <bytes>`
 * both ways on top of `X-Burrow-Tcp`): per connection id, each side may send at most the other's
 * announced window of payload bytes beyond what the other has credited back with
 * `[0 0 0 0][op 3][u32 BE id][u32 BE increment]` (13 bytes).
 */

import { TCP_MUX_WINDOW_MAX_BYTES, TCP_MUX_WINDOW_MIN_BYTES } from './limits.js';

/** Request header a burrow client sends, and response header a burrow server answers, to enable the extensions. */
export const BURROW_TCP_HEADER = 'x-burrow-tcp';
export const BURROW_TCP_VERSION = '1';

/**
 * Request header a burrow client adds (multiplexed mode, with BURROW_TCP_HEADER) to offer per-connection
 * flow control, and response header a burrow server answers to accept it; the value is the sender's
 * own receive window per connection, in bytes (decimal).
 */
export const BURROW_TCP_WINDOW_HEADER = 'x-burrow-tcp-window';

/** Close code a burrow server uses when the target has closed (a burrow client does not resume). */
export const WS_CLOSE_SESSION_ENDED = 4410;
export const WS_CLOSE_NORMAL = 1000;

export const MUX_HEADER_BYTES = 4;
export const MUX_CONTROL_ID = 0;
export const MUX_OP_FIN = 1;
export const MUX_OP_OPEN = 2;
export const MUX_OP_CREDIT = 3;
/** Length of the FIN and OPEN control messages. */
export const MUX_CONTROL_BYTES = MUX_HEADER_BYTES + 1 + 4;
/** Length of the CREDIT control message. */
export const MUX_CREDIT_BYTES = MUX_CONTROL_BYTES + 4;
export const MUX_MAX_ID = 0xffffffff;

export type MuxMessage =
  | { type: 'data'; id: number; payload: Buffer }
  | { type: 'close'; id: number }
  | { type: 'fin'; id: number }
  | { type: 'open'; id: number }
  | { type: 'ignored'; reason: string };

/** burrow flow control's CREDIT message (decoded only when asked for: see decodeMuxMessage). */
export type MuxCreditMessage = { type: 'credit'; id: number; increment: number };

/** One data message: header then payload, in one buffer. */
export function encodeMuxData(id: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(MUX_HEADER_BYTES + payload.length);
  out.writeUInt32BE(id, 0);
  payload.copy(out, MUX_HEADER_BYTES);
  return out;
}

/** The 4-byte id that begins every message of one id (a data message sent as parts: WsSendBacklog.sendParts). */
export function encodeMuxHeader(id: number): Buffer {
  const out = Buffer.allocUnsafe(MUX_HEADER_BYTES);
  out.writeUInt32BE(id, 0);
  return out;
}

/** The 4-byte close message for one id: its id alone. */
export function encodeMuxClose(id: number): Buffer {
  return encodeMuxHeader(id);
}

function encodeControl(op: number, id: number): Buffer {
  const out = Buffer.allocUnsafe(MUX_CONTROL_BYTES);
  out.writeUInt32BE(MUX_CONTROL_ID, 0);
  out.writeUInt8(op, 4);
  out.writeUInt32BE(id, 5);
  return out;
}

/** burrow extension: half-close (FIN) of one id. */
export function encodeMuxFin(id: number): Buffer {
  return encodeControl(MUX_OP_FIN, id);
}

/** burrow extension: open one id now (before any payload). */
export function encodeMuxOpen(id: number): Buffer {
  return encodeControl(MUX_OP_OPEN, id);
}

/** burrow flow control: the receiver took `increment` more payload bytes of `id` (1 … 2³²−1). */
export function encodeMuxCredit(id: number, increment: number): Buffer {
  const out = Buffer.allocUnsafe(MUX_CREDIT_BYTES);
  out.writeUInt32BE(MUX_CONTROL_ID, 0);
  out.writeUInt8(MUX_OP_CREDIT, 4);
  out.writeUInt32BE(id, 5);
  out.writeUInt32BE(increment, 9);
  return out;
}

/**
 * An `X-Burrow-Tcp-Window` value: decimal digits only, at least TCP_MUX_WINDOW_MIN_BYTES and at most
 * 2³²−1; returns the window to use (clamped to TCP_MUX_WINDOW_MAX_BYTES), or undefined when absent or
 * invalid (flow control then stays off).
 */
export function parseMuxWindow(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || !/^[0-9]{1,10}$/.test(value.trim())) return undefined;
  const n = Number(value.trim());
  if (n < TCP_MUX_WINDOW_MIN_BYTES || n > 0xffffffff) return undefined;
  return Math.min(n, TCP_MUX_WINDOW_MAX_BYTES);
}

/**
 * Decode one multiplexed message. `extensions` enables the id-0 control messages; without them
 * id 0 is ordinary data (as limrun's client would treat it). `credit` (flow control negotiated)
 * decodes CREDIT messages; without it they are ignored like any unknown control message.
 */
export function decodeMuxMessage(message: Buffer, extensions: boolean): MuxMessage;
export function decodeMuxMessage(message: Buffer, extensions: boolean, credit: boolean): MuxMessage | MuxCreditMessage;
export function decodeMuxMessage(message: Buffer, extensions: boolean, credit = false): MuxMessage | MuxCreditMessage {
  if (message.length < MUX_HEADER_BYTES) return { type: 'ignored', reason: 'shorter than 4 bytes' };
  const id = message.readUInt32BE(0);
  if (extensions && id === MUX_CONTROL_ID) {
    if (message.length !== MUX_CONTROL_BYTES && message.length !== MUX_CREDIT_BYTES)
      return { type: 'ignored', reason: 'bad control message' };
    const op = message.readUInt8(4);
    const target = message.readUInt32BE(5);
    if (target === MUX_CONTROL_ID) return { type: 'ignored', reason: 'control message for id 0' };
    if (message.length === MUX_CREDIT_BYTES) {
      if (op !== MUX_OP_CREDIT || !credit)
        return { type: 'ignored', reason: `unexpected control message (op ${op}, 13 bytes)` };
      const increment = message.readUInt32BE(9);
      if (increment === 0) return { type: 'ignored', reason: 'credit of 0' };
      return { type: 'credit', id: target, increment };
    }
    if (op === MUX_OP_FIN) return { type: 'fin', id: target };
    if (op === MUX_OP_OPEN) return { type: 'open', id: target };
    return { type: 'ignored', reason: `unknown control op ${op}` };
  }
  if (message.length === MUX_HEADER_BYTES) return { type: 'close', id };
  return { type: 'data', id, payload: message.subarray(MUX_HEADER_BYTES) };
}

/** What a MuxMessageReader hands on: a data message's payload in pieces, every other message whole. */
export interface MuxMessageSink {
  /** Payload bytes of a data message for `id`, in order; one message may come in several pieces. */
  data(id: number, payload: Buffer): void;
  /** A message that is not data (close, fin, open, credit, ignored), as decodeMuxMessage decodes it. */
  message(msg: Exclude<MuxMessage, { type: 'data' }> | MuxCreditMessage): void;
}

/**
 * decodeMuxMessage for a message that arrives in pieces (a WebSocket read as a stream of bytes, see
 * core/ws-link.ts takeOverBinary): push() each piece of the message, end() at its end. A data
 * message's payload leaves as the pieces it came in (views, no copy), as soon as its 4-byte id is
 * known; the id and control messages (at most MUX_CREDIT_BYTES) are gathered in a small scratch.
 * Events are those decodeMuxMessage gives for the whole message, except that a payload may be split.
 */
export class MuxMessageReader {
  readonly #sink: MuxMessageSink;
  readonly #extensions: boolean;
  readonly #credit: boolean;
  /** The message's first bytes (its id, and a control message whole). */
  readonly #head = Buffer.alloc(MUX_CREDIT_BYTES);
  #headLen = 0;
  /** Bytes of this message so far. */
  #length = 0;
  /** The id of a data message whose payload is flowing (-1: not known yet, or not data). */
  #dataId = -1;

  constructor(sink: MuxMessageSink, extensions: boolean, credit: boolean) {
    this.#sink = sink;
    this.#extensions = extensions;
    this.#credit = credit;
  }

  push(bytes: Buffer): void {
    this.#length += bytes.length;
    if (this.#dataId >= 0) {
      if (bytes.length > 0) this.#sink.data(this.#dataId, bytes);
      return;
    }
    if (this.#headLen === 0 && bytes.length >= MUX_HEADER_BYTES) {
      // the usual case: the whole id in this piece
      const id = bytes.readUInt32BE(0);
      if (!this.#extensions || id !== MUX_CONTROL_ID) {
        this.#dataId = id;
        if (bytes.length > MUX_HEADER_BYTES) this.#sink.data(id, bytes.subarray(MUX_HEADER_BYTES));
        return;
      }
    }
    const take = Math.min(bytes.length, MUX_CREDIT_BYTES - this.#headLen);
    bytes.copy(this.#head, this.#headLen, 0, take);
    this.#headLen += take;
    if (this.#headLen < MUX_HEADER_BYTES) return;
    const id = this.#head.readUInt32BE(0);
    if (this.#extensions && id === MUX_CONTROL_ID) return; // gathered until end() (longer ones are ignored)
    this.#dataId = id;
    const payload = this.#head.subarray(MUX_HEADER_BYTES, this.#headLen);
    // what came with the id (copied: the scratch is reused) and the rest of this piece (a view)
    if (payload.length > 0) this.#sink.data(id, Buffer.from(payload));
    if (take < bytes.length) this.#sink.data(id, bytes.subarray(take));
  }

  end(): void {
    const length = this.#length;
    const dataId = this.#dataId;
    const head = this.#head.subarray(0, this.#headLen);
    this.#length = 0;
    this.#headLen = 0;
    this.#dataId = -1;
    if (dataId >= 0) {
      if (length === MUX_HEADER_BYTES) this.#sink.message({ type: 'close', id: dataId });
      return;
    }
    if (length > MUX_CREDIT_BYTES) {
      this.#sink.message({ type: 'ignored', reason: 'bad control message' });
      return;
    }
    const msg = decodeMuxMessage(head, this.#extensions, this.#credit);
    if (msg.type === 'data') this.#sink.data(msg.id, msg.payload);
    else this.#sink.message(msg);
  }
}

/**
 * Singleton mode read as it arrives: a message's bytes go on as they come (never joined), and an
 * empty message (burrow's FIN, when the extensions are agreed) is told apart at its end.
 */
export class SingletonMessageReader {
  readonly #onBytes: (bytes: Buffer) => void;
  readonly #onEmpty: () => void;
  #length = 0;

  constructor(onBytes: (bytes: Buffer) => void, onEmpty: () => void) {
    this.#onBytes = onBytes;
    this.#onEmpty = onEmpty;
  }

  push(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#length += bytes.length;
    this.#onBytes(bytes);
  }

  end(): void {
    if (this.#length === 0) this.#onEmpty();
    this.#length = 0;
  }
}

/** ws delivers Buffer | ArrayBuffer | Buffer[]; normalise to one Buffer. */
export function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
