/**
 * The admin web console at /admin on the server's own host (docs/console.md): a sign-in with the
 * admin token that opens a server-side session (HttpOnly, SameSite=Strict cookie; CSRF token bound
 * to it), the front-end's files, a live event stream, and /admin/api/… — the admin API's own routes
 * (src/auth/admin-api.ts), reached through its dispatch once the session and CSRF token are checked.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { readJson, type AdminApi } from '../auth/admin-api.js';
import { BurrowError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { InFlightItem, ServerAdapter, ServerContext } from '../server/adapter.js';
import { VERSION } from '../version.js';
import { loadConsoleAssets } from './assets.js';
import type { PageAssets } from '../core/page-assets.js';
import './errors.js';
import { sendConsoleError, sendConsoleJson, sessionCookie, sessionIdOf, setSecurityHeaders } from './http.js';
import { CONSOLE_PATH, SIGN_IN_MAX_BODY_BYTES } from './limits.js';
import { LiveView } from './live.js';
import { csrfMatches, ConsoleSessions, type ConsoleSession, type ConsoleSessionsOptions } from './sessions.js';
import { ASSETS_MISSING_TEXT, CONSOLE_OFF_TEXT, offPage, shellPage } from './shell.js';

export interface ConsoleOptions {
  /** The admin API's sign-in check and dispatch; absent: the console is off (/admin says how to turn it on). */
  admin: Pick<AdminApi, 'authenticate' | 'dispatch'> | undefined;
  /** The domains the server serves (shown on the names page). */
  domains: readonly string[];
  /** The server's adapters' counters (pipe_*, tcp*…). */
  adapterStats: () => Record<string, number>;
  /** The server's adapters' items in flight (pipes in flight, TCP sessions), listed on their pages. */
  inFlight?: () => InFlightItem[];
  /** Where the built front-end is (default: dist/console/assets). */
  assetsDir?: string;
  sessions?: ConsoleSessionsOptions;
  logger?: Logger;
}

export interface ConsoleAdapter extends ServerAdapter {
  readonly sessions: ConsoleSessions;
  /** The live sampler (undefined before start or when off). */
  readonly live: LiveView | undefined;
  /** Server shutdown: end the live streams and refuse new ones (they would hold the drain open). */
  endLive(): void;
}

const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD']);

