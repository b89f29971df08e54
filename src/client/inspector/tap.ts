/**
 * The passive HTTP/1.1 tap: it watches the bytes of one tunnel stream go by, in both directions, and
 * records each request and response on the store, never changing, holding or delaying a byte (the
 * stream is piped as before; the tap is one more 'data' listener). It follows keep-alive and
 * pipelined requests, Content-Length and chunked bodies (decoded as they pass), close-delimited
 * responses, 1xx answers, upgrades (then WebSocket frames, ws-reader.ts) and event streams
 * (sse-reader.ts). Anything it cannot follow (a head over MAX_TAP_HEAD_BYTES, bad framing, a response
 * with no request) ends the tap for that connection only: the bytes keep flowing, unrecorded.
 */
import type { RecordedExchange, ExchangeOrigin, RequestStart } from './exchange.js';
import { MAX_TAP_HEAD_BYTES, MAX_TAP_PENDING_BYTES, MAX_TAP_PIPELINE } from './limits.js';
import { SseReader } from './sse-reader.js';
import { WsReader } from './ws-reader.js';

/** Where the tap records what it sees (the inspector's ExchangeStore). */
export interface TapSink {
  begin(start: RequestStart, origin: ExchangeOrigin): RecordedExchange;
}

/** Longest chunk-size line followed, in bytes. */
const MAX_CHUNK_LINE = 4096;
const CRLFCRLF = Buffer.from('\r\n\r\n');

type BodyMode = 'none' | 'length' | 'chunked' | 'close';
type ChunkState = 'size' | 'data' | 'data-end' | 'trailer';
type OnData = (buf: Buffer, start: number, end: number) => void;

/** Walks one body by its framing, handing the body's own bytes (chunked framing taken off) to onData. */
class BodyReader {
  mode: BodyMode = 'none';
  #left = 0;
  #chunk: ChunkState = 'size';
  #line = '';

  start(mode: BodyMode, length = 0): void {
    this.mode = mode === 'length' && length === 0 ? 'none' : mode;
    this.#left = length;
    this.#chunk = 'size';
    this.#line = '';
  }

