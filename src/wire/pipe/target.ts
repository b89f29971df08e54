/**
 * Where a request points: the pipe path (the rendezvous key, identical for `/x` and
 * `/api/v1/pipe/x`), its query, and the base the pages link against. Pure: no sockets.
 */

/** The prefix under which the server's own host serves the pipe (`/api/v1/pipe/<path>` ≡ `/<path>`). */
export const PIPE_API_PREFIX = '/api/v1/pipe';

export interface PipeTarget {
  /** Normalised path with its leading slash, e.g. `/x`; the rendezvous key. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** True when the request came in under PIPE_API_PREFIX. */
  readonly prefixed: boolean;
  /** URL prefix pages use for links and sends: `/` or `/api/v1/pipe/`. */
  readonly base: string;
}

export interface TargetError {
  readonly status: 400 | 414;
  readonly message: string;
}

/** Matches `%00`–`%1F`, `%7F` and raw control characters. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]|%(?:[01][0-9a-f]|7f)/i;
const BACKSLASH = /\\|%5c/i;
const ENCODED_SLASH = /%2f/i;

/** True when `pathname` (already decoded of nothing) is under the API prefix. */
export function isPrefixed(pathname: string): boolean {
  return pathname === PIPE_API_PREFIX || pathname.startsWith(`${PIPE_API_PREFIX}/`);
}

export function parseTarget(rawUrl: string, maxPathLength: number): PipeTarget | TargetError {
  const q = rawUrl.indexOf('?');
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
  if (CONTROL.test(rawPath)) return { status: 400, message: 'Invalid path: control characters are not allowed.' };
  if (BACKSLASH.test(rawPath)) return { status: 400, message: 'Invalid path: backslashes are not allowed.' };
  if (ENCODED_SLASH.test(rawPath)) return { status: 400, message: 'Invalid path: encoded slashes are not allowed.' };
  let url: URL;
  try {
    url = new URL(`a://h${rawUrl.startsWith('/') ? '' : '/'}${rawUrl}`);
  } catch {
    return { status: 400, message: 'Invalid path.' };
  }
  let path = canonicalPath(url.pathname || '/');
  const prefixed = isPrefixed(path);
  if (prefixed) path = path.slice(PIPE_API_PREFIX.length) || '/';
  if (path.length - 1 > maxPathLength) {
    return { status: 414, message: `Path too long (max ${maxPathLength} characters).` };
  }
  return { path, query: url.searchParams, prefixed, base: prefixed ? `${PIPE_API_PREFIX}/` : '/' };
}

/**
 * One spelling per pipe: percent-encoded letters, digits, `-`, `_` and `~` are decoded (RFC 3986
 * §6.2.2.2) and other escapes upper-cased, so `/%68elp` is `/help` and `/a%2a` is `/a%2A`.
 */
export function canonicalPath(path: string): string {
  return path.replace(/%[0-9a-f]{2}/gi, (esc) => {
    const ch = String.fromCharCode(Number.parseInt(esc.slice(1), 16));
    return /^[A-Za-z0-9\-_~]$/.test(ch) ? ch : esc.toUpperCase();
  });
}

export function isTargetError(t: PipeTarget | TargetError): t is TargetError {
  return 'status' in t;
}

/** Parses `?n=` (default 1). Returns the number or the `[ERROR]` message. */
export function parseReceiverCount(query: URLSearchParams, max: number): number | string {
  const raw = query.get('n');
  if (raw === null) return 1;
  if (!/^\s*[-+]?\d+\s*$/.test(raw)) return 'Invalid "n" query parameter';
  const n = Number.parseInt(raw, 10);
  if (n <= 0) return `n should > 0, but n = ${n}.`;
  if (n > max) return `n should be at most ${max}, but n = ${n}.`;
  return n;
}

/**
 * A boolean query flag (`?download`, `?progress`, `?video`): undefined when absent, false for
 * `false`/`no`/`0`, true otherwise (bare flag, `true`, `yes`, `1`, any other value).
 */
export function queryFlag(query: URLSearchParams, name: string): boolean | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  return !['false', 'no', '0'].includes(v.trim().toLowerCase());
}
