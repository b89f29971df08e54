/**
 * What the inspector records of one request through the tunnel (an exchange: the request, its
 * response, and for an upgrade or an event stream the messages that followed), and the store that
 * keeps the last N of them within a byte budget. Pure: no sockets; the tap (tap.ts) fills them in.
 */
import { EventEmitter } from 'node:events';
import { Capture } from './capture.js';
import { MAX_STREAM_ITEM_BYTES, MAX_STREAM_ITEMS } from './limits.js';

export type Header = [name: string, value: string];

/**
 * waiting: the request is in, no response head yet · streaming: the response head is in, its body
 * (or the WebSocket / event stream after it) still flows · complete · incomplete: the connection
 * ended before the response did.
 */
export type ExchangeState = 'waiting' | 'streaming' | 'complete' | 'incomplete';

/** One WebSocket message (its first MAX_STREAM_ITEM_BYTES, unmasked). */
export interface WsMessage {
  /** client → local service, or server (the local service) → client. */
  from: 'client' | 'server';
  /** ms since the request started. */
  atMs: number;
  /** 1 text, 2 binary, 8 close, 9 ping, 10 pong. */
  opcode: number;
  size: number;
  data: Buffer;
  /** Sent compressed (permessage-deflate): data is the compressed bytes. */
  compressed: boolean;
}

/** One server-sent event (its data cut at MAX_STREAM_ITEM_BYTES characters). */
export interface SseEvent {
  atMs: number;
  event: string;
  data: string;
  id?: string;
}

/** Where an exchange came from and went to. */
export interface ExchangeOrigin {
  /** The tunnel's name (its subdomain), when known. */
  tunnel?: string;
  /** The local service, as `host:port` or `https://host:port`. */
  target: string;
  /** The visitor's address: the last X-Forwarded-For entry the burrow server added, else the stream's. */
  remoteAddress?: string;
  /** The exchange this one replays. */
  replayOf?: number;
}

export interface RequestStart {
  method: string;
  path: string;
  httpVersion: string;
  /** The head's field lines as sent (latin1, CRLF-separated, no start line): parsed when asked for. */
  fields: string;
  /** The X-Forwarded-For value, when there was one (the tap reads it as it scans the head). */
  forwardedFor?: string | undefined;
}

type Changed = (ex: RecordedExchange, grew: number, done: boolean) => void;

export class RecordedExchange {
  readonly id: number;
  /** Wall-clock start, ms since the epoch. */
  readonly startedAt: number;
  readonly method: string;
  readonly path: string;
  readonly httpVersion: string;
  readonly requestBody: Capture;
  readonly origin: ExchangeOrigin;
  readonly clientIp: string | undefined;
  state: ExchangeState = 'waiting';
  status: number | undefined;
  reason = '';
  readonly responseBody: Capture;
  /** ms from the request's start to the response head. */
  headMs: number | undefined;
  /** ms from the request's start to the response's end. */
  durationMs: number | undefined;
  /** The protocol switched to (`websocket`) after a 101. */
  upgrade: string | undefined;
  readonly ws: WsMessage[] = [];
  wsDropped = 0;
  readonly sse: SseEvent[] = [];
  sseDropped = 0;
  /** Bytes this exchange holds in memory (an estimate: captures, heads, messages). */
  bytes: number;
  readonly #t0: number;
  readonly #changed: Changed;
  /** The heads' field lines as sent, parsed into headers on first use (the tap's path stays cheap). */
  #requestFields: string;
  #requestHeaders: Header[] | undefined;
  #responseFields = '';
  #responseHeaders: Header[] | undefined;

  constructor(id: number, start: RequestStart, origin: ExchangeOrigin, bodyLimit: number, changed: Changed) {
    this.id = id;
    this.startedAt = Date.now();
    this.#t0 = performance.now();
    this.method = start.method;
    this.path = start.path;
    this.httpVersion = start.httpVersion;
    this.#requestFields = start.fields;
    this.origin = origin;
    this.clientIp = lastEntry(start.forwardedFor) ?? origin.remoteAddress;
    this.requestBody = new Capture(bodyLimit);
    this.responseBody = new Capture(bodyLimit);
    this.bytes = 256 + start.fields.length + start.path.length;
    this.#changed = changed;
  }

