/** Reserved paths (GET/HEAD serve pages; POST/PUT are refused): the same on `/` and `/api/v1/pipe/`. */
import type { OutgoingHttpHeaders } from 'node:http';
import { endWithLength, sendPipeError, type Res } from './http.js';
import { loadPage, type PageName } from './pages/load.js';
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

/** Answer with one of the pipe's pages (its module loads at the first request for it). */
export function servePage(res: Res, head: boolean, name: PageName, ctx: PageContext): void {
  loadPage(name).then(
    (page) => {
      const p = page(ctx);
      answer(res, head, 200, p.headers, p.body);
    },
    () => {
      if (!res.headersSent) sendPipeError(res, 500, 'Internal error.');
      else res.end();
    },
  );
}

export function serveReserved(res: Res, head: boolean, ctx: PageContext): void {
  switch (reservedName(ctx.path)) {
    case '/':
      return servePage(res, head, 'index', ctx);
    case '/noscript':
      return servePage(res, head, 'noscript', ctx);
    case '/help':
      return servePage(res, head, 'help', ctx);
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
