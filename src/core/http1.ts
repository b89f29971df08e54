/**
 * HTTP/1.1 message framing for the connection relay (pure: no sockets). The relay forwards bytes
 * unchanged except request heads; these readers only find where each message starts and ends:
 *
 * - RequestReader parses each visitor request head strictly (anything ambiguous is a 400, never a
 *   guess: that is what keeps request smuggling out) and walks the body by its framing
 *   (Content-Length or chunked), handing body bytes through as they are.
 * - ResponseReader watches the origin's bytes go by: it reports each response head's status and
 *   when each response is complete (Content-Length, chunked, no-body statuses, HEAD, close-delimited,
 *   101 → raw).
 *
 * Chunked bodies are followed by their size lines, never scanned byte by byte.
 */

/**
 * Requests sent again by themselves when the origin drops a kept-alive connection before answering:
 * safe methods only (RFC 9110 §9.2.1). A POST, PUT or DELETE that reached the origin may have had
 * its effect, so it is answered 502 instead of being repeated (RFC 9112 §9.3.1).
 */
export const RETRYABLE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
/** The status recorded (metrics, request events) for a request whose visitor left before its answer. */
export const STATUS_ABANDONED = 499;

/** Longest chunk-size line (size + extensions) in a chunked body, in bytes. */
export const MAX_CHUNK_LINE_BYTES = 4096;
/** Most bytes of trailer fields after a chunked body. */
export const MAX_TRAILER_BYTES = 16 * 1024;
/** Largest chunk size accepted (13 hex digits keeps it an exact JavaScript integer). */
const MAX_CHUNK_SIZE_DIGITS = 13;

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Request targets: visible ASCII and obs-text only (no spaces, no controls). */
const TARGET_RE = /^[\x21-\x7e\x80-\xff]+$/;
/** Field values: no CR, LF or NUL (other controls are rejected too, except HTAB). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BAD_VALUE_RE = /[\x00-\x08\x0a-\x1f\x7f]/;

/** Where the line that starts at `from` ends in a head's text (its CRLF, or the end of the text). */
function lineEnd(text: string, from: number): number {
  const eol = text.indexOf('\r\n', from);
  return eol === -1 ? text.length : eol;
}

/** A field's value in text[from, to) without the optional whitespace around it (RFC 9110 §5.5: SP, HTAB). */
function fieldValue(text: string, from: number, to: number): string {
  let a = from;
  let b = to;
  while (a < b && (text.charCodeAt(a) === 0x20 || text.charCodeAt(a) === 0x09)) a++;
  while (b > a && (text.charCodeAt(b - 1) === 0x20 || text.charCodeAt(b - 1) === 0x09)) b--;
  return text.slice(a, b);
}
const CHUNK_SIZE_RE = /^([0-9A-Fa-f]+)[ \t]*(?:;.*)?$/;
const EMPTY: Buffer = Buffer.alloc(0);

/**
 * Refuse an incomplete request head (starting at `start`) that can never become a valid HTTP/1.1
 * head, so the visitor is answered at once instead of when a timeout runs out: a bare LF (no CR
 * before it, which the CRLF-CRLF search would wait on forever) or a complete request line that is
 * not `METHOD target HTTP/x.y` (an HTTP/0.9 request `GET /` has no version and no head to wait for).
 * Only called on the rare partial head, so the scan costs nothing on the usual path.
 */
export function checkPartialHead(buf: Buffer, start: number): void {
  const lf = buf.indexOf(0x0a, start);
  if (lf === -1) return;
  if (lf === start || buf[lf - 1] !== 0x0d)
    throw new HttpFramingError(400, 'bare LF in the request head (lines end with CRLF)');
  const line = buf.toString('latin1', start, lf - 1);
  const version = line.slice(line.lastIndexOf(' ') + 1);
  if (!line.includes(' ')) throw new HttpFramingError(400, 'malformed request line (HTTP/0.9 is not supported)');
  if (!/^HTTP\/\d\.\d$/.test(version)) throw new HttpFramingError(400, 'malformed request line (no HTTP version)');
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') {
    throw new HttpFramingError(505, `unsupported protocol version ${JSON.stringify(version)}`);
  }
  for (let at = buf.indexOf(0x0a, lf + 1); at !== -1; at = buf.indexOf(0x0a, at + 1)) {
    if (buf[at - 1] !== 0x0d) throw new HttpFramingError(400, 'bare LF in the request head (lines end with CRLF)');
  }
}