  /** Read from `at`; returns the index just past the body's bytes (the body is over when mode is 'none'). */
  read(buf: Buffer, at: number, onData: OnData): number {
    let i = at;
    while (i < buf.length && this.mode !== 'none') {
      if (this.mode === 'close') {
        onData(buf, i, buf.length);
        return buf.length;
      }
      if (this.mode === 'length' || this.#chunk === 'data') {
        const n = Math.min(this.#left, buf.length - i);
        onData(buf, i, i + n);
        i += n;
        this.#left -= n;
        if (this.#left === 0) {
          if (this.mode === 'length') this.mode = 'none';
          else this.#chunk = 'data-end';
        }
        continue;
      }
      if (this.#chunk === 'data-end') {
        const c = buf[i]!;
        if (c === 0x0a) this.#chunk = 'size';
        else if (c !== 0x0d) throw new Error('chunk data not followed by CRLF');
        i++;
        continue;
      }
      // a size line or a trailer line
      const nl = buf.indexOf(0x0a, i);
      const end = nl === -1 ? buf.length : nl;
      this.#line += buf.toString('latin1', i, end);
      if (this.#line.length > MAX_CHUNK_LINE) throw new Error('chunk line too long');
      if (nl === -1) return buf.length;
      i = nl + 1;
      const line = this.#line.endsWith('\r') ? this.#line.slice(0, -1) : this.#line;
      this.#line = '';
      if (this.#chunk === 'trailer') {
        if (line === '') this.mode = 'none';
        continue;
      }
      const semi = line.indexOf(';');
      const hex = (semi === -1 ? line : line.slice(0, semi)).trim();
      if (!/^[0-9a-fA-F]{1,13}$/.test(hex)) throw new Error('bad chunk size');
      const size = parseInt(hex, 16);
      if (size === 0) this.#chunk = 'trailer';
      else {
        this.#left = size;
        this.#chunk = 'data';
      }
    }
    return i;
  }
}

/**
 * What the tap needs of a head, read in one pass over its text: the start line's three parts, the
 * field lines as sent (kept for the detail view, parsed only when asked for) and the few fields the
 * tap acts on.
 */
interface Head {
  a: string;
  b: string;
  c: string;
  fields: string;
  contentLength: string | undefined;
  transferEncoding: string | undefined;
  upgrade: string | undefined;
  connection: string | undefined;
  contentType: string | undefined;
  forwardedFor: string | undefined;
}

/** Non-ASCII bytes in a latin1 string: the text was UTF-8 on the wire. */
const HIGH = /[\x80-\xff]/;

function scanHead(text: string, request: boolean): Head {
  const eol = text.indexOf('\r\n');
  const first = eol === -1 ? text : text.slice(0, eol);
  const s1 = first.indexOf(' ');
  const s2 = s1 === -1 ? -1 : first.indexOf(' ', s1 + 1);
  if (s1 <= 0 || (request && s2 === -1)) throw new Error('bad start line');
  const a = first.slice(0, s1);
  let b = s2 === -1 ? first.slice(s1 + 1) : first.slice(s1 + 1, s2);
  let c = s2 === -1 ? '' : first.slice(s2 + 1);
  const version = request ? c : a;
  if (version.length !== 8 || !version.startsWith('HTTP/1.')) throw new Error('not HTTP/1.x');
  if (HIGH.test(b)) b = Buffer.from(b, 'latin1').toString('utf8');
  if (HIGH.test(c)) c = Buffer.from(c, 'latin1').toString('utf8');
  const h: Head = {
    a,
    b,
    c,
    fields: eol === -1 ? '' : text.slice(eol + 2),
    contentLength: undefined,
    transferEncoding: undefined,
    upgrade: undefined,
    connection: undefined,
    contentType: undefined,
    forwardedFor: undefined,
  };
  let pos = eol === -1 ? text.length : eol + 2;
  while (pos < text.length) {
    let end = text.indexOf('\r\n', pos);
    if (end === -1) end = text.length;
    // only lines whose name starts with c, t, u or x can be one the tap acts on: the others are skipped unread
    const c0 = text.charCodeAt(pos) | 0x20;
    if (c0 === 0x63 || c0 === 0x74 || c0 === 0x75 || c0 === 0x78) {
      const colon = text.indexOf(':', pos);
      if (colon !== -1 && colon < end) {
        const name = text.slice(pos, colon).toLowerCase();
        const value = text.slice(colon + 1, end).trim();
        if (name === 'content-length') h.contentLength ??= value;
        else if (name === 'transfer-encoding')
          h.transferEncoding = h.transferEncoding === undefined ? value : `${h.transferEncoding}, ${value}`;
        else if (name === 'upgrade') h.upgrade ??= value;
        else if (name === 'connection') h.connection = h.connection === undefined ? value : `${h.connection}, ${value}`;
        else if (name === 'content-type') h.contentType ??= value;
        else if (name === 'x-forwarded-for') h.forwardedFor = value; // the last line: the burrow server appends its own
      }
    }
    pos = end + 2;
  }
  return h;
}

function hasToken(value: string | undefined, token: string): boolean {
  if (!value) return false;
  for (const part of value.split(',')) if (part.trim().toLowerCase() === token) return true;
  return false;
}

/** How a message body is framed, by its fields: chunked (as the last coding), a length, or neither. */
function framing(h: Head): { mode: BodyMode; length: number } | undefined {
  const te = h.transferEncoding;
  if (te !== undefined) {
    const codings = te.split(',');
    return codings[codings.length - 1]!.trim().toLowerCase() === 'chunked'
      ? { mode: 'chunked', length: 0 }
      : { mode: 'close', length: 0 };
  }
  const cl = h.contentLength;
  if (cl !== undefined) {
    if (!/^\d{1,15}$/.test(cl)) throw new Error('bad Content-Length');
    return { mode: 'length', length: Number(cl) };
  }
  return undefined;
}

interface Pending {
  ex: RecordedExchange;
  head: boolean;
  upgrade: boolean;
}

type Phase = 'head' | 'body' | 'await-upgrade' | 'ws' | 'raw' | 'off';

/** Reads one head off a direction, holding a partial head between chunks (bounded). */
class HeadReader {
  #partial: Buffer | undefined;

  /**
   * Find a complete head starting at `at` (CRLFs before it are skipped). Returns the head's text and
   * the buffer and index to go on from (the buffer is a joined copy when the head was split), or
   * undefined when more bytes are needed (they are held).
   */
  read(input: Buffer, at: number): { text: string; buf: Buffer; next: number } | undefined {
    let buf = input;
    let i = at;
    if (this.#partial) {
      buf = Buffer.concat([this.#partial, input.subarray(at)]);
      i = 0;
      this.#partial = undefined;
    }
    while (i < buf.length && (buf[i] === 0x0d || buf[i] === 0x0a)) i++;
    const end = buf.indexOf(CRLFCRLF, i);
    if (end === -1) {
      if (buf.length - i > MAX_TAP_HEAD_BYTES) throw new Error('head too large');
      if (i < buf.length) this.#partial = Buffer.from(buf.subarray(i));
      return undefined;
    }
    if (end - i > MAX_TAP_HEAD_BYTES) throw new Error('head too large');
    return { text: buf.toString('latin1', i, end), buf, next: end + 4 };
  }
}

export class HttpTap {
  readonly #sink: TapSink;
  readonly #origin: ExchangeOrigin;
  /** Requests sent, waiting for (or receiving) their responses, oldest first. */
  readonly #queue: Pending[] = [];
  #client: Phase = 'head';
  #server: Phase = 'head';
  readonly #clientHead = new HeadReader();
  readonly #serverHead = new HeadReader();
  readonly #clientBody = new BodyReader();
  readonly #serverBody = new BodyReader();
  /** The request whose body is being read, and the response's exchange. */
  #sending: Pending | undefined;
  #answering: Pending | undefined;
  #sse: SseReader | undefined;
  #wsClient: WsReader | undefined;
  #wsServer: WsReader | undefined;
  /** Client bytes after an upgrade request, before its answer. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  readonly #onRequestData: OnData = (b, s, e) => this.#sending!.ex.requestData(b, s, e);
  readonly #onResponseData: OnData = (b, s, e) => {
    const ex = this.#answering!.ex;
    ex.responseData(b, s, e);
    this.#sse?.push(b, s, e);
  };

  constructor(sink: TapSink, origin: ExchangeOrigin) {
    this.#sink = sink;
    this.#origin = origin;
  }

  /** False once the tap gave up on this connection (the bytes still flow). */
  get following(): boolean {
    return this.#client !== 'off';
  }

  /** Bytes from the visitor (through the tunnel) to the local service. */
  fromClient(chunk: Buffer): void {
    if (this.#client === 'off') return;
    try {
      this.#readClient(chunk, 0);
    } catch {
      this.#stop();
    }
  }

  /** Bytes from the local service back to the visitor. */
  fromServer(chunk: Buffer): void {
    if (this.#server === 'off') return;
    try {
      this.#readServer(chunk, 0);
    } catch {
      this.#stop();
    }
  }

  /** The connection closed: a close-delimited response is complete, anything else unanswered is not. */
  end(): void {
    const answering = this.#answering;
    if (answering && (this.#server === 'ws' || this.#server === 'raw' || this.#serverBody.mode === 'close')) {
      answering.ex.finish('complete');
      this.#answering = undefined;
    }
    for (const p of this.#queue) p.ex.finish('incomplete');
    this.#queue.length = 0;
    this.#answering?.ex.finish('incomplete');
    this.#client = this.#server = 'off';
  }

  #stop(): void {
    // what is already recorded stays (unanswered requests say they were not followed to the end);
    // nothing more is parsed on this connection
    for (const p of this.#queue) p.ex.finish('incomplete');
    this.#queue.length = 0;
    this.#answering?.ex.finish('incomplete');
    this.#answering = undefined;
    this.#client = this.#server = 'off';
    this.#held = [];
  }

  #readClient(input: Buffer, at: number): void {
    let buf = input;
    let i = at;
    while (i < buf.length) {
      switch (this.#client) {
        case 'head': {
          const got = this.#clientHead.read(buf, i);
          if (!got) return;
          buf = got.buf;
          i = got.next;
          this.#request(scanHead(got.text, true));
          break;
        }
        case 'body':
          i = this.#clientBody.read(buf, i, this.#onRequestData);
          if (this.#clientBody.mode === 'none') this.#requestDone();
          break;
        case 'await-upgrade':
          this.#heldBytes += buf.length - i;
          if (this.#heldBytes > MAX_TAP_PENDING_BYTES) throw new Error('too much before the upgrade answer');
          this.#held.push(Buffer.from(buf.subarray(i)));
          return;
        case 'ws':
          this.#wsClient!.push(i === 0 ? buf : buf.subarray(i));
          return;
        default:
          return;
      }
    }
  }

  #request(h: Head): void {
    if (this.#queue.length >= MAX_TAP_PIPELINE) throw new Error('too many requests ahead of their responses');
    const ex = this.#sink.begin(
      { method: h.a, path: h.b, httpVersion: h.c.slice(5), fields: h.fields, forwardedFor: h.forwardedFor },
      this.#origin,
    );
    const upgrade = h.a === 'CONNECT' || (h.upgrade !== undefined && hasToken(h.connection, 'upgrade'));
    const p: Pending = { ex, head: h.a === 'HEAD', upgrade };
    this.#queue.push(p);
    this.#sending = p;
    const f = framing(h);
    if (f && f.mode === 'close') throw new Error('request with a Transfer-Encoding other than chunked');
    this.#clientBody.start(f ? f.mode : 'none', f?.length ?? 0);
    if (this.#clientBody.mode === 'none') this.#requestDone();
    else this.#client = 'body';
  }

  #requestDone(): void {
    this.#client = this.#sending?.upgrade ? 'await-upgrade' : 'head';
    this.#sending = undefined;
  }

  #readServer(input: Buffer, at: number): void {
    let buf = input;
    let i = at;
    while (i < buf.length) {
      switch (this.#server) {
        case 'head': {
          const got = this.#serverHead.read(buf, i);
          if (!got) return;
          buf = got.buf;
          i = got.next;
          this.#response(scanHead(got.text, false));
          break;
        }
        case 'body':
          i = this.#serverBody.read(buf, i, this.#onResponseData);
          if (this.#serverBody.mode === 'none') this.#responseDone();
          break;
        case 'ws':
          this.#wsServer!.push(i === 0 ? buf : buf.subarray(i));
          return;
        default:
          return;
      }
    }
  }

  #response(h: Head): void {
    const p = this.#queue[0];
    if (!p) throw new Error('a response with no request');
    const status = Number(h.b);
    if (!Number.isInteger(status) || status < 100 || status > 999) throw new Error('bad status');
    if (status >= 100 && status < 200 && status !== 101) return; // 100 Continue, 103 Early Hints: the answer follows
    this.#answering = p;
    p.ex.responseHead(status, h.c, h.fields);
    if (p.upgrade && (status === 101 || (p.ex.method === 'CONNECT' && status < 300))) {
      this.#upgraded(p, h);
      return;
    }
    if (p.upgrade && this.#client === 'await-upgrade') this.#resumeClient();
    if (p.head || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      this.#responseDone();
      return;
    }
    const f = framing(h);
    this.#serverBody.start(f ? f.mode : 'close', f?.length ?? 0);
    const type = h.contentType;
    this.#sse = type && /^text\/event-stream\b/i.test(type) ? new SseReader(p.ex) : undefined;
    if (this.#serverBody.mode === 'none') this.#responseDone();
    else this.#server = 'body';
  }

  #responseDone(): void {
    const p = this.#queue.shift()!;
    p.ex.finish('complete');
    this.#answering = undefined;
    this.#sse = undefined;
    this.#server = 'head';
  }

  #upgraded(p: Pending, h: Head): void {
    this.#queue.shift();
    const websocket = p.ex.method !== 'CONNECT' && (h.upgrade ?? '').toLowerCase() === 'websocket';
    p.ex.upgrade = websocket ? 'websocket' : (h.upgrade ?? 'tunnel');
    const held = this.#held;
    this.#held = [];
    if (!websocket) {
      this.#client = this.#server = 'raw';
      return;
    }
    this.#wsClient = new WsReader('client', p.ex);
    this.#wsServer = new WsReader('server', p.ex);
    this.#client = this.#server = 'ws';
    for (const b of held) this.#wsClient.push(b);
  }

  /** An upgrade was refused: what the client sent meanwhile is read as requests again. */
  #resumeClient(): void {
    this.#client = 'head';
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    for (const b of held) this.#readClient(b, 0);
  }
}
