/**
 * Reads server-sent events (text/event-stream) out of a response body as it passes, and records
 * each event on the exchange. Pure: fed body bytes; an event, a line or a UTF-8 character may be
 * split anywhere.
 */
import { StringDecoder } from 'node:string_decoder';
import type { RecordedExchange } from './exchange.js';
import { MAX_STREAM_ITEM_BYTES } from './limits.js';

/** A line longer than this is cut (what is beyond is dropped): one event never holds more. */
const MAX_LINE_CHARS = 2 * MAX_STREAM_ITEM_BYTES;

export class SseReader {
  readonly #ex: RecordedExchange;
  readonly #decoder = new StringDecoder('utf8');
  #line = '';
  #cr = false;
  #event = '';
  #data: string[] | undefined;
  #dataChars = 0;
  #id: string | undefined;

  constructor(ex: RecordedExchange) {
    this.#ex = ex;
  }

  push(buf: Buffer, start: number, end: number): void {
    const text = this.#decoder.write(buf.subarray(start, end));
    let from = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      // CRLF split across chunks: the LF after a CR already taken ends nothing
      if (c === 10 && this.#cr && i === from && this.#line === '') {
        this.#cr = false;
        from = i + 1;
        continue;
      }
      this.#take(text, from, i);
      this.#cr = c === 13;
      if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
      this.#lineDone();
      from = i + 1;
    }
    if (from < text.length) {
      this.#cr = false;
      this.#take(text, from, text.length);
    }
  }

  #take(text: string, from: number, to: number): void {
    if (to > from && this.#line.length < MAX_LINE_CHARS)
      this.#line += text.slice(from, Math.min(to, from + MAX_LINE_CHARS - this.#line.length));
  }

  #lineDone(): void {
    const line = this.#line;
    this.#line = '';
    if (line === '') {
      if (this.#data !== undefined) {
        const e: { event: string; data: string; id?: string } = {
          event: this.#event || 'message',
          data: this.#data.join('\n'),
        };
        if (this.#id !== undefined) e.id = this.#id;
        this.#ex.sseEvent(e);
      }
      this.#data = undefined;
      this.#dataChars = 0;
      this.#event = '';
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ':' comment
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') {
      if (this.#dataChars < MAX_STREAM_ITEM_BYTES) (this.#data ??= []).push(value);
      else this.#data ??= [];
      this.#dataChars += value.length + 1;
    } else if (field === 'event') this.#event = value;
    else if (field === 'id') this.#id = value;
  }
}
