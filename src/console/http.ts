/**
 * The console's HTTP answers: security headers on every response, the session cookie, JSON and
 * error bodies shaped like the admin API's ({"error": {code, message, fix}}).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BurrowError, isBurrowError, RateLimitedError } from '../core/errors.js';
import { sendJson } from '../core/http-json.js';
import { CONSOLE_PATH, SESSION_COOKIE } from './limits.js';

/** Scripts and styles only from the console's own files: no inline code, no other origin. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export function setSecurityHeaders(res: ServerResponse): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
}

/** The session id the browser sent, if any. */
export function sessionIdOf(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/** Set-Cookie for a session (or, with id null, one that clears it). */
export function sessionCookie(id: string | null, secure: boolean): string {
  const attrs = [`Path=${CONSOLE_PATH}`, 'HttpOnly', 'SameSite=Strict'];
  if (secure) attrs.push('Secure');
  if (id === null) return [`${SESSION_COOKIE}=`, 'Max-Age=0', ...attrs].join('; ');
  return [`${SESSION_COOKIE}=${id}`, ...attrs].join('; ');
}

export function sendConsoleJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  setSecurityHeaders(res);
  sendJson(res, status, body, { headers });
}

/** An error answered as the admin API answers it (status, X-Burrow-Error, Retry-After when limited). */
export function sendConsoleError(res: ServerResponse, err: unknown): void {
  const e = isBurrowError(err)
    ? err
    : new BurrowError('BURROW_ERR_BAD_REQUEST', err instanceof Error ? err.message : String(err));
  const headers: Record<string, string> = { 'X-Burrow-Error': e.code };
  if (e instanceof RateLimitedError) headers['Retry-After'] = String(e.retryAfter);
  sendConsoleJson(res, e.status, { error: e.toJSON() }, headers);
}
