/**
 * The bearer token an `Authorization` header carries (RFC 6750 §2.1 scheme, case-insensitive):
 * everything after `Bearer` and its spaces, trimmed. Used wherever a token is presented over
 * HTTP (the tcp-ws edge, the localtunnel handshake, pipe transfers). Visitor access rules and the
 * admin API parse the header more strictly (token68 only, bounded) in src/auth/authorization.ts.
 */
export function bearerToken(header: string | readonly string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^bearer[ \t]+(.*)$/i.exec(header.trim());
  return match ? (match[1] ?? '').trim() : undefined;
}
