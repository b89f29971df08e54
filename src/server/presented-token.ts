import type { IncomingMessage } from 'node:http';

/**
 * The token an HTTP request presents for edges whose clients cannot speak burrow's HELLO
 * (localtunnel handshakes, pipe transfers): `Authorization: Bearer …`, `X-Burrow-Token`, or `?token=`.
 */
export function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  const h = req.headers['x-burrow-token'];
  if (typeof h === 'string' && h) return h;
  try {
    return new URL(req.url ?? '/', 'http://burrow.invalid').searchParams.get('token') ?? undefined;
  } catch {
    return undefined;
  }
}
