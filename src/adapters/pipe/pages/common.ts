/** Shared bits of the pipe's HTML pages: nonces, CSP, escaping, ASCII-only output, one stylesheet. */
import { randomBytes } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';

export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

/** Escapes text for HTML text and attribute values. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Pages are ASCII: anything else becomes a numeric character reference. */
export function toAscii(html: string): string {
  // eslint-disable-next-line no-control-regex
  return html.replace(/[^\x00-\x7f]/gu, (c) => `&#x${(c.codePointAt(0) ?? 63).toString(16)};`);
}

export interface CspExtras {
  connect?: boolean;
  media?: boolean;
  script?: boolean;
  form?: boolean;
}

/** A strict Content-Security-Policy: nothing but what the page names, scripts and styles by nonce. */
export function csp(nonce: string, extras: CspExtras = {}): string {
  const parts = ["default-src 'none'", `style-src 'nonce-${nonce}'`, "img-src 'self' data:", "base-uri 'none'"];
  if (extras.script) parts.push(`script-src 'nonce-${nonce}'`);
  if (extras.connect) parts.push("connect-src 'self'");
  if (extras.media) parts.push('media-src blob:');
  parts.push(extras.form ? "form-action 'self'" : "form-action 'none'");
  return parts.join('; ');
}

/**
 * Headers of an HTML page. `piping`: the bare mounts' `/` and `/noscript` answer `text/html` exactly,
 * as piping-server does (tools that recognise a Piping server look at it; the charset is in the page).
 */
export function htmlHeaders(policy: string, piping = false): OutgoingHttpHeaders {
  return {
    'Content-Type': piping ? 'text/html' : 'text/html; charset=utf-8',
    'Content-Security-Policy': policy,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  };
}

export const STYLE = `
  :root { color-scheme: light dark; --accent: #c2571a; --muted: #777; --line: #8884; }
  body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; line-height: 1.45; }
  main { max-width: 46rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
  header { display: flex; align-items: baseline; gap: .75rem; border-bottom: 1px solid var(--line); padding-bottom: .5rem; }
  header h1 { margin: 0; font-size: 1.5rem; }
  header .v { color: var(--muted); font-size: .9rem; }
  h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
  input[type=text], textarea, select { font: inherit; padding: .4rem .5rem; border: 1px solid var(--line); border-radius: 6px; width: 100%; box-sizing: border-box; background: transparent; color: inherit; }
  textarea { min-height: 8rem; font-family: ui-monospace, Menlo, Consolas, monospace; }
  button, input[type=submit] { font: inherit; padding: .45rem 1.2rem; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
  button:disabled, input:disabled { opacity: .5; cursor: default; }
  pre, code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .9rem; }
  pre { background: #8881; border: 1px solid var(--line); border-radius: 6px; padding: .6rem .75rem; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
  progress { width: 100%; height: 1.1rem; }
  .row { display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
  .muted { color: var(--muted); }
  .hidden { display: none !important; }
  input.narrow { width: 5rem; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .75rem; margin: 1rem 0; }
  .card { border: 1px solid var(--line); border-radius: 8px; padding: .6rem .8rem; }
  .card .k { color: var(--muted); font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; }
  .card .val { font-size: 1.25rem; font-variant-numeric: tabular-nums; }
  .badge { display: inline-block; padding: .1rem .6rem; border-radius: 999px; background: #8883; font-weight: 600; }
  .badge.streaming { background: #2a7de1; color: #fff; } .badge.complete { background: #2e9d4f; color: #fff; }
  .badge.failed { background: #c62f2f; color: #fff; } .badge.waiting { background: #d9a21b; color: #000; }
  footer { margin-top: 2rem; border-top: 1px solid var(--line); padding-top: .5rem; font-size: .9rem; }
  a { color: var(--accent); }
`;

/** Wraps a page body in the common document shell. */
export function document(opts: {
  title: string;
  nonce: string;
  body: string;
  script?: string;
  bodyAttrs?: string;
}): string {
  const script = opts.script ? `<script nonce="${opts.nonce}">${opts.script}</script>` : '';
  return toAscii(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${opts.title}</title>
<style nonce="${opts.nonce}">${STYLE}</style>
</head>
<body${opts.bodyAttrs ? ` ${opts.bodyAttrs}` : ''}>
${opts.body}
${script}
</body>
</html>
`);
}
