import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { CLOSE_HANDSHAKE_GRACE_MS } from '../../core/limits.js';
import { BurrowError, isBurrowError, type ErrorCode } from '../../core/errors.js';
import { HttpFramingError } from '../../core/http1.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Normalise anything thrown into a BurrowError (unknown errors become ORIGIN_ERROR). */
export function asBurrowError(err: unknown): BurrowError {
  if (isBurrowError(err)) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  if (e?.code === 'ERR_HTTP_HEADERS_TOO_LARGE' || e?.code === 'HPE_HEADER_OVERFLOW') {
    return new BurrowError('BURROW_ERR_HEADERS_TOO_LARGE');
  }
  return new BurrowError('BURROW_ERR_ORIGIN_ERROR', e?.message ?? String(err), { cause: err });
}

/**
 * An exception a handler did not expect: a BurrowError says what it is; anything else is a bug
 * inside burrow (500 BURROW_ERR_INTERNAL), never blamed on the visitor's service. The caller logs
 * the original error; the answer carries no internals.
 */
export function internalError(err: unknown): BurrowError {
  if (isBurrowError(err)) return err;
  return new BurrowError('BURROW_ERR_INTERNAL', 'an unexpected error inside burrow; the server log has the details', {
    cause: err,
  });
}

/**
 * What a visitor is told when a tunnel's stream fails on the agent's side (a RESET, a frame the
 * stream cannot take). The agent reports the origin's faults with 5xx codes, which pass as they
 * are; anything else it sends (an unknown code, a 4xx, a malformed RESET) is the agent's fault, not
 * the visitor's: 502 BURROW_ERR_AGENT_FAULT, and a warning with the agent's own words for the log.
 */
export function agentFault(err: unknown, log: (agentError: { code: string; message: string }) => void): BurrowError {
  const e = asBurrowError(err);
  if (e.status >= 500) return e;
  log({ code: e.code, message: e.message });
  return new BurrowError('BURROW_ERR_AGENT_FAULT', `the tunnel client reset the stream with ${e.code}`);
}

function wantsHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? '';
  return accept.includes('text/html');
}

export function errorBody(err: BurrowError, html: boolean): { type: string; body: string } {
  const title = `${err.status} ${STATUS_CODES[err.status] ?? ''}`.trim();
  if (html) {
    const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · burrow</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}
code{background:#f3f3f3;padding:.1rem .3rem;border-radius:3px}small{color:#777}</style></head>
<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(err.message)}</p><p><strong>How to fix:</strong> ${escapeHtml(err.fix)}</p>
<p><small>burrow · <code>${err.code}</code></small></p></body></html>
`;
    return { type: 'text/html; charset=utf-8', body };
  }
  return { type: 'application/json; charset=utf-8', body: JSON.stringify({ error: err.toJSON() }) + '\n' };
}

/** Answer an error: HTML for browsers, JSON for tools. Safe to call after headers were sent (then it aborts). */
export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  extraHeaders: Record<string, string> = {},
): void {
  const e = asBurrowError(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { type, body } = errorBody(e, wantsHtml(req));
  res.writeHead(e.status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Burrow-Error': e.code,
    ...extraHeaders,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * A whole error response as raw bytes, for sockets no ServerResponse owns (upgrades, the relay):
 * HTML or JSON like sendError, always `Connection: close` (the connection ends after it).
 */
export function errorResponseBytes(
  err: unknown,
  options: { html?: boolean; head?: boolean; extraHeaders?: Record<string, string> } = {},
): Buffer {
  const e = asBurrowError(err);
  const { type, body } = errorBody(e, options.html ?? false);
  let head = `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\nX-Burrow-Error: ${e.code}\r\n`;
  for (const [k, v] of Object.entries(options.extraHeaders ?? {})) head += `${k}: ${v}\r\n`;
  return Buffer.from(head + '\r\n' + (options.head ? '' : body), 'utf8');
}

/** Reject an upgrade request with a real HTTP response, then close the socket. */
export function rejectUpgrade(socket: Duplex, err: unknown, extraHeaders: Record<string, string> = {}): void {
  if (socket.writable) socket.end(errorResponseBytes(err, { extraHeaders }));
  socket.once('error', () => {});
  setTimeout(() => socket.destroy(), CLOSE_HANDSHAKE_GRACE_MS).unref();
}

/** The 408 answer when a request head is not whole in time (slowloris), on either parser. */
export function headTimeout(ms: number): BurrowError {
  return new BurrowError(
    'BURROW_ERR_REQUEST_TIMEOUT',
    `the request head was not complete within ${ms} ms of its first byte`,
  );
}

/** Visitor framing errors by status: the error-table code each is answered with. */
const FRAMING_CODES: Readonly<Record<number, ErrorCode>> = {
  405: 'BURROW_ERR_METHOD_NOT_ALLOWED',
  431: 'BURROW_ERR_HEADERS_TOO_LARGE',
  501: 'BURROW_ERR_TRANSFER_ENCODING',
  505: 'BURROW_ERR_HTTP_VERSION',
};

/** A framing error of burrow's own parser (core/http1.ts, the relay's), as the visitor is answered. */
export function framingError(e: HttpFramingError): BurrowError {
  const code = FRAMING_CODES[e.status];
  return code
    ? new BurrowError(code, e.message)
    : new BurrowError('BURROW_ERR_BAD_REQUEST', `the request could not be parsed as HTTP/1.1: ${e.message}`);
}

/**
 * A parse error of Node's HTTP server (its `clientError` event), answered as the relay's parser
 * answers the same bytes: the same status and code whichever parser met the request first.
 */
export function parserError(
  err: NodeJS.ErrnoException,
  limits: { maxHeaderBytes: number; headTimeoutMs: number },
): BurrowError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return framingError(new HttpFramingError(431, `request head over ${limits.maxHeaderBytes} bytes`));
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return headTimeout(limits.headTimeoutMs);
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return framingError(new HttpFramingError(501, 'unsupported Transfer-Encoding (only chunked is accepted)'));
    case 'HPE_INVALID_VERSION':
      return framingError(new HttpFramingError(505, 'unsupported protocol version'));
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return framingError(new HttpFramingError(400, 'both Transfer-Encoding and Content-Length (ambiguous framing)'));
    default:
      return framingError(new HttpFramingError(400, `${err.code ?? 'parse error'}`));
  }
}
