/**
 * The plain HTTP port beside automatic TLS (--http-port, default 80 with --acme): it answers the
 * ACME HTTP-01 challenges and redirects every other request to the same host and path over HTTPS
 * (308, so a POST stays a POST).
 */
import http from 'node:http';
import { PLAIN_HTTP_REQUEST_TIMEOUT_MS } from './limits.js';

const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';
const TOKEN_RE = /^[A-Za-z0-9_-]{1,256}$/;

export interface PlainHttpPortOptions {
  /** The key authorization of an open challenge token, or undefined. */
  readonly challengeAnswer: (token: string) => string | undefined;
  /** The public HTTPS port (443 is left out of redirect URLs). */
  readonly httpsPort: () => number;
}

export function createPlainHttpPort(o: PlainHttpPortOptions): http.Server {
  return http.createServer({ requestTimeout: PLAIN_HTTP_REQUEST_TIMEOUT_MS }, (req, res) => {
    const path = req.url ?? '/';
    if (path.startsWith(CHALLENGE_PREFIX)) {
      const token = path.slice(CHALLENGE_PREFIX.length);
      const answer = TOKEN_RE.test(token) ? o.challengeAnswer(token) : undefined;
      if (answer === undefined) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such ACME challenge\n');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(answer);
      return;
    }
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!host || !/^[A-Za-z0-9.-]+$/.test(host) || !path.startsWith('/')) {
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end('this port only redirects to https://<host>/\n');
      return;
    }
    const port = o.httpsPort();
    res.writeHead(308, { Location: `https://${host}${port === 443 ? '' : `:${port}`}${path}`, 'Content-Length': '0' });
    res.end();
  });
}
