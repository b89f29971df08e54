/** Reserved paths (GET/HEAD serve pages; POST/PUT are refused): the same on `/` and `/api/v1/pipe/`. */
import type { OutgoingHttpHeaders } from 'node:http';
import { endWithLength, type Res } from './http.js';
import { indexPage } from './pages/index-page.js';
import { noscriptPage } from './pages/noscript-page.js';
import { helpPage } from './pages/help-page.js';
import type { PageContext } from './pages/page.js';

export const RESERVED_PATHS: readonly string[] = ['/', '/noscript', '/help', '/version', '/favicon.ico', '/robots.txt'];

/** Reserved, also with trailing slashes (`/help/`): aliases of a page never become pipes. */
export function isReservedPath(path: string): boolean {
  return RESERVED_PATHS.includes(reservedName(path));
}

/** The reserved path a request path stands for (`/help//` → `/help`). */
export function reservedName(path: string): string {
  return path.replace(/\/+$/, '') || '/';
}

function answer(res: Res, head: boolean, status: number, headers: OutgoingHttpHeaders, body: string): void {
  if (head) {
    res.writeHead(status, { 'Content-Length': Buffer.byteLength(body), ...headers });
    res.end();
  } else endWithLength(res, status, headers, body);
}

export function serveReserved(res: Res, head: boolean, ctx: PageContext): void {
  switch (reservedName(ctx.path)) {
    case '/': {
      const p = indexPage(ctx);
      return answer(res, head, 200, p.headers, p.body);
    }
    case '/noscript': {
      const p = noscriptPage(ctx);
      return answer(res, head, 200, p.headers, p.body);
    }
    case '/help': {
      const p = helpPage(ctx);
      return answer(res, head, 200, p.headers, p.body);
    }
    case '/version':
      return answer(
        res,
        head,
        200,
        { 'Content-Type': 'text/plain', 'Access-Control-Allow-Origin': '*' },
        `${ctx.version}\n`,
      );
    case '/favicon.ico':
      res.writeHead(204);
      res.end();
      return;
    default:
      // /robots.txt: like piping-server, nothing to crawl here.
      res.writeHead(404, { 'Content-Length': 0 });
      res.end();
  }
}