export function createConsoleAdapter(options: ConsoleOptions): ConsoleAdapter {
  const sessions = new ConsoleSessions(options.sessions);
  const assets: PageAssets | undefined = options.admin ? loadConsoleAssets(options.assetsDir) : undefined;
  let ctx: ServerContext | undefined;
  let live: LiveView | undefined;
  let logger = options.logger ?? silentLogger();
  let ending = false;

  const isHttps = (req: IncomingMessage): boolean =>
    (req.socket as TLSSocket).encrypted === true || (ctx?.baseUrlFor(req).startsWith('https:') ?? false);

  function sendHtml(req: IncomingMessage, res: ServerResponse, status: number, html: string): void {
    setSecurityHeaders(res);
    res.writeHead(status, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': Buffer.byteLength(html),
      'Cache-Control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : html);
  }

  function sessionOf(req: IncomingMessage): ConsoleSession {
    const s = sessions.get(sessionIdOf(req));
    if (!s) throw new BurrowError('BURROW_ERR_CONSOLE_SIGNED_OUT');
    return s;
  }

  /** State-changing requests: same origin (when the browser says) and the session's CSRF token. */
  function checkCsrf(req: IncomingMessage, s: ConsoleSession): void {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null') {
      let host: string | undefined;
      try {
        host = new URL(origin).host;
      } catch {
        host = undefined;
      }
      if (host !== req.headers.host)
        throw new BurrowError('BURROW_ERR_CONSOLE_CSRF', `request from another origin (${origin.slice(0, 80)})`);
    }
    const presented = req.headers[CSRF_HEADER];
    if (!csrfMatches(s, typeof presented === 'string' ? presented : undefined)) {
      throw new BurrowError('BURROW_ERR_CONSOLE_CSRF');
    }
  }

  function sessionAnswer(s: ConsoleSession): unknown {
    return {
      signedIn: true,
      csrf: s.csrf,
      expiresAt: new Date(sessions.expiresAt(s)).toISOString(),
      server: { version: VERSION, domains: options.domains },
    };
  }

  async function signIn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const address = ctx ? ctx.clientAddress(req) : (req.socket.remoteAddress ?? 'unknown');
    const { token } = await readJson(req, SIGN_IN_MAX_BODY_BYTES);
    if (typeof token !== 'string' || token === '') {
      throw new BurrowError('BURROW_ERR_BAD_REQUEST', 'send {"token": "<admin token>"}');
    }
    // the admin API's own check: constant-time compare, admin-kind tokens, the failed-auth limiter
    await options.admin!.authenticate(token, address);
    const s = sessions.create();
    logger.info({ client: address }, 'console: signed in');
    sendConsoleJson(res, 200, sessionAnswer(s), { 'Set-Cookie': sessionCookie(s.id, isHttps(req)) });
  }

  async function route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    if (path.startsWith('/assets/')) {
      const a = SAFE_METHODS.has(method) ? assets?.get(path.slice('/assets/'.length)) : undefined;
      if (!a) throw new BurrowError('BURROW_ERR_BAD_REQUEST', `no console asset ${path.slice(0, 80)}`);
      setSecurityHeaders(res);
      res.writeHead(200, {
        'Content-Type': a.type,
        'Content-Length': a.body.length,
        'Cache-Control': 'public, max-age=31536000, immutable',
      });
      res.end(method === 'HEAD' ? undefined : a.body);
      return;
    }
    if (path === '/session') {
      if (method === 'POST') return signIn(req, res);
      if (method === 'GET') {
        const current = sessions.get(sessionIdOf(req));
        return sendConsoleJson(res, 200, current ? sessionAnswer(current) : { signedIn: false });
      }
      const s = sessionOf(req);
      if (method === 'DELETE') {
        checkCsrf(req, s);
        sessions.destroy(s.id);
        logger.info({}, 'console: signed out');
        return sendConsoleJson(res, 200, { signedOut: true }, { 'Set-Cookie': sessionCookie(null, isHttps(req)) });
      }
      throw new BurrowError('BURROW_ERR_BAD_REQUEST', 'use GET, POST or DELETE');
    }
    if (path === '/events') {
      const s = sessionOf(req);
      setSecurityHeaders(res);
      // the stream ends with its session (sign-out, expiry)
      if (ending) throw new BurrowError('BURROW_ERR_SHUTTING_DOWN');
      if (!live?.subscribe(res, () => sessions.peek(s.id) !== undefined))
        throw new BurrowError('BURROW_ERR_RATE_LIMITED', 'too many open consoles');
      return;
    }
    if (path === '/api' || path.startsWith('/api/')) {
      const s = sessionOf(req);
      if (!SAFE_METHODS.has(method)) checkCsrf(req, s);
      const answer = await options.admin!.dispatch(req, path.slice('/api'.length) || '/');
      return sendConsoleJson(res, answer.status, answer.body, answer.headers);
    }
    if (SAFE_METHODS.has(method) && (path === '/' || path === '')) {
      if (!assets) return sendHtml(req, res, 503, offPage('burrow console', ASSETS_MISSING_TEXT));
      return sendHtml(req, res, 200, shellPage(assets));
    }
    throw new BurrowError('BURROW_ERR_BAD_REQUEST', `no console page ${path.slice(0, 80)}`);
  }

  return {
    name: 'console',
    sessions,
    get live() {
      return live;
    },
    start(c) {
      ctx = c;
      if (!options.logger) logger = c.logger.child({ adapter: 'console' });
      if (options.admin) {
        live = new LiveView({
          registry: c.registry,
          metrics: c.metrics,
          version: VERSION,
          adapterStats: options.adapterStats,
          ...(options.inFlight ? { inFlight: options.inFlight } : {}),
        });
        live.start();
      }
    },
    endLive() {
      ending = true;
      live?.stop();
    },
    async close() {
      ending = true;
      live?.stop();
      sessions.clear();
    },
    handleRequest(req, res, url) {
      if (url.pathname !== CONSOLE_PATH && !url.pathname.startsWith(`${CONSOLE_PATH}/`)) return false;
      if (!options.admin) {
        sendHtml(req, res, 404, offPage('burrow console is off', CONSOLE_OFF_TEXT));
        req.resume();
        return true;
      }
      const path = url.pathname.slice(CONSOLE_PATH.length) || '/';
      route(req, res, path).catch((err: unknown) => {
        if (!(err instanceof BurrowError)) logger.error({ err }, 'console request failed');
        req.resume();
        sendConsoleError(res, err instanceof BurrowError ? err : new BurrowError('BURROW_ERR_BAD_REQUEST', 'failed'));
      });
      return true;
    },
  };
}
