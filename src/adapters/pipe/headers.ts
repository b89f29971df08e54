/**
 * Which sender headers reach receivers, and how they are cleaned (docs/pipe.md):
 * Content-Type (dangerous types → text/plain, parameters kept), Content-Length, Content-Disposition,
 * every X-Piping line in order, X-Hoody-Pipe. Values are CRLF/control-stripped and size-checked.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Req } from './http.js';

/** MIME types a browser would run or render as active content: served as text/plain instead. */
const DANGEROUS_TYPES = new Set([
  'text/html',
  'application/xhtml+xml',
  'image/svg+xml',
  'text/javascript',
  'application/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'text/ecmascript',
  'text/jscript',
  'application/xml',
  'text/xml',
  'text/xsl',
  'application/xslt+xml',
  'multipart/x-mixed-replace',
]);

export function isDangerousType(mime: string): boolean {
  const m = mime.trim().toLowerCase();
  return DANGEROUS_TYPES.has(m) || m.endsWith('+xml') || m.endsWith('/xml') || m.includes('javascript');
}

/** Removes CR, LF, NUL and other control characters (tab kept). */
export function stripControl(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, '');
}

/** Sender Content-Type as receivers get it: dangerous types become text/plain, parameters kept. */
export function sanitizeContentType(value: string): string {
  const clean = stripControl(value);
  const m = /^\s*([^;]*)(.*)$/s.exec(clean);
  if (!m) return 'text/plain';
  const mime = m[1] ?? '';
  const params = m[2] ?? '';
  return isDangerousType(mime) ? `text/plain${params}` : clean;
}

/** What a sender asks receivers to see. */
export interface ForwardHeaders {
  contentType?: string;
  contentLength?: string;
  contentDisposition?: string;
  xPiping: string[];
  xHoodyPipe: string[];
}

/** All values of one header, in the order the client sent them. */
function allValues(req: Req, lowerName: string): string[] {
  const out: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] ?? '').toLowerCase() === lowerName) out.push(raw[i + 1] ?? '');
  }
  return out;
}

const NAMES: Record<string, string> = {
  'content-type': 'Content-Type',
  'content-disposition': 'Content-Disposition',
  'x-piping': 'X-Piping',
  'x-hoody-pipe': 'X-Hoody-Pipe',
};

/** Collects the sender's forwarded headers; returns an `[ERROR]` message when one is too large. */
export function collectForwardHeaders(req: Req, maxBytes: number): ForwardHeaders | string {
  const lists: Record<string, string[]> = {};
  for (const lower of Object.keys(NAMES)) {
    const values = allValues(req, lower);
    for (const v of values) {
      if (Buffer.byteLength(v) > maxBytes) return `Header ${NAMES[lower]} is too large (max ${maxBytes} bytes).`;
    }
    lists[lower] = values.map(stripControl);
  }
  const out: ForwardHeaders = { xPiping: lists['x-piping'] ?? [], xHoodyPipe: lists['x-hoody-pipe'] ?? [] };
  const ct = lists['content-type']?.[0];
  if (ct !== undefined) out.contentType = ct;
  const cd = lists['content-disposition']?.[0];
  if (cd !== undefined) out.contentDisposition = cd;
  const cl = req.headers['content-length'];
  if (typeof cl === 'string' && /^\d+$/.test(cl.trim())) out.contentLength = cl.trim();
  return out;
}

/** The headers every receiver gets, given what the sender forwards and this receiver's disposition. */
export function receiverHeaders(fwd: ForwardHeaders, disposition: string | undefined): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = {};
  const exposed: string[] = [];
  if (fwd.contentType !== undefined) h['Content-Type'] = sanitizeContentType(fwd.contentType);
  if (fwd.contentLength !== undefined) h['Content-Length'] = fwd.contentLength;
  if (disposition !== undefined) {
    h['Content-Disposition'] = disposition;
    exposed.push('Content-Disposition');
  }
  if (fwd.xPiping.length > 0) {
    h['X-Piping'] = fwd.xPiping;
    exposed.push('X-Piping');
  }
  if (fwd.xHoodyPipe.length > 0) {
    h['X-Hoody-Pipe'] = fwd.xHoodyPipe.length === 1 ? fwd.xHoodyPipe[0] : fwd.xHoodyPipe;
    exposed.push('X-Hoody-Pipe');
  }
  h['Access-Control-Allow-Origin'] = '*';
  if (exposed.length > 0) h['Access-Control-Expose-Headers'] = exposed.join(', ');
  h['X-Robots-Tag'] = 'none';
  h['X-Content-Type-Options'] = 'nosniff';
  return h;
}
