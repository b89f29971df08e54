/**
 * Header hygiene both ways for tunely's JSON messages (pure functions).
 * To the agent: no hop-by-hop headers, no host / content-length / expect / transfer-encoding (the
 * agent's fetch() refuses or recomputes them), X-Forwarded-* set by burrow.
 * From the agent: no content-encoding (fetch() already decoded the body), content-length,
 * transfer-encoding, connection, keep-alive or other hop-by-hop headers; burrow frames the body itself.
 */
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { forwardRequestHeaders, HOP_BY_HOP } from '../../server/http/headers.js';
import type { TunelyHeaders } from './wire.js';

/** Request headers never sent to a tunely agent (beyond hop-by-hop ones). */
export const TUNELY_DROPPED_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'expect',
  'transfer-encoding',
]);

/** Agent response headers never sent to the visitor (beyond hop-by-hop ones). */
export const TUNELY_DROPPED_RESPONSE_HEADERS: ReadonlySet<string> = new Set([
  'content-encoding',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
]);

export interface VisitorInfo {
  remoteAddress: string;
  /** 'http' or 'https' as the visitor sees the tunnel. */
  proto: string;
  /** The Host the visitor asked for. */
  host: string;
}

/** The `headers` object of a tunely `request`: lower-case names, repeated headers folded. */
export function requestHeadersForAgent(rawHeaders: readonly string[], visitor: VisitorInfo): TunelyHeaders {
  const list = forwardRequestHeaders(rawHeaders, { ...visitor, trustProxy: false });
  const out: TunelyHeaders = {};
  for (let i = 0; i + 1 < list.length; i += 2) {
    const k = list[i]!.toLowerCase();
    const v = list[i + 1]!;
    if (TUNELY_DROPPED_REQUEST_HEADERS.has(k)) continue;
    const prev = out[k];
    out[k] = prev === undefined ? v : `${prev}${k === 'cookie' ? '; ' : ', '}${v}`;
  }
  return out;
}

/** Headers of an agent's `response` / `stream_start` that may reach the visitor, as [name, value] pairs. */
export function responseHeadersForVisitor(headers: TunelyHeaders): [string, string][] {
  const named = new Set<string>();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== 'connection') continue;
    for (const t of v.split(',')) {
      const tok = t.trim().toLowerCase();
      if (tok) named.add(tok);
    }
  }
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(headers)) {
    const lk = k.toLowerCase();
    if (TUNELY_DROPPED_RESPONSE_HEADERS.has(lk) || HOP_BY_HOP.has(lk) || named.has(lk)) continue;
    try {
      validateHeaderName(k);
      validateHeaderValue(k, v);
    } catch {
      continue;
    }
    out.push([k, v]);
  }
  return out;
}
