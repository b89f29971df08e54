/**
 * Reads WebSocket frames (RFC 6455) off one direction of an upgraded connection as the bytes pass,
 * and records each message (its first MAX_STREAM_ITEM_BYTES, unmasked) on the exchange. Pure: fed
 * chunks, never a socket; a frame may be split anywhere. Throws on a frame it cannot follow (a
 * payload length beyond 2^53): the tap then stops watching that connection.
 */
import type { RecordedExchange } from './exchange.js';
import { MAX_STREAM_ITEM_BYTES } from './limits.js';

interface Message {
  opcode: number;
  size: number;
  parts: Buffer[];
  kept: number;
  compressed: boolean;
}

export class WsReader {
  readonly #from: 'client' | 'server';
  readonly #ex: RecordedExchange;
  readonly #header = Buffer.alloc(14);
  #headerLen = 0;
  /** Header bytes needed before the payload starts (grows as the first two bytes are read). */
  #need = 2;
  #inPayload = false;
  #left = 0;
  #pos = 0;
  #mask: Buffer | undefined;
  #opcode = 0;
  #fin = false;
  #rsv1 = false;
  /** The data message being assembled from its fragments, and a control frame in between. */
  #data: Message | undefined;
  #frame: Message | undefined;

  constructor(from: 'client' | 'server', ex: RecordedExchange) {
    this.#from = from;
    this.#ex = ex;
  }

  push(buf: Buffer): void {
    let i = 0;
    while (i < buf.length) {
      if (!this.#inPayload) {
        const n = Math.min(this.#need - this.#headerLen, buf.length - i);
        buf.copy(this.#header, this.#headerLen, i, i + n);
        this.#headerLen += n;
        i += n;
        if (this.#headerLen === 2) this.#need = 2 + lengthBytes(this.#header[1]!) + (this.#header[1]! & 0x80 ? 4 : 0);
        if (this.#headerLen === this.#need) this.#startFrame();
        continue;
      }
      const n = Math.min(this.#left, buf.length - i);
      this.#keep(buf, i, i + n);
      i += n;
      this.#left -= n;
      if (this.#left === 0) this.#endFrame();
    }
  }

  #startFrame(): void {
    const h = this.#header;
    this.#fin = (h[0]! & 0x80) !== 0;
    this.#rsv1 = (h[0]! & 0x40) !== 0;
    this.#opcode = h[0]! & 0x0f;
    let len = h[1]! & 0x7f;
    let at = 2;
    if (len === 126) {
      len = h.readUInt16BE(2);
      at = 4;
    } else if (len === 127) {
      const hi = h.readUInt32BE(2);
      if (hi > 0x1fffff) throw new Error('WebSocket frame length over 2^53');
      len = hi * 2 ** 32 + h.readUInt32BE(6);
      at = 10;
    }
    this.#mask = h[1]! & 0x80 ? Buffer.from(h.subarray(at, at + 4)) : undefined;
    this.#left = len;
    this.#pos = 0;
    this.#headerLen = 0;
    this.#need = 2;
    if (this.#opcode >= 8) this.#frame = { opcode: this.#opcode, size: 0, parts: [], kept: 0, compressed: false };
    else if (this.#opcode !== 0 || !this.#data) {
      // a new data message (or a continuation without a start: recorded as what it is)
      this.#data = { opcode: this.#opcode, size: 0, parts: [], kept: 0, compressed: this.#rsv1 };
    }
    this.#inPayload = true;
    if (len === 0) this.#endFrame();
  }

  #keep(buf: Buffer, start: number, end: number): void {
    const m = this.#opcode >= 8 ? this.#frame! : this.#data!;
    m.size += end - start;
    const take = Math.min(MAX_STREAM_ITEM_BYTES - m.kept, end - start);
    if (take > 0) {
      const part = Buffer.from(buf.subarray(start, start + take));
      const mask = this.#mask;
      if (mask) for (let k = 0; k < part.length; k++) part[k]! ^= mask[(this.#pos + k) & 3]!;
      m.parts.push(part);
      m.kept += take;
    }
    this.#pos += end - start;
  }

  #endFrame(): void {
    this.#inPayload = false;
    if (this.#opcode >= 8) {
      this.#record(this.#frame!);
      this.#frame = undefined;
    } else if (this.#fin) {
      this.#record(this.#data!);
      this.#data = undefined;
    }
  }

  #record(m: Message): void {
    const data = m.parts.length === 1 ? m.parts[0]! : Buffer.concat(m.parts, m.kept);
    this.#ex.wsMessage({ from: this.#from, opcode: m.opcode, size: m.size, data, compressed: m.compressed });
  }
}

function lengthBytes(b1: number): number {
  const len = b1 & 0x7f;
  return len === 126 ? 2 : len === 127 ? 8 : 0;
}
