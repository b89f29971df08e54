/**
 * The inspector's HTTP side: the page (shell + hashed assets, strict CSP), its live feed and the
 * JSON API (docs/inspector.md). It listens on loopback unless told otherwise, and then only with a
 * user and password. On loopback without a password it still refuses what a web page elsewhere
 * could make a browser send: a Host that is not its own (DNS rebinding) and a cross-origin or
 * non-JSON POST / DELETE.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BurrowError, isBurrowError } from '../../core/errors.js';
import { JsonBodyError, readJsonBody, sendJson } from '../../core/http-json.js';
import { appShell, type PageAssets } from '../../core/page-assets.js';
import type { ExchangeStore } from './exchange.js';
import { MAX_API_BODY_BYTES, MAX_LIVE_CLIENTS } from './limits.js';
import type { LiveFeed } from './live.js';
import type { ReplayEdits } from './replay.js';
import { detailOf, summaryOf } from './views.js';
import type { RecordedExchange } from './exchange.js';

/** Scripts and styles only from the inspector's own files; images may be data: URLs (previews). */
export const INSPECTOR_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': INSPECTOR_CSP,
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export interface InspectorApp {
  store: ExchangeStore;
  live: LiveFeed;
  assets: PageAssets | undefined;
  /** `user:pass`, or undefined for none. */
  auth: string | undefined;
  /** Host header values this server answers to (undefined: any, when a password guards it). */
  hosts: () => ReadonlySet<string> | undefined;
  replay: (ex: RecordedExchange, edits: ReplayEdits) => Promise<RecordedExchange>;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Compare the Basic credentials in constant time. */
function authorized(req: IncomingMessage, auth: string): boolean {
  const h = req.headers.authorization ?? '';
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h);
  const given = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
  return timingSafeEqual(digest(given), digest(auth));
}

function sendError(res: ServerResponse, err: unknown, status?: number): void {
  const e = isBurrowError(err)
    ? err
    : new BurrowError('BURROW_ERR_INTERNAL', err instanceof Error ? err.message : String(err));
  sendJson(
    res,
    status ?? e.status,
    { error: e.toJSON() },
    { headers: { ...SECURITY_HEADERS, 'X-Burrow-Error': e.code } },
  );
}

function notFound(res: ServerResponse, what: string, fix: string): void {
  sendError(res, new BurrowError('BURROW_ERR_BAD_REQUEST', what, { fix }), 404);
}

function shell(assets: PageAssets): string {
  return appShell(assets, {
    title: 'burrow inspector',
    assetsPath: '/assets',
    loading: 'Loading the burrow inspector…',
    noscript: 'The inspector page needs JavaScript; the JSON API is at /api/requests.',
  });
}

const NOT_BUILT =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>burrow inspector</title></head><body>' +
  '<h1>burrow inspector</h1><p>The page is not built: run <code>npm run build</code> (it writes dist/client/inspector/assets). ' +
  'The JSON API works: <a href="/api/requests">/api/requests</a>.</p></body></html>\n';

/** Handle one request to the inspector. */
export async function handleInspector(app: InspectorApp, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    await route(app, req, res);
  } catch (err) {
    if (err instanceof JsonBodyError)
      sendError(
        res,
        new BurrowError('BURROW_ERR_BAD_REQUEST', err.message, {
          fix: 'Send a JSON object with Content-Type: application/json (see docs/inspector.md).',
        }),
        err.problem === 'too-large' ? 413 : 400,
      );
    else sendError(res, err);
  }
}

