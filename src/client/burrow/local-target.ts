import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { BurrowError } from '../../core/errors.js';

/** Where the agent sends each stream: the local service. */
export interface LocalTarget {
  host: string;
  port: number;
  https?: boolean;
  allowInvalidCert?: boolean;
  /** PEM file paths for local HTTPS (client certificate and CA). */
  cert?: string;
  key?: string;
  ca?: string;
}

/** Parse `3000`, `localhost:3000`, `http://host:port` or `https://host:port` into a target. */
export function parseLocalTarget(spec: string | number, defaults: Partial<LocalTarget> = {}): LocalTarget {
  const s = String(spec).trim();
  if (/^\d+$/.test(s)) return { host: defaults.host ?? 'localhost', ...defaults, port: checkPort(Number(s), s) };
  if (/^https?:\/\//i.test(s)) {
    const u = new URL(s);
    const isHttps = u.protocol === 'https:';
    return {
      ...defaults,
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: checkPort(u.port ? Number(u.port) : isHttps ? 443 : 80, s),
      https: isHttps || defaults.https === true,
    };
  }
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(s);
  if (m) return { ...defaults, host: m[1]!.replace(/^\[|\]$/g, ''), port: checkPort(Number(m[2]), s) };
  throw new BurrowError('BURROW_ERR_BAD_REQUEST', `"${s}" is not a port, host:port or http(s) URL`);
}

function checkPort(n: number, spec: string): number {
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new BurrowError('BURROW_ERR_BAD_REQUEST', `"${spec}": the port must be 1–65535`);
  }
  return n;
}

export function describeTarget(t: LocalTarget): string {
  return `${t.https ? 'https://' : ''}${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
}

/** Connect to the local service; resolves once connected, rejects with ORIGIN_REFUSED naming the port. */
export function dialLocal(t: LocalTarget): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let socket: net.Socket;
    const onError = (err: NodeJS.ErrnoException): void => {
      socket.destroy();
      reject(
        new BurrowError(
          'BURROW_ERR_ORIGIN_REFUSED',
          `${describeTarget(t)} (${err.code ?? err.message}) — is the local service running on port ${t.port}?`,
        ),
      );
    };
    if (t.https) {
      const opts: tls.ConnectionOptions = {
        host: t.host,
        port: t.port,
        rejectUnauthorized: !t.allowInvalidCert,
        ALPNProtocols: ['http/1.1'],
      };
      if (!net.isIP(t.host)) opts.servername = t.host;
      if (t.cert) opts.cert = readFileSync(t.cert);
      if (t.key) opts.key = readFileSync(t.key);
      if (t.ca) opts.ca = readFileSync(t.ca);
      socket = tls.connect(opts, () => {
        socket.off('error', onError);
        resolve(socket);
      });
    } else {
      socket = net.connect({ host: t.host, port: t.port, noDelay: true }, () => {
        socket.off('error', onError);
        resolve(socket);
      });
    }
    socket.once('error', onError);
  });
}
