/**
 * Why a client could not reach a burrow server, from the connection's error: the one mapping the
 * agent, the pipe client, the admin commands and `burrow connect` share, so each says the same
 * thing (and the same fix) for a refused port, a name that does not resolve, TLS spoken to a plain
 * HTTP server, a certificate not trusted, or a timeout.
 */
import { BurrowError } from './errors.js';
import { isUntrustedCertificate } from './tls-trust.js';

/**
 * A BURROW_ERR_SERVER_UNREACHABLE (or BURROW_ERR_SERVER_CERT_UNTRUSTED) for `err`, raised reaching
 * `endpoint`. `setting` names where the user wrote the address, for the fixes (`--server`, `the URL`).
 * A BurrowError is returned as it is.
 */
export function serverUnreachable(endpoint: string | URL, err: unknown, setting = '--server'): BurrowError {
  if (err instanceof BurrowError) return err;
  const e = err as NodeJS.ErrnoException;
  const u = typeof endpoint === 'string' ? new URL(endpoint) : endpoint;
  const shown = typeof endpoint === 'string' ? endpoint : endpoint.href;
  const secure = u.protocol === 'wss:' || u.protocol === 'https:';
  const where = `${u.hostname}:${u.port || (secure ? 443 : 80)}`;
  const message = e?.message ?? String(err);
  const text = `${e?.code ?? ''} ${message}`;
  const cause = { cause: err };
  if (isUntrustedCertificate(e?.code)) {
    return new BurrowError('BURROW_ERR_SERVER_CERT_UNTRUSTED', `${where}: ${message} (${e.code})`, cause);
  }
  let detail = `${shown}: ${message}`;
  let fix: string | undefined;
  if (e?.code === 'ECONNREFUSED') {
    detail = `nothing listens at ${where} (${shown})`;
    fix = `Start the burrow server there (\`burrow server\`), or point ${setting} at a running one (scheme, host and port).`;
  } else if (e?.code === 'ENOTFOUND' || e?.code === 'EAI_AGAIN') {
    detail = `the host name ${u.hostname} does not resolve`;
    fix = `Check the host name in ${setting}.`;
  } else if (/EPROTO|wrong version number|packet length too long|SSL routines/i.test(text)) {
    detail = `${where} does not speak TLS (${/wrong version number|packet length too long/i.exec(text)?.[0] ?? e?.code ?? 'TLS handshake failed'})`;
    fix = `The server speaks plain HTTP: use http:// or ws:// (not https:// or wss://) in ${setting}, or put TLS in front of it.`;
  } else if (/handshake has timed out|ETIMEDOUT/i.test(text)) {
    detail = `${where} did not answer in time`;
    fix = `Check ${setting} and that no firewall drops the connection; the server may be overloaded.`;
  }
  return new BurrowError('BURROW_ERR_SERVER_UNREACHABLE', detail, fix !== undefined ? { fix, ...cause } : cause);
}
