import { MAX_AUTHORIZATION_LENGTH } from './limits.js';

export type Credentials =
  | { readonly scheme: 'basic'; readonly user: string; readonly password: string }
  | { readonly scheme: 'bearer'; readonly token: string };

/**
 * Parse an Authorization header (RFC 7617 Basic, RFC 6750 Bearer). The scheme is
 * case-insensitive; Basic's user is everything before the first colon, the password everything
 * after (it may contain colons). Anything malformed, empty or oversized → undefined. Stricter than
 * core/bearer.ts on purpose (a visitor rule or the admin token is only ever a token68 value); edges
 * that merely pick up a presented token use core's `bearerToken`.
 */
export function parseAuthorization(header: string | readonly string[] | undefined): Credentials | undefined {
  if (header === undefined || typeof header !== 'string') return undefined;
  if (header.length === 0 || header.length > MAX_AUTHORIZATION_LENGTH) return undefined;
  const match = /^[ \t]*([A-Za-z]+)[ \t]+(\S+)[ \t]*$/.exec(header);
  if (!match) return undefined;
  const scheme = (match[1] ?? '').toLowerCase();
  const value = match[2] ?? '';
  if (scheme === 'bearer') {
    // token68 characters only (RFC 6750 §2.1).
    return /^[A-Za-z0-9\-._~+/]+=*$/.test(value) ? { scheme: 'bearer', token: value } : undefined;
  }
  if (scheme === 'basic') {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 === 1) return undefined;
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return undefined;
    return { scheme: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

/** The header value a client sends for Basic credentials. */
export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}
