/**
 * The localtunnel / pipenet handshake and shared-port id line, as pure functions (no sockets).
 *
 * Handshake: `GET /?new` (random name) or `GET /<name>` on the server's own host answers JSON
 * with the pool port and size under both clients' spellings. Shared tunnel port: each pool socket
 * first sends the ASCII line `<id>\n`.
 */
import { RESERVED_NAMES } from '../../server/names.js';
import { ID_LINE_MAX_BYTES } from './limits.js';

export type HandshakeRequest = { kind: 'new' } | { kind: 'name'; name: string };

/** Longest path segment taken as a requested name (longer ones are answered as invalid names). */
const MAX_SEGMENT = 256;

/**
 * Which handshake a request on the server's own host is, or undefined when it is not one (then
 * other edges and the server's own routes get it). Not claimed: `/` without `?new`, paths with more
 * than one segment, segments with a dot (favicon.ico, robots.txt) and the server's reserved names
 * (other edges such as /admin live there).
 */
export function parseHandshake(method: string | undefined, url: URL): HandshakeRequest | undefined {
  if (method !== 'GET' && method !== 'POST') return undefined;
  const p = url.pathname;
  if (p === '/') return url.searchParams.has('new') ? { kind: 'new' } : undefined;
  const m = /^\/([^/]+)$/.exec(p);
  if (!m) return undefined;
  let seg: string;
  try {
    seg = decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
  if (seg.includes('.') || seg.length > MAX_SEGMENT) return undefined;
  if (RESERVED_NAMES.has(seg.toLowerCase())) return undefined;
  return { kind: 'name', name: seg };
}

export interface HandshakeReply {
  id: string;
  url: string;
  port: number;
  /** Pool size as localtunnel's `lt` reads it. */
  max_conn_count: number;
  /** Pool size as pipenet reads it. */
  maxConnCount: number;
  ip?: string;
  cached_url?: string;
  cachedUrl?: string;
  sharedTunnel?: true;
}

export function buildHandshakeReply(o: {
  name: string;
  url: string;
  port: number;
  maxSockets: number;
  ip?: string | undefined;
  cachedUrl?: string | undefined;
  shared: boolean;
}): HandshakeReply {
  const reply: HandshakeReply = {
    id: o.name,
    url: o.url,
    port: o.port,
    max_conn_count: o.maxSockets,
    maxConnCount: o.maxSockets,
  };
  if (o.ip) reply.ip = o.ip;
  if (o.cachedUrl) {
    reply.cached_url = o.cachedUrl;
    reply.cachedUrl = o.cachedUrl;
  }
  if (o.shared) reply.sharedTunnel = true;
  return reply;
}

export type IdLineResult =
  { state: 'more' } | { state: 'done'; id: string; rest: Buffer } | { state: 'error'; reason: string };

/** Reads the `<id>\n` line a pool socket sends first on the shared tunnel port (bounded). */
export class IdLineReader {
  readonly #max: number;
  #buf: Buffer = Buffer.alloc(0);
  #done = false;

  constructor(maxBytes: number = ID_LINE_MAX_BYTES) {
    this.#max = maxBytes;
  }

  push(chunk: Buffer): IdLineResult {
    if (this.#done) return { state: 'error', reason: 'id line already read' };
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    const nl = this.#buf.indexOf(0x0a);
    if (nl === -1 || nl > this.#max) {
      if (this.#buf.length > this.#max) {
        this.#done = true;
        return { state: 'error', reason: `no newline within ${this.#max} bytes` };
      }
      return { state: 'more' };
    }
    this.#done = true;
    const id = this.#buf.subarray(0, nl).toString('latin1').trim();
    const rest = this.#buf.subarray(nl + 1);
    if (!/^[A-Za-z0-9-]{1,63}$/.test(id)) return { state: 'error', reason: 'malformed id line' };
    return { state: 'done', id: id.toLowerCase(), rest };
  }
}
