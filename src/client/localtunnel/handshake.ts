/** The localtunnel/pipenet handshake from the client side: `GET <host>/?new` or `GET <host>/<name>`. */
import http from 'node:http';
import https from 'node:https';
import { BurrowError } from '../../core/errors.js';

/** How long the handshake request may take, in ms (pipenet uses 30 s). */
export const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Largest handshake answer read, in bytes. */
export const MAX_HANDSHAKE_BYTES = 64 * 1024;

export interface LocaltunnelAssignment {
  id: string;
  url: string;
  port: number;
  maxConn: number;
  ip: string | undefined;
  cachedUrl: string | undefined;
  sharedTunnel: boolean;
}

/** A handshake failure. `final` = the server refused (4xx): retrying will not help. */
export class HandshakeError extends Error {
  readonly status: number | undefined;
  readonly final: boolean;
  override readonly cause: unknown;
  constructor(message: string, o: { status?: number | undefined; final: boolean; cause?: unknown }) {
    super(message);
    this.name = 'HandshakeError';
    this.status = o.status;
    this.final = o.final;
    this.cause = o.cause;
  }
}

export function handshakeUrl(host: string, subdomain: string | undefined): URL {
  let base: URL;
  try {
    base = new URL(host);
  } catch {
    throw new BurrowError(
      'BURROW_ERR_BAD_REQUEST',
      `server "${host}" is not a URL (use http://host:port or https://host)`,
    );
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new BurrowError('BURROW_ERR_BAD_REQUEST', `server "${host}" must be an http:// or https:// URL`);
  }
  const prefix = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`;
  return new URL(subdomain ? `${prefix}${encodeURIComponent(subdomain)}` : `${prefix}?new`, base.origin);
}

/** Parse a handshake answer (both clients' spellings). Throws HandshakeError on a bad answer. */
export function parseTunnelInfo(body: unknown): LocaltunnelAssignment {
  const b = body as Record<string, unknown> | null;
  if (!b || typeof b !== 'object')
    throw new HandshakeError('the server answered something that is not a JSON object', { final: false });
  const id = b['id'];
  const url = b['url'];
  const port = b['port'];
  if (
    typeof id !== 'string' ||
    typeof url !== 'string' ||
    typeof port !== 'number' ||
    !Number.isInteger(port) ||
    port < 1 ||
    port > 65535
  ) {
    throw new HandshakeError('the server answer lacks id, url or a valid port: is this a localtunnel/pipenet server?', {
      final: true,
    });
  }
  const n = b['max_conn_count'] ?? b['maxConnCount'];
  const maxConn = typeof n === 'number' && Number.isInteger(n) && n > 0 ? Math.min(n, 1000) : 1;
  const ip = typeof b['ip'] === 'string' && b['ip'] ? b['ip'] : undefined;
  const cached = b['cached_url'] ?? b['cachedUrl'];
  return {
    id,
    url,
    port,
    maxConn,
    ip,
    cachedUrl: typeof cached === 'string' ? cached : undefined,
    sharedTunnel: b['sharedTunnel'] === true,
  };
}

export function requestTunnel(
  target: URL,
  o: {
    headers?: Record<string, string> | undefined;
    timeoutMs?: number | undefined;
    allowInvalidServerCert?: boolean | undefined;
  } = {},
): Promise<LocaltunnelAssignment> {
  return new Promise((resolve, reject) => {
    const mod = target.protocol === 'https:' ? https : http;
    const req = mod.request(
      target,
      {
        method: 'GET',
        headers: { Accept: 'application/json', ...o.headers },
        timeout: o.timeoutMs ?? HANDSHAKE_TIMEOUT_MS,
        ...(target.protocol === 'https:' && o.allowInvalidServerCert ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_HANDSHAKE_BYTES) {
            req.destroy(
              new HandshakeError(`the server answer is larger than ${MAX_HANDSHAKE_BYTES} bytes`, { final: false }),
            );
            return;
          }
          chunks.push(c);
        });
        res.on('error', (err) => reject(new HandshakeError(err.message, { final: false, cause: err })));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          if (status !== 200) {
            const b = body as { message?: unknown; error?: { message?: unknown } } | undefined;
            const msg =
              (typeof b?.message === 'string' && b.message) ||
              (typeof b?.error?.message === 'string' && b.error.message) ||
              `the server answered ${status} ${res.statusMessage ?? ''}`.trim();
            reject(
              new HandshakeError(msg, {
                status,
                final: status >= 400 && status < 500 && status !== 429 && status !== 408,
              }),
            );
            return;
          }
          if (body === undefined) {
            reject(
              new HandshakeError(`the server answer is not JSON (is ${target.origin} a localtunnel/pipenet server?)`, {
                status,
                final: true,
              }),
            );
            return;
          }
          try {
            resolve(parseTunnelInfo(body));
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(
        new HandshakeError(`no answer from ${target.origin} within ${o.timeoutMs ?? HANDSHAKE_TIMEOUT_MS} ms`, {
          final: false,
        }),
      ),
    );
    req.on('error', (err) => {
      if (err instanceof HandshakeError) reject(err);
      else {
        const code = (err as NodeJS.ErrnoException).code;
        reject(
          new HandshakeError(`cannot reach ${target.origin} (${code ?? err.message})`, { final: false, cause: err }),
        );
      }
    });
    req.end();
  });
}
