import type { IncomingMessage } from 'node:http';
import { bearerToken } from '../core/bearer.js';

/**
 * The token an HTTP request presents for edges whose clients cannot speak burrow's HELLO
 * (localtunnel handshakes, pipe transfers): `Authorization: Bearer …`, `X-Burrow-Token`, or `?token=`.
 */
export function presentedToken(req: IncomingMessage): string | undefined {
  const bearer = bearerToken(req.headers.authorization);
  if (bearer !== undefined) return bearer;
  const h = req.headers['x-burrow-token'];
  if (typeof h === 'string' && h) return h;
  try {
    return new URL(req.url ?? '/', 'http://burrow.invalid').searchParams.get('token') ?? undefined;
  } catch {
    return undefined;
  }
}
