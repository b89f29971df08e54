import type { IncomingMessage, ServerResponse } from 'node:http';
import { BurrowError, isBurrowError } from '../core/errors.js';
import { JsonBodyError, readJsonBody, sendJson } from '../core/http-json.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { ServerAdapter, ServerContext } from '../server/adapter.js';
import type { Store } from '../store/types.js';
import { toStoredAccessRules, type AccessRuleInput } from './access-policy.js';
import { parseAuthorization } from './authorization.js';
import { parseDuration } from './duration.js';
import { RateLimitedError } from './failed-auth-limiter.js';
import { ADMIN_MAX_BODY_BYTES } from './limits.js';
import { normalizeReservableName } from './names.js';
import { constantTimeEqual, isWellFormedToken } from './secret.js';
import type { CreateTokenInput, TokenService } from './token-service.js';
import { reservedNameView, tokenView, tunnelIdView } from './views.js';

/** Where the admin API lives on the server's own host. */
export const ADMIN_API_PREFIX = '/api/admin';
/** Shortest admin token accepted in the server configuration. */
export const ADMIN_TOKEN_MIN_LENGTH = 16;

export interface AdminAdapterOptions {
  store: Store;
  tokens: TokenService;
  /**
   * The operator's admin secret (--admin-token / BURROW_ADMIN_TOKEN). Tokens created with the
   * `admin` kind are accepted too. Without either, every call answers 401.
   */
  adminToken?: string | undefined;
  logger?: Logger;
  /** The server's --auth mode, told to whoever creates a token (with `none` agents need none). */
  auth?: 'none' | 'token';
}

/** One admin call's answer: status, JSON body, extra headers (X-Burrow-Error, Retry-After…). */
export interface AdminAnswer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/**
 * The admin API as an adapter, plus its two halves for the web console (src/console/): the same
 * secret check (and failed-auth limiter) a sign-in goes through, and the same routes a signed-in
 * console call is dispatched to. No second path into the store.
 */
export interface AdminApi extends ServerAdapter {
  /** Check a presented admin secret as `Authorization: Bearer` is checked; throws BurrowError. */
  authenticate(presented: string | undefined, address: string): Promise<void>;
  /** Run one call on `path` (under /api/admin) for a caller already authenticated. */
  dispatch(req: IncomingMessage, path: string): Promise<AdminAnswer>;
}

type Handler = (ctx: CallContext) => Promise<{ status: number; body: unknown }>;
interface CallContext {
  req: IncomingMessage;
  params: string[];
  body: () => Promise<Record<string, unknown>>;
}

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

/**
 * The admin HTTP API as a ServerAdapter: JSON under /api/admin/… (tokens, reserved names, access
 * rules, persistent tunnel ids), bearer-authenticated with the admin token (constant-time), failed
 * attempts rate-limited per client address. Documented in docs/api.md ("Admin API").
 */