  /** The request's header fields, in order, as sent ([name, value]; UTF-8 values decoded). */
  get requestHeaders(): Header[] {
    return (this.#requestHeaders ??= parseFields(this.#requestFields));
  }

  get responseHeaders(): Header[] {
    return (this.#responseHeaders ??= parseFields(this.#responseFields));
  }

  /** ms since the request started. */
  elapsed(): number {
    return performance.now() - this.#t0;
  }

  requestData(buf: Buffer, start: number, end: number): void {
    this.#grew(this.requestBody.add(buf, start, end));
  }

  /** The response head: its status, reason and field lines as sent (see RequestStart.fields). */
  responseHead(status: number, reason: string, fields: string): void {
    this.status = status;
    this.reason = reason;
    this.#responseFields = fields;
    this.#responseHeaders = undefined;
    this.headMs = this.elapsed();
    this.state = 'streaming';
    this.#grew(fields.length);
  }

  responseData(buf: Buffer, start: number, end: number): void {
    this.#grew(this.responseBody.add(buf, start, end));
  }

  /** The response ended (complete) or the connection did first (incomplete). */
  finish(state: 'complete' | 'incomplete'): void {
    if (this.state === 'complete' || this.state === 'incomplete') return;
    this.state = state;
    this.durationMs = this.elapsed();
    this.#changed(this, 0, true);
  }

  wsMessage(m: Omit<WsMessage, 'atMs'>): void {
    if (this.ws.length >= MAX_STREAM_ITEMS) {
      const old = this.ws.shift()!;
      this.bytes -= old.data.length + 64;
      this.wsDropped++;
    }
    this.ws.push({ ...m, atMs: this.elapsed() });
    this.#grew(m.data.length + 64);
  }

  sseEvent(e: Omit<SseEvent, 'atMs'>): void {
    if (this.sse.length >= MAX_STREAM_ITEMS) {
      const old = this.sse.shift()!;
      this.bytes -= old.data.length + old.event.length + 64;
      this.sseDropped++;
    }
    const data = e.data.length > MAX_STREAM_ITEM_BYTES ? e.data.slice(0, MAX_STREAM_ITEM_BYTES) : e.data;
    this.sse.push({ ...e, data, atMs: this.elapsed() });
    this.#grew(data.length + e.event.length + 64);
  }

  #grew(n: number): void {
    this.bytes += n;
    this.#changed(this, n, false);
  }
}

/** The first value of a header (case-insensitive name), or undefined. */
export function headerValue(headers: readonly Header[], name: string): string | undefined {
  for (const [k, v] of headers) if (k.length === name.length && k.toLowerCase() === name) return v;
  return undefined;
}

/**
 * Field lines (latin1, as they were on the wire) → [name, value] pairs, values decoded as UTF-8;
 * obsolete line folding joined, lines without a colon skipped (the tap already passed them on).
 */
export function parseFields(fields: string): Header[] {
  const headers: Header[] = [];
  if (!fields) return headers;
  const text = Buffer.from(fields, 'latin1').toString('utf8');
  for (const line of text.split('\r\n')) {
    const first = line.charCodeAt(0);
    if ((first === 32 || first === 9) && headers.length) {
      headers[headers.length - 1]![1] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return headers;
}

/** The address the burrow server saw: it appends it as the last X-Forwarded-For entry. */
function lastEntry(xff: string | undefined): string | undefined {
  if (!xff) return undefined;
  const last = xff.slice(xff.lastIndexOf(',') + 1).trim();
  return last || undefined;
}

export interface ExchangeStoreOptions {
  keep: number;
  bodyLimit: number;
  maxBytes: number;
}

export interface ExchangeStoreEvents {
  /** A request came in. */
  add: [RecordedExchange];
  /** Something was added to an exchange (response head, body bytes, a message, its end). */
  update: [RecordedExchange];
  /** Its response ended (complete or incomplete). */
  done: [RecordedExchange];
  /** These exchanges were dropped to stay within keep / maxBytes. */
  remove: [number[]];
  clear: [];
}

/** The last `keep` exchanges, oldest first, within `maxBytes` together. */
export class ExchangeStore extends EventEmitter<ExchangeStoreEvents> {
  readonly keep: number;
  readonly bodyLimit: number;
  readonly maxBytes: number;
  readonly #byId = new Map<number, RecordedExchange>();
  #nextId = 1;
  #bytes = 0;
  readonly #changed: Changed = (ex, grew, done) => this.#onChanged(ex, grew, done);

  constructor(o: ExchangeStoreOptions) {
    super();
    this.keep = o.keep;
    this.bodyLimit = o.bodyLimit;
    this.maxBytes = o.maxBytes;
  }

  /** Bytes held by the kept exchanges. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#byId.size;
  }

  begin(start: RequestStart, origin: ExchangeOrigin): RecordedExchange {
    const ex = new RecordedExchange(this.#nextId++, start, origin, this.bodyLimit, this.#changed);
    this.#byId.set(ex.id, ex);
    this.#bytes += ex.bytes;
    this.#trim();
    this.emit('add', ex);
    return ex;
  }

  get(id: number): RecordedExchange | undefined {
    return this.#byId.get(id);
  }

  /** Oldest first. */
  list(): RecordedExchange[] {
    return [...this.#byId.values()];
  }

  clear(): void {
    this.#byId.clear();
    this.#bytes = 0;
    this.emit('clear');
  }

  #onChanged(ex: RecordedExchange, grew: number, done: boolean): void {
    if (this.#byId.get(ex.id) !== ex) return; // dropped already: it still fills in, nobody sees it
    this.#bytes += grew;
    if (grew > 0 && this.#bytes > this.maxBytes) this.#trim();
    this.emit('update', ex);
    if (done) this.emit('done', ex);
  }

  #trim(): void {
    if (this.#byId.size <= this.keep && this.#bytes <= this.maxBytes) return;
    let removed: number[] | undefined;
    const oldestFirst = this.#byId.values();
    // the newest stays, however large (its captures are bounded)
    while ((this.#byId.size > this.keep || this.#bytes > this.maxBytes) && this.#byId.size > 1) {
      const ex = oldestFirst.next().value!;
      this.#byId.delete(ex.id);
      this.#bytes -= ex.bytes;
      (removed ??= []).push(ex.id);
    }
    if (removed) this.emit('remove', removed);
  }
}
