/**
 * `GET /` on the server's own host: a browser (Accept: text/html) gets a small page saying what this
 * server is and the one command that opens a tunnel to it, its own URL filled in; API clients keep
 * the JSON document (`landingJson`). `--landing URL` replaces both with a redirect (server.ts).
 */
import type { IncomingMessage } from 'node:http';

/** The npm package a newcomer runs with npx. */
const PACKAGE = 'burrow-tunnel';

export interface LandingInfo {
  /** This server as the visitor reached it, e.g. https://tunnels.example.com. */
  url: string;
  version: string;
  tunnels: number;
}

/** A browser asking for a page (not curl's `*\/*` nor an API client's JSON). */
export function wantsHtml(req: IncomingMessage): boolean {
  return /\btext\/html\b/i.test(req.headers.accept ?? '');
}

/** The JSON answer of `GET /` for API clients (no docs link: the package names no repository). */
export function landingJson(info: LandingInfo): Record<string, unknown> {
  return { name: 'burrow', version: info.version, tunnels: info.tunnels, open: openCommand(info.url) };
}

function openCommand(url: string): string {
  return `npx ${PACKAGE} http 3000 --server ${url}`;
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** The page: what this is, the command with this server's URL, and where to look next. */
export function landingHtml(info: LandingInfo): string {
  const url = escapeHtml(info.url);
  const command = escapeHtml(openCommand(info.url));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>burrow tunnel server</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
  code, pre { font: 14px ui-monospace, monospace; }
  pre { background: #f4f4f4; padding: .75rem 1rem; border-radius: 6px; overflow-x: auto; }
  .muted { color: #666; }
</style>
</head>
<body>
<h1>burrow</h1>
<p>This is a <strong>burrow</strong> tunnel server (version ${escapeHtml(info.version)}, ${info.tunnels} tunnel${info.tunnels === 1 ? '' : 's'} open).
It puts a service running on your own machine on a public URL.</p>
<h2>Open a tunnel to it</h2>
<p>With Node.js 20 or later, share what listens on port 3000:</p>
<pre id="command">${command}</pre>
<p class="muted">Add <code>--token TOKEN</code> if the operator gave you one. The command prints the public URL.</p>
<h2>More</h2>
<ul>
  <li><a href="/admin">Admin console</a> <span class="muted">(when the server runs with --admin-token)</span></li>
  <li><a href="/api/status">Status (JSON)</a> · <a href="/health">health</a> · <a href="/metrics">metrics</a></li>
  <li>Documentation: the <code>README.md</code> and <code>docs/</code> folder of the <code>${PACKAGE}</code> package (<code>npm view ${PACKAGE}</code>)</li>
</ul>
<p class="muted">Server address: <code>${url}</code></p>
</body>
</html>
`;
}