export function createAdminAdapter(options: AdminAdapterOptions): AdminApi {
  const { store, tokens } = options;
  const adminToken = options.adminToken;
  if (adminToken !== undefined && adminToken.length < ADMIN_TOKEN_MIN_LENGTH) {
    throw new BurrowError(
      'BURROW_ERR_INVALID_CONFIG',
      `--admin-token must be at least ${ADMIN_TOKEN_MIN_LENGTH} characters (try: burrow token create --kind admin)`,
    );
  }
  let logger = options.logger ?? silentLogger();
  let server: ServerContext | undefined;
  const clientAddress = (req: IncomingMessage): string =>
    server ? server.clientAddress(req) : (req.socket.remoteAddress ?? 'unknown');

  const routes: Route[] = [
    {
      method: 'GET',
      pattern: /^\/tokens$/,
      handler: async () => ({ status: 200, body: { tokens: (await tokens.list()).map((t) => tokenView(t)) } }),
    },
    {
      method: 'POST',
      pattern: /^\/tokens$/,
      handler: async ({ body }) => {
        const created = await tokens.create(createInput(await body()));
        return {
          status: 201,
          body: {
            token: tokenView(created.token),
            secret: created.secret,
            ...(options.auth ? { serverAuth: options.auth } : {}),
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/tokens\/([^/]+)$/,
      handler: async ({ params }) => ({ status: 200, body: { token: tokenView(await tokens.get(params[0] ?? '')) } }),
    },
    {
      method: 'POST',
      pattern: /^\/tokens\/([^/]+)\/revoke$/,
      handler: async ({ params }) => ({
        status: 200,
        body: { token: tokenView(await tokens.revoke(params[0] ?? '')) },
      }),
    },
    {
      method: 'DELETE',
      pattern: /^\/tokens\/([^/]+)$/,
      handler: async ({ params }) => ({
        status: 200,
        body: { token: tokenView(await tokens.revoke(params[0] ?? '')) },
      }),
    },
    {
      method: 'GET',
      pattern: /^\/names$/,
      handler: async () => ({ status: 200, body: { names: (await store.listReservedNames()).map(reservedNameView) } }),
    },
    {
      method: 'POST',
      pattern: /^\/names$/,
      handler: async ({ body }) => {
        const b = await body();
        const reserved = await tokens.reserveName(str(b, 'name', true), str(b, 'tokenId', true));
        return { status: 201, body: { name: reservedNameView(reserved) } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/names\/([^/]+)$/,
      handler: async ({ params }) => {
        const r = await store.getReservedName((params[0] ?? '').toLowerCase());
        if (!r) throw new BurrowError('BURROW_ERR_NAME_NOT_RESERVED', `"${(params[0] ?? '').slice(0, 80)}"`);
        return { status: 200, body: { name: reservedNameView(r) } };
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/names\/([^/]+)$/,
      handler: async ({ params }) => {
        await tokens.releaseName(params[0] ?? '');
        return { status: 200, body: { released: (params[0] ?? '').toLowerCase() } };
      },
    },
    {
      method: 'PUT',
      pattern: /^\/names\/([^/]+)\/access$/,
      handler: async ({ params, body }) => {
        const name = normalizeReservableName(params[0] ?? '');
        const rules = await toStoredAccessRules(accessInput(await body()));
        if (!(await store.setAccessRules(name, rules)))
          throw new BurrowError('BURROW_ERR_NAME_NOT_RESERVED', `"${name}"`);
        const r = await store.getReservedName(name);
        return { status: 200, body: { name: r && reservedNameView(r) } };
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/names\/([^/]+)\/access$/,
      handler: async ({ params }) => {
        const name = (params[0] ?? '').toLowerCase();
        if (!(await store.setAccessRules(name, null)))
          throw new BurrowError('BURROW_ERR_NAME_NOT_RESERVED', `"${name}"`);
        return { status: 200, body: { name } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/tunnels$/,
      handler: async () => ({ status: 200, body: { tunnels: (await store.listTunnelIds()).map(tunnelIdView) } }),
    },
    {
      method: 'GET',
      pattern: /^\/live$/,
      handler: async () => ({
        status: 200,
        body: {
          // a cluster's node lists every node's tunnels
          live: (server?.registry.listAll?.() ?? server?.registry.list() ?? []).map((t) => ({
            id: t.id,
            name: t.name,
            protocol: t.protocol,
            kind: t.kind,
            url: t.url,
            ...(t.agentAddress ? { agentAddress: t.agentAddress } : {}),
          })),
        },
      }),
    },
    {
      // close one live tunnel: its client is told why and does not bring it back
      method: 'DELETE',
      pattern: /^\/live\/([^/]+)$/,
      handler: async ({ params }) => {
        const id = params[0] ?? '';
        const live = server?.registry.getById(id);
        if (!live) {
          // a cluster's node forwards the close to the node holding the tunnel
          const elsewhere = await server?.registry.closeElsewhere?.(id);
          if (elsewhere) return { status: 200, body: { closed: { id, ...elsewhere } } };
        }
        if (!live || !server?.closeTunnel(id)) {
          throw new BurrowError('BURROW_ERR_TUNNEL_NOT_FOUND', `no live tunnel has the id "${id}"`);
        }
        return { status: 200, body: { closed: { id, name: live.name, protocol: live.protocol } } };
      },
    },
  ];

  async function authenticate(presented: string | undefined, address: string): Promise<void> {
    tokens.limiter.check(address, 'admin');
    if (presented !== undefined && adminToken !== undefined && constantTimeEqual(presented, adminToken)) return;
    if (presented !== undefined && isWellFormedToken(presented)) {
      const token = await tokens.authenticate(presented, address, 'admin');
      await tokens.authorize(token, { kind: 'admin' });
      return;
    }
    tokens.limiter.fail(address, 'admin');
    throw new BurrowError(
      'BURROW_ERR_UNAUTHORIZED',
      presented === undefined ? 'send Authorization: Bearer <admin token>' : 'wrong admin token',
    );
  }

  async function dispatch(req: IncomingMessage, path: string): Promise<AdminAnswer> {
    try {
      const method = req.method ?? 'GET';
      let pathMatched = false;
      for (const route of routes) {
        const m = route.pattern.exec(path);
        if (!m) continue;
        pathMatched = true;
        if (route.method !== method) continue;
        const params = m.slice(1).map((p) => safeDecode(p));
        const result = await route.handler({ req, params, body: () => readJson(req) });
        return { ...result, headers: {} };
      }
      if (pathMatched) {
        const allowed = routes.filter((r) => r.pattern.test(path)).map((r) => r.method);
        return {
          status: 405,
          body: errorJson(new BurrowError('BURROW_ERR_BAD_REQUEST', `use ${allowed.join(' or ')}`)),
          headers: { Allow: allowed.join(', ') },
        };
      }
      return {
        status: 404,
        body: {
          error: {
            code: 'BURROW_ERR_BAD_REQUEST',
            message: `no admin endpoint ${path}`,
            fix: 'See docs/api.md, "Admin API".',
          },
        },
        headers: {},
      };
    } catch (err) {
      return errorAnswer(err);
    }
  }

  function errorAnswer(err: unknown): AdminAnswer {
    const e = isBurrowError(err)
      ? err
      : new BurrowError('BURROW_ERR_STORE', err instanceof Error ? err.message : String(err), { cause: err });
    if (e.status >= 500) logger.error({ err: e }, 'admin API call failed');
    const headers: Record<string, string> = { 'X-Burrow-Error': e.code };
    if (e instanceof RateLimitedError) headers['Retry-After'] = String(e.retryAfter);
    if (e.code === 'BURROW_ERR_UNAUTHORIZED') headers['WWW-Authenticate'] = 'Bearer realm="burrow-admin"';
    return { status: e.status, body: errorJson(e), headers };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    let answer: AdminAnswer;
    try {
      const creds = parseAuthorization(req.headers.authorization);
      await authenticate(creds?.scheme === 'bearer' ? creds.token : undefined, clientAddress(req));
      answer = await dispatch(req, path);
    } catch (err) {
      answer = errorAnswer(err);
    }
    sendJson(res, answer.status, answer.body, { headers: answer.headers });
  }

  return {
    name: 'admin-api',
    authenticate,
    dispatch,
    start(ctx: ServerContext) {
      server = ctx;
      if (!options.logger) logger = ctx.logger;
    },
    handleRequest(req, res, url) {
      if (url.pathname !== ADMIN_API_PREFIX && !url.pathname.startsWith(`${ADMIN_API_PREFIX}/`)) return false;
      const path = url.pathname.slice(ADMIN_API_PREFIX.length) || '/';
      handle(req, res, path).catch((err: unknown) => {
        logger.error({ err }, 'admin API handler crashed');
        if (!res.headersSent) sendJson(res, 500, errorJson(new BurrowError('BURROW_ERR_STORE')));
        else res.destroy();
      });
      return true;
    },
  };
}

function errorJson(e: BurrowError): { error: ReturnType<BurrowError['toJSON']> } {
  return { error: e.toJSON() };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new BurrowError('BURROW_ERR_BAD_REQUEST', 'badly encoded path');
  }
}

/**
 * An admin request's body: a JSON object (Content-Type: application/json) of at most `maxBytes`, or
 * BURROW_ERR_BAD_REQUEST. The console's sign-in reads its body with it too.
 */
export async function readJson(
  req: IncomingMessage,
  maxBytes: number = ADMIN_MAX_BODY_BYTES,
): Promise<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = await readJsonBody(req, maxBytes, { requireJsonType: true });
  } catch (err) {
    if (err instanceof JsonBodyError) throw new BurrowError('BURROW_ERR_BAD_REQUEST', err.message);
    throw err;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BurrowError('BURROW_ERR_BAD_REQUEST', 'the body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function str(b: Record<string, unknown>, key: string, required: true): string;
function str(b: Record<string, unknown>, key: string, required?: false): string | undefined;
function str(b: Record<string, unknown>, key: string, required = false): string | undefined {
  const v = b[key];
  if (v === undefined || v === null) {
    if (required) throw new BurrowError('BURROW_ERR_BAD_REQUEST', `"${key}" is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new BurrowError('BURROW_ERR_BAD_REQUEST', `"${key}" must be a string`);
  return v;
}

function strList(b: Record<string, unknown>, key: string): string[] | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new BurrowError('BURROW_ERR_BAD_REQUEST', `"${key}" must be a list of strings`);
  }
  return v;
}

function createInput(b: Record<string, unknown>): CreateTokenInput {
  const format = str(b, 'format');
  if (format !== undefined && format !== 'burrow' && format !== 'tunely') {
    throw new BurrowError('BURROW_ERR_BAD_REQUEST', '"format" must be "burrow" or "tunely"');
  }
  const maxTunnels = b['maxTunnels'];
  if (maxTunnels !== undefined && maxTunnels !== null && typeof maxTunnels !== 'number') {
    throw new BurrowError('BURROW_ERR_BAD_REQUEST', '"maxTunnels" must be a number');
  }
  const expires = str(b, 'expires');
  return {
    label: str(b, 'label'),
    names: strList(b, 'names'),
    scopes: strList(b, 'kinds'),
    maxTunnels: maxTunnels ?? null,
    expiresInMs: expires === undefined ? null : parseDuration(expires, '"expires"'),
    format,
  };
}

function accessInput(b: Record<string, unknown>): AccessRuleInput {
  return {
    basicAuth: str(b, 'basicAuth'),
    bearer: str(b, 'bearer'),
    allowIps: strList(b, 'allowIps'),
    denyIps: strList(b, 'denyIps'),
    rateLimit: str(b, 'rateLimit'),
  };
}
