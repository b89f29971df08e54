/** The JSON the inspector's API answers with (docs/inspector.md): a summary per request and its detail. */
import zlib from 'node:zlib';
import type { Capture } from './capture.js';
import { headerValue, type RecordedExchange, type ExchangeState, type Header } from './exchange.js';
import { MAX_DECODED_BODY_BYTES } from './limits.js';

export interface ExchangeSummary {
  id: number;
  tunnel: string | null;
  method: string;
  path: string;
  /** null while no response head has come. */
  status: number | null;
  /** ms to the response's end; null while it runs. */
  durationMs: number | null;
  /** The response body's size in bytes (decoded from chunked framing, as sent). */
  size: number;
  /** ISO time the request started. */
  time: string;
  clientIp: string | null;
  state: ExchangeState;
  /** `websocket` (or another protocol) after a 101. */
  upgrade: string | null;
  /** The request this one replays. */
  replayOf: number | null;
}

export interface BodyView {
  /** The body's full size in bytes. */
  size: number;
  /** Only the first `bytes.length` were kept (the inspector's body limit). */
  truncated: boolean;
  /** How `data` is written: text as it is, anything else in base64. */
  encoding: 'utf8' | 'base64';
  data: string;
  contentType: string | null;
  /** The body was sent gzip/deflate/br-compressed and `data` is what it decompresses to. */
  decoded: string | null;
}

export interface ExchangeDetail extends ExchangeSummary {
  target: string;
  httpVersion: string;
  reason: string;
  requestHeaders: Header[];
  responseHeaders: Header[];
  requestBody: BodyView;
  responseBody: BodyView;
  /** ms from the start to the response head. */
  headMs: number | null;
  websocket: {
    messages: {
      from: 'client' | 'server';
      atMs: number;
      type: string;
      size: number;
      compressed: boolean;
      body: BodyView;
    }[];
    dropped: number;
  } | null;
  sse: { events: { atMs: number; event: string; data: string; id: string | null }[]; dropped: number } | null;
}

const round = (ms: number | undefined): number | null => (ms === undefined ? null : Math.round(ms * 10) / 10);

export function summaryOf(ex: RecordedExchange): ExchangeSummary {
  return {
    id: ex.id,
    tunnel: ex.origin.tunnel ?? null,
    method: ex.method,
    path: ex.path,
    status: ex.status ?? null,
    durationMs: round(ex.durationMs),
    size: ex.responseBody.size,
    time: new Date(ex.startedAt).toISOString(),
    clientIp: ex.clientIp ?? null,
    state: ex.state,
    upgrade: ex.upgrade ?? null,
    replayOf: ex.origin.replayOf ?? null,
  };
}

const OPCODES: Record<number, string> = {
  0: 'continuation',
  1: 'text',
  2: 'binary',
  8: 'close',
  9: 'ping',
  10: 'pong',
};

export function detailOf(ex: RecordedExchange): ExchangeDetail {
  const sseType = headerValue(ex.responseHeaders, 'content-type');
  const isSse = ex.sse.length > 0 || (sseType !== undefined && /^text\/event-stream\b/i.test(sseType));
  return {
    ...summaryOf(ex),
    target: ex.origin.target,
    httpVersion: ex.httpVersion,
    reason: ex.reason,
    requestHeaders: ex.requestHeaders,
    responseHeaders: ex.responseHeaders,
    requestBody: bodyView(ex.requestBody.bytes(), ex.requestBody, ex.requestHeaders),
    responseBody: bodyView(ex.responseBody.bytes(), ex.responseBody, ex.responseHeaders),
    headMs: round(ex.headMs),
    websocket:
      ex.upgrade === 'websocket'
        ? {
            messages: ex.ws.map((m) => ({
              from: m.from,
              atMs: Math.round(m.atMs),
              type: OPCODES[m.opcode] ?? `opcode ${m.opcode}`,
              size: m.size,
              compressed: m.compressed,
              body: bodyView(m.data, { size: m.size, truncated: m.size > m.data.length }, []),
            })),
            dropped: ex.wsDropped,
          }
        : null,
    sse: isSse
      ? {
          events: ex.sse.map((e) => ({ atMs: Math.round(e.atMs), event: e.event, data: e.data, id: e.id ?? null })),
          dropped: ex.sseDropped,
        }
      : null,
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes as text when they are UTF-8 (a cut character at the end of a truncated body allowed). */
function asText(bytes: Buffer, truncated: boolean): string | undefined {
  for (let cut = 0; cut <= (truncated ? 3 : 0) && cut <= bytes.length; cut++) {
    try {
      const text = utf8.decode(bytes.subarray(0, bytes.length - cut));
      // control characters other than tab, CR, LF mean binary, even when they are valid UTF-8
      return hasControls(text) ? undefined : text;
    } catch {
      // try one byte shorter
    }
  }
  return undefined;
}

function hasControls(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) return true;
  }
  return false;
}

function decompress(bytes: Buffer, coding: string): Buffer | undefined {
  const o = { maxOutputLength: MAX_DECODED_BODY_BYTES };
  try {
    if (coding === 'gzip' || coding === 'x-gzip') return zlib.gunzipSync(bytes, o);
    if (coding === 'deflate') return zlib.inflateSync(bytes, o);
    if (coding === 'br') return zlib.brotliDecompressSync(bytes, o);
  } catch {
    return undefined;
  }
  return undefined;
}

export function bodyView(raw: Buffer, c: Pick<Capture, 'size' | 'truncated'>, headers: readonly Header[]): BodyView {
  let bytes = raw;
  let decoded: string | null = null;
  const coding = headerValue(headers, 'content-encoding')?.trim().toLowerCase();
  if (coding && coding !== 'identity' && !c.truncated && bytes.length) {
    const out = decompress(bytes, coding);
    if (out) {
      bytes = out;
      decoded = coding;
    }
  }
  const text = bytes.length === 0 ? '' : asText(bytes, c.truncated && decoded === null);
  return {
    size: c.size,
    truncated: c.truncated,
    encoding: text === undefined ? 'base64' : 'utf8',
    data: text ?? bytes.toString('base64'),
    contentType: headerValue(headers, 'content-type') ?? null,
    decoded,
  };
}
