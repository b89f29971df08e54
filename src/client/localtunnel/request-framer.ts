/**
 * Follows the HTTP/1.1 requests a localtunnel/pipenet server writes into one pool socket (pure: no
 * sockets). It finds each request's head (so the client can report `request {method, path}` from
 * the request line, once per request), optionally rewrites the Host header (`--local-host`) in
 * heads only, and passes bodies through byte for byte: Content-Length and chunked bodies are
 * skipped by their framing (core/http1.ts's BodyWalker, the relay's), never scanned. Blank lines between requests (the server's keep-alive
 * `\r\n`) are dropped. After an upgrade (WebSocket) or anything it cannot parse, it stops looking
 * and passes the rest through untouched.
 */

export interface RequestLine {
  method: string;
  path: string;
}

import { BodyWalker } from '../../core/http1.js';

/** Largest request head the framer parses; a larger one switches it to pass-through. */
export const MAX_TRACKED_HEAD_BYTES = 64 * 1024;

type State = 'idle' | 'head' | 'body' | 'raw';

const EMPTY: Buffer = Buffer.alloc(0);
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export interface FramerResult {
  /** Bytes to forward to the local service, in order. */
  out: Buffer[];
  /** Requests whose head completed in this chunk. */
  requests: RequestLine[];
}

export class RequestFramer {
  readonly #rewriteHost: string | undefined;
  #state: State = 'idle';
  #head: Buffer = EMPTY;
  readonly #body = new BodyWalker();

  constructor(options: { rewriteHost?: string | undefined } = {}) {
    this.#rewriteHost = options.rewriteHost;
  }

  /** True once the framer stopped tracking (upgrade or unparseable input). */
  get passThrough(): boolean {
    return this.#state === 'raw';
  }

  /** True between requests (no request head or body is partially received). */
  get betweenRequests(): boolean {
    return this.#state === 'idle';
  }

  push(chunk: Buffer): FramerResult {
    const out: Buffer[] = [];
    const requests: RequestLine[] = [];
    let i = 0;
    while (i < chunk.length) {
      switch (this.#state) {
        case 'raw':
          out.push(i === 0 ? chunk : chunk.subarray(i));
          return { out, requests };
        case 'idle': {
          const b = chunk[i]!;
          if (b === 0x0d || b === 0x0a) {
            i++;
            break;
          }
          this.#state = 'head';
          this.#head = EMPTY;
          break;
        }
        case 'head': {
          const old = this.#head.length;
          const buf = old ? Buffer.concat([this.#head, chunk.subarray(i)]) : chunk.subarray(i);
          const idx = buf.indexOf('\r\n\r\n', Math.max(0, old - 3));
          if (idx === -1) {
            if (buf.length > MAX_TRACKED_HEAD_BYTES) {
              out.push(buf);
              this.#head = EMPTY;
              this.#state = 'raw';
            } else this.#head = buf;
            return { out, requests };
          }
          const head = buf.subarray(0, idx + 4);
          i += idx + 4 - old;
          this.#head = EMPTY;
          const parsed = this.#parseHead(head);
          if (!parsed) {
            out.push(head);
            this.#state = 'raw';
            break;
          }
          out.push(parsed.bytes);
          requests.push(parsed.line);
          break;
        }
        case 'body': {
          let end: number;
          try {
            end = this.#body.walk(chunk, i);
          } catch {
            // a body it cannot follow: stop tracking, pass the rest through untouched
            out.push(chunk.subarray(i));
            this.#state = 'raw';
            return { out, requests };
          }
          out.push(chunk.subarray(i, end));
          i = end;
          if (!this.#body.active) this.#state = 'idle';
          break;
        }
      }
    }
    return { out, requests };
  }

  #parseHead(head: Buffer): { bytes: Buffer; line: RequestLine } | undefined {
    const text = head.toString('latin1');
    const lines = text.slice(0, -4).split('\r\n');
    const m = /^([^ ]+) ([^ ]+) HTTP\/(\d)\.(\d)$/.exec(lines[0] ?? '');
    if (!m || !TOKEN_RE.test(m[1]!)) return undefined;
    const method = m[1]!;
    let contentLength: number | undefined;
    let chunked = false;
    let upgrade = false;
    let connectionUpgrade = false;
    let rewritten = false;
    for (let k = 1; k < lines.length; k++) {
      const l = lines[k]!;
      const colon = l.indexOf(':');
      if (colon <= 0) return undefined;
      const name = l.slice(0, colon).trim().toLowerCase();
      const value = l.slice(colon + 1).trim();
      if (name === 'content-length') {
        if (!/^\d+$/.test(value)) return undefined;
        const n = Number(value);
        if (contentLength !== undefined && contentLength !== n) return undefined;
        contentLength = n;
      } else if (name === 'transfer-encoding') {
        chunked = value.toLowerCase().split(',').pop()!.trim() === 'chunked';
      } else if (name === 'upgrade') {
        upgrade = true;
      } else if (name === 'connection') {
        connectionUpgrade ||= value
          .toLowerCase()
          .split(',')
          .some((t) => t.trim() === 'upgrade');
      } else if (name === 'host' && this.#rewriteHost !== undefined) {
        lines[k] = `${l.slice(0, colon)}: ${this.#rewriteHost}`;
        rewritten = true;
      }
    }
    if (method === 'CONNECT' || (upgrade && connectionUpgrade)) this.#state = 'raw';
    else if (chunked) {
      this.#body.start('chunked');
      this.#state = 'body';
    } else if (contentLength !== undefined && contentLength > 0) {
      this.#body.start('length', contentLength);
      this.#state = 'body';
    } else this.#state = 'idle';
    const bytes = rewritten ? Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1') : head;
    return { bytes, line: { method, path: m[2]! } };
  }
}