/** A message the relay cannot frame: answered with `status` (and the connection closed). */
export class HttpFramingError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'HttpFramingError';
    this.status = status;
  }
}

export type BodyMode = 'none' | 'length' | 'chunked' | 'until-close';
type ChunkState = 'size' | 'data' | 'data-cr' | 'data-lf' | 'trailer';

/**
 * Walks one message body by its framing; reports how many bytes of a chunk belong to it. Shared by
 * the server's relay and the localtunnel client's request framer.
 */
export class BodyWalker {
  mode: BodyMode = 'none';
  #remaining = 0;
  #chunk: ChunkState = 'size';
  #line = '';
  #trailerBytes = 0;

  start(mode: BodyMode, length = 0): void {
    this.mode = mode;
    this.#remaining = length;
    this.#chunk = 'size';
    this.#line = '';
    this.#trailerBytes = 0;
    if (mode === 'length' && length === 0) this.mode = 'none';
  }

  /** True while a body is being walked. */
  get active(): boolean {
    return this.mode !== 'none';
  }

  /**
   * Consume body bytes of `buf` from `at`; returns the index just past the body bytes taken. When
   * the body is complete, `active` turns false. Throws HttpFramingError on bad chunked syntax.
   */
  walk(buf: Buffer, at: number): number {
    let i = at;
    while (i < buf.length && this.mode !== 'none') {
      if (this.mode === 'until-close') return buf.length;
      if (this.mode === 'length') {
        const n = Math.min(this.#remaining, buf.length - i);
        i += n;
        this.#remaining -= n;
        if (this.#remaining === 0) this.mode = 'none';
        continue;
      }
      switch (this.#chunk) {
        case 'data': {
          const n = Math.min(this.#remaining, buf.length - i);
          i += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#chunk = 'data-cr';
          break;
        }
        case 'data-cr':
          if (buf[i] !== 0x0d) throw new HttpFramingError(400, 'chunk data not followed by CRLF');
          i++;
          this.#chunk = 'data-lf';
          break;
        case 'data-lf':
          if (buf[i] !== 0x0a) throw new HttpFramingError(400, 'chunk data not followed by CRLF');
          i++;
          this.#chunk = 'size';
          break;
        case 'size':
        case 'trailer': {
          const nl = buf.indexOf(0x0a, i);
          const end = nl === -1 ? buf.length : nl + 1;
          this.#line += buf.toString('latin1', i, end);
          if (this.#chunk === 'trailer') {
            this.#trailerBytes += end - i;
            if (this.#trailerBytes > MAX_TRAILER_BYTES) {
              throw new HttpFramingError(431, `trailer fields over ${MAX_TRAILER_BYTES} bytes`);
            }
          } else if (this.#line.length > MAX_CHUNK_LINE_BYTES) {
            throw new HttpFramingError(400, `chunk-size line over ${MAX_CHUNK_LINE_BYTES} bytes`);
          }
          i = end;
          if (nl === -1) break;
          const line = this.#line;
          this.#line = '';
          if (line.length < 2 || line.charCodeAt(line.length - 2) !== 0x0d) {
            throw new HttpFramingError(400, 'bare LF in chunked framing');
          }
          const text = line.slice(0, -2);
          if (this.#chunk === 'trailer') {
            if (text === '') this.mode = 'none';
            else if (text.indexOf(':') <= 0 || BAD_VALUE_RE.test(text.replace(/\t/g, ' '))) {
              throw new HttpFramingError(400, 'malformed trailer field');
            }
            break;
          }
          const m = CHUNK_SIZE_RE.exec(text);
          if (!m || m[1]!.length > MAX_CHUNK_SIZE_DIGITS || /[\r\n\0]/.test(text)) {
            throw new HttpFramingError(400, `malformed chunk size ${JSON.stringify(text.slice(0, 40))}`);
          }
          const size = parseInt(m[1]!, 16);
          if (size === 0) this.#chunk = 'trailer';
          else {
            this.#remaining = size;
            this.#chunk = 'data';
          }
          break;
        }
      }
    }
    return i;
  }
}

/** One parsed visitor request head. */
export interface RequestHead {
  /** The head exactly as received (request line through the empty line). */
  readonly raw: Buffer;
  readonly method: string;
  readonly target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minor: number;
  /** Field lines as [name, value, name, value, …] (names as sent, values trimmed). */
  readonly headers: string[];
  /** The Host field value ('' when absent). */
  readonly host: string;
  /** A protocol switch (Upgrade + Connection: upgrade): bytes after the head are not HTTP. */
  readonly upgrade: boolean;
  /**
   * The connection ends after this request's answer: `Connection: close`, or HTTP/1.0 without
   * `Connection: keep-alive` (RFC 9112 §9.3, §9.6).
   */
  readonly closes: boolean;
  /** The visitor asks for HTML (Accept mentions text/html): error pages are HTML then. */
  readonly wantsHtml: boolean;
  /** The request has a body (Content-Length > 0 or chunked). */
  readonly hasBody: boolean;
  /** It carries X-Forwarded-* or Proxy-* fields (the relay then rebuilds the head instead of appending). */
  readonly proxyFields: boolean;
}

/** What RequestReader.push() found, in order: heads and the bytes that follow them. */
export type RequestItem = { head: RequestHead; body?: undefined } | { head?: undefined; body: Buffer };

/**
 * Reads visitor requests off a connection: each head parsed (strictly), body bytes passed through
 * by framing. After an upgrade request everything else is body (raw).
 */
export class RequestReader {
  readonly #maxHeadBytes: number;
  #partial: Buffer = EMPTY;
  readonly #body = new BodyWalker();
  #raw = false;
  #failed: HttpFramingError | undefined;
  #failedMidBody = false;
  /**
   * A request asking to close (`closes`) was read: once its body is whole, nothing more is read. RFC 9112 §9.6: the
   * server closes after its answer and should not process further requests (a client must not send any).
   */
  #last = false;

  constructor(maxHeadBytes: number) {
    this.#maxHeadBytes = maxHeadBytes;
  }

  /** The failure was inside a request body (the origin has part of it: no clean boundary to wait for). */
  get failedMidBody(): boolean {
    return this.#failedMidBody;
  }

  /** Set once input could not be framed; push() returns nothing after that. */
  get failed(): HttpFramingError | undefined {
    return this.#failed;
  }

  /** True while part of a head is buffered (the visitor is mid-head). */
  get midHead(): boolean {
    return this.#partial.length > 0;
  }

  /** True between messages (no head or body partly read). */
  get idle(): boolean {
    return !this.#raw && !this.#body.active && this.#partial.length === 0;
  }

  /** Bytes buffered but not yet returned (part of a head). */
  takeBuffered(): Buffer {
    const b = this.#partial;
    this.#partial = EMPTY;
    return b;
  }

  /**
   * Parse a chunk: the heads and body bytes found, in order. Input that cannot be framed sets
   * `failed` (an HttpFramingError with status 400/431/405/501/505); what came before it is returned.
   */
  push(chunk: Buffer): RequestItem[] {
    const items: RequestItem[] = [];
    if (this.#failed) return items;
    try {
      this.#push(chunk, items);
    } catch (err) {
      if (!(err instanceof HttpFramingError)) throw err;
      this.#failed = err;
      this.#failedMidBody = this.#body.active;
      this.#partial = EMPTY;
    }
    return items;
  }

  #push(chunk: Buffer, items: RequestItem[]): void {
    if (this.#raw) {
      items.push({ body: chunk });
      return;
    }
    let buf = chunk;
    if (this.#partial.length) {
      buf = Buffer.concat([this.#partial, chunk]);
      this.#partial = EMPTY;
    }
    let i = 0;
    while (i < buf.length) {
      if (this.#raw) {
        items.push({ body: i === 0 ? buf : buf.subarray(i) });
        return;
      }
      if (this.#body.active) {
        const end = this.#body.walk(buf, i);
        items.push({ body: i === 0 && end === buf.length ? buf : buf.subarray(i, end) });
        i = end;
        continue;
      }
      if (this.#last) return; // after the request that asked to close: dropped
      // between messages: an empty line before a request line is ignored (RFC 9112 §2.2)
      const b = buf[i]!;
      if (b === 0x0d || b === 0x0a) {
        i++;
        continue;
      }
      const end = buf.indexOf('\r\n\r\n', i, 'latin1');
      if (end === -1) {
        if (buf.length - i > this.#maxHeadBytes) {
          throw new HttpFramingError(431, `request head over ${this.#maxHeadBytes} bytes`);
        }
        checkPartialHead(buf, i);
        this.#partial = i === 0 ? buf : Buffer.from(buf.subarray(i));
        return;
      }
      if (end + 4 - i > this.#maxHeadBytes) {
        throw new HttpFramingError(431, `request head over ${this.#maxHeadBytes} bytes`);
      }
      const head = this.#parseHead(buf.subarray(i, end + 4));
      items.push({ head });
      if (head.closes && !head.upgrade) this.#last = true;
      i = end + 4;
    }
    return;
  }

  #parseHead(raw: Buffer): RequestHead {
    const text = raw.toString('latin1', 0, raw.length - 4);
    // lines found by index, not split(): a request's head is otherwise an array and a string per line
    // more to collect (bench/alloc.ts)
    const firstEnd = lineEnd(text, 0);
    const requestLine = text.slice(0, firstEnd);
    const sp1 = requestLine.indexOf(' ');
    const sp2 = requestLine.lastIndexOf(' ');
    if (sp1 <= 0 || sp2 <= sp1) throw new HttpFramingError(400, 'malformed request line');
    const method = requestLine.slice(0, sp1);
    const target = requestLine.slice(sp1 + 1, sp2);
    const version = requestLine.slice(sp2 + 1);
    if (!TOKEN_RE.test(method)) throw new HttpFramingError(400, 'malformed request method');
    if (!TARGET_RE.test(target)) throw new HttpFramingError(400, 'malformed request target');
    let minor: number;
    if (version === 'HTTP/1.1') minor = 1;
    else if (version === 'HTTP/1.0') minor = 0;
    else throw new HttpFramingError(505, `unsupported protocol version ${JSON.stringify(version.slice(0, 20))}`);
    if (method === 'CONNECT') throw new HttpFramingError(405, 'CONNECT is not supported by tunnels');

    const headers: string[] = [];
    let host: string | undefined;
    let contentLength: number | undefined;
    let transferEncoding: string | undefined;
    let upgradeField = false;
    let connectionUpgrade = false;
    let connectionClose = false;
    let connectionKeepAlive = false;
    let wantsHtml = false;
    let proxyFields = false;
    for (let pos = firstEnd + 2, eol = firstEnd; pos < text.length; pos = eol + 2) {
      eol = lineEnd(text, pos);
      const colon = text.indexOf(':', pos);
      if (colon <= pos || colon > eol) throw new HttpFramingError(400, 'malformed header field (no name)');
      const name = text.slice(pos, colon);
      if (!TOKEN_RE.test(name)) {
        throw new HttpFramingError(400, `malformed header field name ${JSON.stringify(name.slice(0, 40))}`);
      }
      const value = fieldValue(text, colon + 1, eol);
      if (BAD_VALUE_RE.test(value)) throw new HttpFramingError(400, `control character in header ${name}`);
      headers.push(name, value);
      switch (name.length) {
        case 4:
          if (name.toLowerCase() === 'host') {
            if (host !== undefined) throw new HttpFramingError(400, 'more than one Host header');
            host = value;
          }
          break;
        case 6:
          if (name.toLowerCase() === 'accept' && value.includes('text/html')) wantsHtml = true;
          break;
        case 7:
          if (name.toLowerCase() === 'upgrade') upgradeField = true;
          break;
        case 10:
          if (name.toLowerCase() === 'connection') {
            // its options, one pass (a keep-alive request carries this field every time)
            for (const option of value.toLowerCase().split(',')) {
              const o = option.trim();
              if (o === 'upgrade') connectionUpgrade = true;
              else if (o === 'close') connectionClose = true;
              else if (o === 'keep-alive') connectionKeepAlive = true;
            }
          }
          break;
        case 14:
          if (name.toLowerCase() === 'content-length') {
            if (!/^\d{1,15}$/.test(value)) throw new HttpFramingError(400, 'malformed Content-Length');
            const n = Number(value);
            if (contentLength !== undefined && contentLength !== n) {
              throw new HttpFramingError(400, 'conflicting Content-Length headers');
            }
            contentLength = n;
          }
          break;
        case 15: // x-forwarded-for
        case 16: // x-forwarded-host, proxy-connection
        case 19: // proxy-authorization
          if (/^(?:x-forwarded-|proxy-)/i.test(name)) proxyFields = true;
          break;
        case 17: {
          const lower = name.toLowerCase();
          if (lower === 'transfer-encoding') {
            transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
          } else if (lower === 'x-forwarded-proto') proxyFields = true;
          break;
        }
      }
    }
    if (host === undefined && minor === 1) throw new HttpFramingError(400, 'HTTP/1.1 request without Host header');
    let hasBody = false;
    if (transferEncoding !== undefined) {
      if (contentLength !== undefined) {
        throw new HttpFramingError(400, 'both Transfer-Encoding and Content-Length (ambiguous framing)');
      }
      if (minor === 0) throw new HttpFramingError(400, 'Transfer-Encoding in an HTTP/1.0 request');
      if (transferEncoding.trim().toLowerCase() !== 'chunked') {
        throw new HttpFramingError(
          501,
          `unsupported Transfer-Encoding ${JSON.stringify(transferEncoding.slice(0, 40))}`,
        );
      }
      this.#body.start('chunked');
      hasBody = true;
    } else if (contentLength !== undefined && contentLength > 0) {
      this.#body.start('length', contentLength);
      hasBody = true;
    }
    const upgrade = upgradeField && connectionUpgrade;
    if (upgrade) this.#raw = true;
    const closes = connectionClose || (minor === 0 && !connectionKeepAlive);
    return { raw, method, target, minor, headers, host: host ?? '', upgrade, closes, wantsHtml, hasBody, proxyFields };
  }
}

/** What the relay learns from the origin's bytes. */
export interface ResponseEvents {
  /** A response head arrived (interim: a 1xx other than 101; the final response follows). */
  onHead(status: number, interim: boolean): void;
  /** The current response is complete (the next bytes belong to the next response). */
  onComplete(): void;
  /** A protocol switch (101 to an upgrade request): everything after is raw both ways. */
  onSwitch(): void;
}

/**
 * Watches a connection's responses go by. The caller forwards every chunk unchanged; this only
 * tracks boundaries. `methodOf()` gives the method of the request the next response answers (HEAD
 * responses have no body) and whether it asked for an upgrade.
 */
export class ResponseReader {
  readonly #maxHeadBytes: number;
  readonly #events: ResponseEvents;
  readonly #requestOf: () => { method: string; upgrade: boolean } | undefined;
  #partial: Buffer = EMPTY;
  readonly #body = new BodyWalker();
  #raw = false;
  /** Bytes of the current response seen so far (0: nothing of it yet). */
  #seen = 0;

  constructor(
    maxHeadBytes: number,
    events: ResponseEvents,
    requestOf: () => { method: string; upgrade: boolean } | undefined,
  ) {
    this.#maxHeadBytes = maxHeadBytes;
    this.#events = events;
    this.#requestOf = requestOf;
  }

  /** True once any byte of the current (not yet complete) response arrived. */
  get started(): boolean {
    return this.#seen > 0 || this.#raw;
  }

  /** True when the current body runs until the connection closes. */
  get untilClose(): boolean {
    return this.#body.mode === 'until-close';
  }

  /** Observe a chunk of origin bytes; throws HttpFramingError if the response cannot be framed. */
  push(chunk: Buffer): void {
    if (this.#raw) return;
    let buf = chunk;
    if (this.#partial.length) {
      buf = Buffer.concat([this.#partial, chunk]);
      this.#partial = EMPTY;
    }
    let i = 0;
    while (i < buf.length && !this.#raw) {
      if (this.#body.active) {
        const end = this.#body.walk(buf, i);
        this.#seen += end - i;
        i = end;
        if (!this.#body.active) this.#complete();
        continue;
      }
      const end = buf.indexOf('\r\n\r\n', i, 'latin1');
      if (end === -1) {
        if (buf.length - i > this.#maxHeadBytes) {
          throw new HttpFramingError(502, `response head over ${this.#maxHeadBytes} bytes`);
        }
        this.#seen += buf.length - i;
        this.#partial = i === 0 ? buf : Buffer.from(buf.subarray(i));
        return;
      }
      this.#seen += end + 4 - i;
      this.#parseHead(buf.toString('latin1', i, end));
      i = end + 4;
    }
  }

  /** The origin closed its side: completes a close-delimited body. Returns true if it did. */
  end(): boolean {
    if (this.#body.mode === 'until-close') {
      this.#body.start('none');
      this.#complete();
      return true;
    }
    return false;
  }

  #complete(): void {
    this.#seen = 0;
    this.#events.onComplete();
  }

  #parseHead(text: string): void {
    const firstEnd = lineEnd(text, 0);
    const statusLine = text.slice(0, firstEnd);
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
    if (!m) throw new HttpFramingError(502, `malformed status line ${JSON.stringify(statusLine.slice(0, 60))}`);
    const status = Number(m[1]);
    const req = this.#requestOf();
    if (status >= 100 && status < 200 && status !== 101) {
      this.#events.onHead(status, true);
      this.#seen = 0;
      return;
    }
    if (status === 101) {
      this.#raw = true;
      this.#events.onHead(status, false);
      this.#events.onSwitch();
      return;
    }
    let contentLength: number | undefined;
    let chunked = false;
    let transferEncoding = false;
    for (let pos = firstEnd + 2, eol = firstEnd; pos < text.length; pos = eol + 2) {
      eol = lineEnd(text, pos);
      const colon = text.indexOf(':', pos);
      if (colon <= pos || colon > eol) throw new HttpFramingError(502, 'malformed response header field');
      const nameLen = colon - pos;
      if (nameLen === 14 && text.slice(pos, colon).toLowerCase() === 'content-length') {
        const v = fieldValue(text, colon + 1, eol);
        if (!/^\d{1,15}$/.test(v)) throw new HttpFramingError(502, 'malformed Content-Length in response');
        const n = Number(v);
        if (contentLength !== undefined && contentLength !== n) {
          throw new HttpFramingError(502, 'conflicting Content-Length headers in response');
        }
        contentLength = n;
      } else if (nameLen === 17 && text.slice(pos, colon).toLowerCase() === 'transfer-encoding') {
        transferEncoding = true;
        chunked =
          fieldValue(text, colon + 1, eol)
            .toLowerCase()
            .split(',')
            .pop()!
            .trim() === 'chunked';
      }
    }
    this.#events.onHead(status, false);
    const noBody = req?.method === 'HEAD' || status === 204 || status === 304;
    if (noBody) this.#body.start('none');
    else if (transferEncoding) this.#body.start(chunked ? 'chunked' : 'until-close');
    else if (contentLength !== undefined) this.#body.start('length', contentLength);
    else this.#body.start('until-close');
    if (!this.#body.active) this.#complete();
  }
}
