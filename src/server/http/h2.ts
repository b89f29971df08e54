/**
 * HTTP/2 for visitors, wherever burrow terminates TLS itself (--tls-cert or --acme): ALPN offers `h2`
 * beside `http/1.1`, and a connection that chose h2 is handed here instead of to the relay.
 *
 * Each h2 stream is one request on Node's own HTTP server path (the compatibility API's request and
 * response objects go to the same request handler HTTP/1.1 uses): the tunnel proxy turns it into one
 * tunnel stream carrying HTTP/1.1, so agents and local services see HTTP/1.1 exactly as before and
 * nothing changes in the agent protocol. Routing by `:authority` (as `Host`), visitor rules, metrics
 * and the onRequest/onResponse hooks see h2 requests like any other. Flow control is end to end: the
 * h2 stream's window opens as the tunnel stream takes bytes (pipe + backpressure both ways).
 *
 * WebSocket upgrades do not exist in h2 without RFC 8441 (extended CONNECT), which this server does
 * not announce: browsers open a separate HTTP/1.1 connection for WebSockets, which the relay carries.
 *
 * Abuse: nghttp2 (inside Node) bounds rapid stream resets (CVE-2023-44487), CONTINUATION floods
 * (CVE-2024-27983) and unacknowledged SETTINGS; the limits below bound the rest. Each is tested in
 * test/server/http/h2.test.ts.
 */
import http2 from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../../core/logger.js';
import { H2_MAX_CONCURRENT_STREAMS, H2_MAX_SESSION_MEMORY_MB, RELAY_IDLE_TIMEOUT_MS } from '../limits.js';

/** The ALPN protocols a TLS listener offers, h2 first (browsers take the first they support). */
export const ALPN_PROTOCOLS = ['h2', 'http/1.1'];

export interface H2VisitorsOptions {
  /** The server's request handler (the one Node's HTTP/1.1 server calls). */
  readonly handleRequest: (req: IncomingMessage, res: ServerResponse) => void;
  readonly logger: Logger;
  /** The header list limit (SETTINGS_MAX_HEADER_LIST_SIZE): the server's --max-header-bytes. */
  readonly maxHeaderBytes: number;
  /** A connection with no stream open and no frame for this long is closed (default RELAY_IDLE_TIMEOUT_MS). */
  readonly idleTimeoutMs?: number;
}

export interface H2Visitors {
  /** Serve a TLS connection whose ALPN chose `h2`. */
  accept(socket: Socket): void;
  /** Sessions open now. */
  readonly sessions: number;
  /** Send GOAWAY on every session (streams in flight finish); new streams are refused. */
  close(): void;
}

export function createH2Visitors(o: H2VisitorsOptions): H2Visitors {
  const live = new Set<http2.ServerHttp2Session>();
  const server = http2.createServer({
    settings: {
      maxConcurrentStreams: H2_MAX_CONCURRENT_STREAMS,
      maxHeaderListSize: o.maxHeaderBytes,
      enablePush: false,
    },
    maxSessionMemory: H2_MAX_SESSION_MEMORY_MB,
  });
  server.on('session', (session) => {
    live.add(session);
    let open = 0;
    session.on('stream', (stream) => {
      open++;
      stream.once('close', () => open--);
    });
    // quiet with nothing open: a visitor that went away, or one that stopped reading what it asked
    // for (a SETTINGS or PING flood whose ACKs pile up), or one nghttp2 sent GOAWAY for a flood
    // (rapid reset, CONTINUATION) and that does not hang up. A quiet open stream (a long poll, an SSE
    // stream between events) keeps the connection.
    session.setTimeout(o.idleTimeoutMs ?? RELAY_IDLE_TIMEOUT_MS, () => {
      if (open === 0) session.destroy();
    });
    session.once('close', () => live.delete(session));
    session.on('error', (err: NodeJS.ErrnoException) => {
      // a peer's protocol violation (flood, bad frame): nghttp2 already sent GOAWAY; debug only, a
      // stranger must not be able to fill the log
      o.logger.debug({ code: err.code, err: err.message }, 'h2 session error');
    });
  });
  server.on('sessionError', () => undefined);
  server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    o.handleRequest(asHttp1Request(req), asHttp1Response(res));
  });
  return {
    accept(socket) {
      server.emit('connection', socket);
    },
    get sessions() {
      return live.size;
    },
    close() {
      for (const s of live) s.close();
    },
  };
}

/**
 * The compatibility request as the HTTP/1.1 handlers read it: `Host` from `:authority` (when the
 * client sent no `host` field) and rawHeaders without the pseudo-header fields, which are not
 * HTTP/1.1 field names (the tunnel proxy forwards rawHeaders to the agent).
 */
function asHttp1Request(req: http2.Http2ServerRequest): IncomingMessage {
  const raw: string[] = [];
  let host: string | undefined;
  const all = req.rawHeaders;
  for (let i = 0; i + 1 < all.length; i += 2) {
    const k = all[i]!;
    if (k.charCodeAt(0) === 58 /* ':' */) continue;
    if (k === 'host') host = all[i + 1];
    raw.push(k, all[i + 1]!);
  }
  // a body without Content-Length is what chunked framing says in HTTP/1.1 (the proxy then forwards
  // it, chunked, with any trailers)
  if (!req.stream.endAfterHeaders && req.headers['content-length'] === undefined) {
    raw.push('transfer-encoding', 'chunked');
    req.headers['transfer-encoding'] = 'chunked';
  }
  const authority = req.headers[':authority'];
  if (host === undefined && typeof authority === 'string') {
    raw.unshift('host', authority);
    req.headers.host = authority;
  }
  Object.defineProperty(req, 'rawHeaders', { value: raw, enumerable: true });
  return req as unknown as IncomingMessage;
}

/** Fields HTTP/2 forbids (RFC 9113 §8.2.2): the connection's business, which h2 does itself. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

type Fields = http2.OutgoingHttpHeaders | readonly string[] | undefined;

/** Without the connection-specific fields (Node refuses a response that has one). */
function h2Fields(fields: Fields): Fields {
  if (!fields) return fields;
  if (Array.isArray(fields)) {
    const flat = fields as readonly string[];
    const out: string[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      if (!CONNECTION_SPECIFIC.has(flat[i]!.toLowerCase())) out.push(flat[i]!, flat[i + 1]!);
    }
    return out;
  }
  const out: http2.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(fields as http2.OutgoingHttpHeaders)) {
    if (!CONNECTION_SPECIFIC.has(k.toLowerCase())) out[k] = v;
  }
  return out;
}

/**
 * The compatibility response as the HTTP/1.1 handlers use it: connection-specific fields they set
 * (`Connection: close` on shutdown, a forwarded `Transfer-Encoding`) are left out, and a reason
 * phrase is dropped (h2 has none; Node would warn).
 */
function asHttp1Response(res: http2.Http2ServerResponse): ServerResponse {
  const setHeader = res.setHeader.bind(res);
  const writeHead = res.writeHead.bind(res);
  Object.assign(res, {
    setHeader(name: string, value: number | string | readonly string[]) {
      return CONNECTION_SPECIFIC.has(name.toLowerCase()) ? res : setHeader(name, value);
    },
    writeHead(status: number, reason?: string | Fields, fields?: Fields) {
      const f = typeof reason === 'string' ? fields : reason;
      return writeHead(status, h2Fields(f) as http2.OutgoingHttpHeaders);
    },
  });
  return res as unknown as ServerResponse;
}