async function route(app: InspectorApp, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const hosts = app.hosts();
  if (hosts && !hosts.has((req.headers.host ?? '').toLowerCase())) {
    sendError(
      res,
      new BurrowError('BURROW_ERR_FORBIDDEN', `the inspector does not answer to Host "${req.headers.host ?? ''}"`, {
        fix: 'Open the inspector at the URL burrow printed (e.g. http://127.0.0.1:4040).',
      }),
    );
    return;
  }
  if (app.auth !== undefined && !authorized(req, app.auth)) {
    res.setHeader('WWW-Authenticate', 'Basic realm="burrow inspector", charset="UTF-8"');
    sendError(
      res,
      new BurrowError('BURROW_ERR_UNAUTHORIZED', 'the inspector needs its user and password', {
        fix: 'Log in with the user:pass given to --inspect-auth.',
      }),
    );
    return;
  }
  const url = new URL(req.url ?? '/', 'http://inspector');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  if (method === 'POST' || method === 'DELETE') {
    // a browser sends neither cross-origin without a CORS preflight this server never grants
    const origin = req.headers.origin;
    if (origin !== undefined && (!hosts || !hosts.has(originHost(origin)))) {
      sendError(
        res,
        new BurrowError('BURROW_ERR_FORBIDDEN', `requests from ${origin} are not allowed`, {
          fix: 'Use the inspector page itself, or a script without an Origin header.',
        }),
      );
      return;
    }
  }

  if (path === '/' && (method === 'GET' || method === 'HEAD')) {
    const body = app.assets ? shell(app.assets) : NOT_BUILT;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
    });
    res.end(method === 'HEAD' ? undefined : body);
    return;
  }
  if (path.startsWith('/assets/') && (method === 'GET' || method === 'HEAD')) {
    const file = app.assets?.get(path.slice('/assets/'.length));
    if (!file) return notFound(res, `no asset ${path}`, 'Reload the page (the inspector may have been rebuilt).');
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': file.type,
      'Content-Length': file.body.length,
      'Cache-Control': 'public, max-age=31536000, immutable',
    });
    res.end(method === 'HEAD' ? undefined : file.body);
    return;
  }
  if (path === '/api/events' && method === 'GET') {
    if (app.live.size >= MAX_LIVE_CLIENTS) {
      sendError(
        res,
        new BurrowError('BURROW_ERR_RATE_LIMITED', `${MAX_LIVE_CLIENTS} inspector pages are open already`, {
          fix: 'Close an inspector tab, then reload.',
        }),
        429,
      );
      return;
    }
    app.live.add(res, SECURITY_HEADERS);
    return;
  }
  if (path === '/api/requests') {
    if (method === 'GET') {
      const list = app.store.list().reverse().map(summaryOf);
      sendJson(
        res,
        200,
        {
          requests: list,
          keep: app.store.keep,
          bodyLimit: app.store.bodyLimit,
          bytes: app.store.bytes,
          maxBytes: app.store.maxBytes,
        },
        { headers: SECURITY_HEADERS },
      );
      return;
    }
    if (method === 'DELETE') {
      app.store.clear();
      res.writeHead(204, SECURITY_HEADERS).end();
      return;
    }
    return methodNotAllowed(res, 'GET, DELETE');
  }
  const m = /^\/api\/requests\/([^/]+)(\/replay)?$/.exec(path);
  if (m) {
    const id = Number(m[1]);
    const ex = Number.isInteger(id) ? app.store.get(id) : undefined;
    if (!ex)
      return notFound(
        res,
        `no request ${m[1]} (it may have been dropped: the inspector keeps the last ${app.store.keep})`,
        'List what is kept with GET /api/requests.',
      );
    if (!m[2]) {
      if (method !== 'GET') return methodNotAllowed(res, 'GET');
      sendJson(res, 200, detailOf(ex), { headers: SECURITY_HEADERS });
      return;
    }
    if (method !== 'POST') return methodNotAllowed(res, 'POST');
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
      throw new BurrowError('BURROW_ERR_BAD_REQUEST', 'a replay is a POST with Content-Type: application/json', {
        fix: 'Send Content-Type: application/json and a JSON object (it may be {}).',
      });
    const edits = await readJsonBody(req, MAX_API_BODY_BYTES, { requireJsonType: true });
    if (typeof edits !== 'object' || edits === null || Array.isArray(edits))
      throw new BurrowError('BURROW_ERR_BAD_REQUEST', 'the replay body must be a JSON object', {
        fix: 'Send {} to replay as it was, or {"method", "path", "headers", "body"} to edit it.',
      });
    const done = await app.replay(ex, edits);
    sendJson(res, 200, detailOf(done), { headers: SECURITY_HEADERS });
    return;
  }
  notFound(
    res,
    `nothing at ${path}`,
    'The API is GET /api/requests, GET /api/requests/:id, POST /api/requests/:id/replay.',
  );
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('Allow', allow);
  sendError(
    res,
    new BurrowError('BURROW_ERR_METHOD_NOT_ALLOWED', `use ${allow} here`, { fix: 'See docs/inspector.md.' }),
    405,
  );
}

function originHost(origin: string): string {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return '';
  }
}
