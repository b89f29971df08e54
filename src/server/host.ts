import type { IncomingMessage } from 'node:http';

/** The request's host name: lowercase, without port or trailing dot ('' when absent). */
export function hostOf(req: IncomingMessage): string {
  const raw = (req.headers[':authority'] as string | undefined) ?? req.headers.host ?? '';
  return stripPort(raw).toLowerCase().replace(/\.$/, '');
}

export function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/**
 * The tunnel name a host addresses: `<name>.<domain>` for one of the domains (exactly one label
 * in front), else undefined (the server's own host).
 */
export function tunnelNameFor(host: string, domains: readonly string[]): string | undefined {
  for (const d of domains) {
    if (host.length > d.length + 1 && host.endsWith(d) && host[host.length - d.length - 1] === '.') {
      const label = host.slice(0, host.length - d.length - 1);
      if (!label.includes('.')) return label;
    }
  }
  return undefined;
}

/** The configured domain a host belongs to (the host itself or a subdomain of it). */
export function domainOf(host: string, domains: readonly string[]): string | undefined {
  for (const d of domains) if (host === d || host.endsWith(`.${d}`)) return d;
  return undefined;
}

/** The visitor's address; the first X-Forwarded-For entry only when the proxy is trusted. */
export function remoteAddressOf(req: IncomingMessage, trustProxy: boolean): string {
  const xff = trustProxy ? req.headers['x-forwarded-for'] : undefined;
  return forwardedFor(Array.isArray(xff) ? xff[0] : xff) ?? normaliseAddress(req.socket?.remoteAddress ?? '');
}

/** The client a (trusted) proxy names: the first entry of an X-Forwarded-For value, normalised. */
export function forwardedFor(value: string | undefined): string | undefined {
  const first = value?.split(',')[0]?.trim();
  return first ? normaliseAddress(first) : undefined;
}

/** The scheme a (trusted) proxy names: the first entry of an X-Forwarded-Proto value, if http(s). */
export function forwardedProto(value: string | undefined): 'http' | 'https' | undefined {
  const v = value?.split(',')[0]?.trim();
  return v === 'http' || v === 'https' ? v : undefined;
}

export function normaliseAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** `<name>-http-<port>` / `<name>-https-<port>`: a label that addresses another local port of a tunnel. */
const PORT_ADDRESS_RE = /^(.+)-(http|https)-(\d{1,5})$/;

/** The tunnel name and local port a port-addressed label names, or undefined for a plain label. */
export function portAddressOf(label: string): { name: string; port: number; tls: boolean } | undefined {
  const m = PORT_ADDRESS_RE.exec(label);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { name: m[1]!, port, tls: m[2] === 'https' };
}
