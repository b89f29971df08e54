/** Header hygiene for proxied HTTP: hop-by-hop removal and X-Forwarded-* (pure functions). */

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus legacy ones; never forwarded as-is. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
]);

export interface ForwardedInfo {
  /** The visitor's address. */
  remoteAddress: string;
  /** 'http' or 'https' as seen by the visitor. */
  proto: string;
  /** The Host the visitor asked for. */
  host: string;
  /** Keep incoming X-Forwarded-* (only behind a trusted proxy). */
  trustProxy: boolean;
}

/**
 * What forwardRequestHeaders keeps of the connection-level headers:
 * - 'none': a proxied request (the server speaks to the origin on its own connection);
 * - 'upgrade': also Connection and Upgrade (a WebSocket upgrade on its own stream);
 * - 'relay': everything but Proxy-* (the relay: one visitor connection is one origin connection,
 *   so Connection, Keep-Alive, TE, Trailer and Expect mean the same to the origin).
 */
export type HopByHopMode = 'none' | 'upgrade' | 'relay';

/**
 * Build the outgoing raw header list [k, v, k, v …] from a request's rawHeaders: drops hop-by-hop
 * headers and those named in Connection (see HopByHopMode), and appends X-Forwarded-For/-Proto/-Host.
 */
export function forwardRequestHeaders(
  rawHeaders: readonly string[],
  fwd: ForwardedInfo,
  mode: HopByHopMode = 'none',
  hostHeader?: string,
): string[] {
  const relay = mode === 'relay';
  const keepUpgrade = mode !== 'none';
  const named = relay ? EMPTY_SET : connectionTokens(rawHeaders);
  const out: string[] = [];
  let xff: string | undefined;
  let xfp: string | undefined;
  let xfh: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const k = rawHeaders[i]!;
    const v = rawHeaders[i + 1]!;
    const lk = k.toLowerCase();
    if (lk === 'x-forwarded-for') {
      if (fwd.trustProxy) xff = xff ? `${xff}, ${v}` : v;
      continue;
    }
    if (lk === 'x-forwarded-proto') {
      if (fwd.trustProxy) xfp ??= v;
      continue;
    }
    if (lk === 'x-forwarded-host') {
      if (fwd.trustProxy) xfh ??= v;
      continue;
    }
    if (keepUpgrade && (lk === 'connection' || lk === 'upgrade')) {
      out.push(k, v);
      continue;
    }
    if (lk === 'host' && hostHeader) {
      out.push(k, hostHeader);
      continue;
    }
    if (relay) {
      if (lk !== 'proxy-authorization' && lk !== 'proxy-connection') out.push(k, v);
      continue;
    }
    if (lk === 'expect') continue; // the server answers 100-continue itself
    if (HOP_BY_HOP.has(lk) || named.has(lk)) continue;
    out.push(k, v);
  }
  out.push('X-Forwarded-For', xff ? `${xff}, ${fwd.remoteAddress}` : fwd.remoteAddress);
  out.push('X-Forwarded-Proto', xfp ?? fwd.proto);
  out.push('X-Forwarded-Host', xfh ?? fwd.host);
  return out;
}

/** Response headers to send the visitor: rawHeaders minus hop-by-hop and Connection-named ones. */
export function forwardResponseHeaders(rawHeaders: readonly string[]): string[] {
  const named = connectionTokens(rawHeaders);
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const k = rawHeaders[i]!;
    const lk = k.toLowerCase();
    if (HOP_BY_HOP.has(lk) || named.has(lk)) continue;
    out.push(k, rawHeaders[i + 1]!);
  }
  return out;
}

/**
 * Trailer fields (rawTrailers) to pass on, as one object: hop-by-hop names left out, a repeated
 * name's values joined with ", " (RFC 9110 §5.3).
 */
export function trailerFields(rawTrailers: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < rawTrailers.length; i += 2) {
    const k = rawTrailers[i]!.toLowerCase();
    if (HOP_BY_HOP.has(k) || k === 'transfer-encoding' || k === 'content-length') continue;
    out[k] = out[k] === undefined ? rawTrailers[i + 1]! : `${out[k]}, ${rawTrailers[i + 1]!}`;
  }
  return out;
}

const EMPTY_SET: ReadonlySet<string> = new Set();

function connectionTokens(rawHeaders: readonly string[]): Set<string> {
  const set = new Set<string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue;
    for (const t of rawHeaders[i + 1]!.split(',')) {
      const tok = t.trim().toLowerCase();
      if (tok && tok !== 'close' && tok !== 'keep-alive' && tok !== 'upgrade') set.add(tok);
    }
  }
  return set;
}

/**
 * Serialise a request head for a raw stream (upgrades, the relay). Drops fields with CR/LF unless
 * `checked` says every field was validated already (the relay's parser refuses them).
 */
export function serializeRequestHead(
  method: string,
  url: string,
  headers: readonly string[],
  minor = 1,
  checked = false,
): Buffer {
  let head = `${method} ${url} HTTP/1.${minor}\r\n`;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const k = headers[i]!;
    const v = headers[i + 1]!;
    if (!checked && (/[\r\n]/.test(k) || /[\r\n]/.test(v))) continue;
    head += `${k}: ${v}\r\n`;
  }
  return Buffer.from(head + '\r\n', 'latin1');
}
