// "Copy as curl": the request as a curl command against the tunnel's public URL (the address the
// visitor used: X-Forwarded-Proto and -Host, which the burrow server adds).
import { bodyBytes } from './body.js';

/** Fields curl writes itself, or the burrow server adds again on the way. */
const SKIP = new Set([
  'host',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
]);

const quote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

function header(headers, name) {
  const found = headers.find(([k]) => k.toLowerCase() === name);
  return found ? found[1].split(',')[0].trim() : undefined;
}

export function publicUrl(detail) {
  const proto = header(detail.requestHeaders, 'x-forwarded-proto') ?? 'http';
  const host =
    header(detail.requestHeaders, 'x-forwarded-host') ?? header(detail.requestHeaders, 'host') ?? 'localhost';
  return `${proto}://${host}${detail.path}`;
}

export function curlCommand(detail) {
  const parts = ['curl'];
  if (detail.method === 'HEAD') parts.push('--head');
  else if (detail.method !== 'GET' || detail.requestBody.size > 0) parts.push('-X', detail.method);
  parts.push(quote(publicUrl(detail)));
  for (const [k, v] of detail.requestHeaders) if (!SKIP.has(k.toLowerCase())) parts.push('-H', quote(`${k}: ${v}`));
  const body = detail.requestBody;
  if (body.size === 0) return parts.join(' ');
  if (body.encoding === 'utf8') return [...parts, '--data-binary', quote(body.data)].join(' ');
  // binary: fed from base64 on stdin
  const bytes = bodyBytes(body);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `printf %s ${quote(btoa(bin))} | base64 -d | ${[...parts, '--data-binary', '@-'].join(' ')}`;
}
