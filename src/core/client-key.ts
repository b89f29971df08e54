/**
 * The key a client address is counted under by per-client limits (failed authentication, new
 * tunnels): IPv4 as is, IPv4-mapped IPv6 as the IPv4 address, other IPv6 per /CLIENT_IPV6_PREFIX
 * (one host usually owns a whole /64, so counting single IPv6 addresses would count nothing).
 */
import { isIPv6 } from 'node:net';
import { CLIENT_IPV6_PREFIX } from './limits.js';

/** The key `address` is counted under: IPv4 as is, IPv6 per /CLIENT_IPV6_PREFIX. */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!isIPv6(address)) return address;
  const groups = expandIPv6(address);
  return `${groups.slice(0, CLIENT_IPV6_PREFIX / 16).join(':')}::/${CLIENT_IPV6_PREFIX}`;
}

/** Eight 4-digit hex groups of a valid IPv6 address (zone id dropped). */
export function expandIPv6(address: string): string[] {
  let addr = address.split('%')[0] ?? '';
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(addr);
  if (v4) {
    const [a, b, c, d] = [1, 2, 3, 4].map((i) => Number(v4[i]));
    addr = `${addr.slice(0, v4.index)}${(((a ?? 0) << 8) | (b ?? 0)).toString(16)}:${(((c ?? 0) << 8) | (d ?? 0)).toString(16)}`;
  }
  const [head = '', tail] = addr.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => g.toLowerCase().padStart(4, '0'));
}
