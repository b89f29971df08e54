import http from 'node:http';
import https from 'node:https';
import { BurrowError, ERROR_CODES, type ErrorCode } from '../core/errors.js';
import type { TlsTrust } from '../core/tls-trust.js';
import { serverUnreachable } from '../core/unreachable.js';
import { openStore } from '../store/open.js';
import { resolveDbUrl } from '../store/url.js';
import type { TokenFormat } from '../store/types.js';
import { toStoredAccessRules, type AccessRuleInput } from './access-policy.js';
import { ADMIN_API_PREFIX } from './admin-api.js';
import { parseDuration } from './duration.js';
import { ADMIN_CLIENT_TIMEOUT_MS } from './limits.js';
import { TokenService } from './token-service.js';
import { reservedNameView, tokenView, type ReservedNameView, type TokenView } from './views.js';

/** What `burrow token create` asks for (also the admin API's POST /api/admin/tokens body). */
export interface CreateTokenRequest {
  label?: string | undefined;
  names?: string[] | undefined;
  kinds?: string[] | undefined;
  maxTunnels?: number | undefined;
  /** `30d`, `12h`, `never`… */
  expires?: string | undefined;
  format?: TokenFormat | undefined;
}

/**
 * The admin operations behind `burrow token …` and `burrow name …`, either on the database
 * directly or through a running server's admin API. Both answer the same views.
 */
export interface AdminBackend {
  /** Where the commands act, for messages: the database location or the server URL. */
  readonly where: string;
  /** `serverAuth`: the server's --auth mode, when the backend is a server that says it. */
  createToken(input: CreateTokenRequest): Promise<{ token: TokenView; secret: string; serverAuth?: 'none' | 'token' }>;
  listTokens(): Promise<TokenView[]>;
  revokeToken(id: string): Promise<TokenView>;
  reserveName(name: string, tokenId: string): Promise<ReservedNameView>;
  listNames(): Promise<ReservedNameView[]>;
  releaseName(name: string): Promise<void>;
  /** Replace the visitor rules stored with a reserved name (null removes them). */
  setAccess(name: string, rules: AccessRuleInput | null): Promise<ReservedNameView>;
  close(): Promise<void>;
}

export interface AdminTarget {
  /** --db URL (else BURROW_DB, else sqlite:./data/burrow.db). */
  db?: string | undefined;
  /** --server URL: use the admin API instead of the database. */
  server?: string | undefined;
  /** --admin-token (else BURROW_ADMIN_TOKEN); needed with --server. */
  adminToken?: string | undefined;
  /** --ca / --insecure: which certificates an https:// --server may present (undefined: Node's list). */
  trust?: TlsTrust | undefined;
}

/** Open the backend the flags ask for. */
export async function openAdminBackend(
  target: AdminTarget,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AdminBackend> {
  const server = target.server ?? (env['BURROW_ADMIN_SERVER'] || undefined);
  if (server !== undefined && server !== '') {
    const adminToken = target.adminToken ?? env['BURROW_ADMIN_TOKEN'];
    if (adminToken === undefined || adminToken === '') {
      throw new BurrowError('BURROW_ERR_INVALID_CONFIG', '--server needs --admin-token (or BURROW_ADMIN_TOKEN)');
    }
    return new RemoteAdminBackend(server, adminToken, target.trust);
  }
  return LocalAdminBackend.open(resolveDbUrl(target.db, env));
}

export class LocalAdminBackend implements AdminBackend {
  readonly where: string;
  readonly #tokens: TokenService;

  private constructor(tokens: TokenService) {
    this.#tokens = tokens;
    this.where = `database ${tokens.store.location}`;
  }

  static async open(url: string): Promise<LocalAdminBackend> {
    const store = await openStore(url);
    return new LocalAdminBackend(new TokenService({ store }));
  }

  async createToken(input: CreateTokenRequest): Promise<{ token: TokenView; secret: string }> {
    const { token, secret } = await this.#tokens.create({
      label: input.label,
      names: input.names,
      scopes: input.kinds,
      maxTunnels: input.maxTunnels ?? null,
      expiresInMs: input.expires === undefined ? null : parseDuration(input.expires),
      format: input.format,
    });
    return { token: tokenView(token), secret };
  }

  async listTokens(): Promise<TokenView[]> {
    return (await this.#tokens.list()).map((t) => tokenView(t));
  }

  async revokeToken(id: string): Promise<TokenView> {
    return tokenView(await this.#tokens.revoke(id));
  }

  async reserveName(name: string, tokenId: string): Promise<ReservedNameView> {
    return reservedNameView(await this.#tokens.reserveName(name, tokenId));
  }

  async listNames(): Promise<ReservedNameView[]> {
    return (await this.#tokens.store.listReservedNames()).map(reservedNameView);
  }

  async releaseName(name: string): Promise<void> {
    await this.#tokens.releaseName(name);
  }

  async setAccess(name: string, rules: AccessRuleInput | null): Promise<ReservedNameView> {
    const key = name.trim().toLowerCase();
    const stored = rules === null ? null : await toStoredAccessRules(rules);
    const store = this.#tokens.store;
    if (!(await store.setAccessRules(key, stored))) {
      throw new BurrowError('BURROW_ERR_NAME_NOT_RESERVED', `"${name.slice(0, 80)}"`);
    }
    const reserved = await store.getReservedName(key);
    if (!reserved) throw new BurrowError('BURROW_ERR_NAME_NOT_RESERVED', `"${name.slice(0, 80)}"`);
    return reservedNameView(reserved);
  }

  async close(): Promise<void> {
    await this.#tokens.store.close();
  }
}

/**
 * The admin API over HTTP(S) (node:http, so that an https:// server's certificate can be checked
 * against `trust`: --ca, --insecure). Errors come back as the server's BurrowError codes.
 */
export class RemoteAdminBackend implements AdminBackend {
  readonly where: string;
  readonly #base: string;
  readonly #adminToken: string;
  readonly #trust: TlsTrust | undefined;

  constructor(server: string, adminToken: string, trust?: TlsTrust) {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw new BurrowError(
        'BURROW_ERR_INVALID_CONFIG',
        `--server "${server.slice(0, 80)}" is not a URL (http://host:port)`,
      );
    }
    if (url.protocol === 'ws:') url.protocol = 'http:';
    if (url.protocol === 'wss:') url.protocol = 'https:';
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new BurrowError('BURROW_ERR_INVALID_CONFIG', '--server must be an http:// or https:// URL');
    }
    this.#base = url.origin;
    this.where = `server ${url.origin}`;
    this.#adminToken = adminToken;
    this.#trust = trust;
  }

  async createToken(
    input: CreateTokenRequest,
  ): Promise<{ token: TokenView; secret: string; serverAuth?: 'none' | 'token' }> {
    return this.#call('POST', '/tokens', input);
  }

  async listTokens(): Promise<TokenView[]> {
    return (await this.#call<{ tokens: TokenView[] }>('GET', '/tokens')).tokens;
  }

  async revokeToken(id: string): Promise<TokenView> {
    return (await this.#call<{ token: TokenView }>('POST', `/tokens/${encodeURIComponent(id)}/revoke`)).token;
  }

  async reserveName(name: string, tokenId: string): Promise<ReservedNameView> {
    return (await this.#call<{ name: ReservedNameView }>('POST', '/names', { name, tokenId })).name;
  }

  async listNames(): Promise<ReservedNameView[]> {
    return (await this.#call<{ names: ReservedNameView[] }>('GET', '/names')).names;
  }

  async releaseName(name: string): Promise<void> {
    await this.#call('DELETE', `/names/${encodeURIComponent(name)}`);
  }

  async setAccess(name: string, rules: AccessRuleInput | null): Promise<ReservedNameView> {
    const path = `/names/${encodeURIComponent(name)}/access`;
    if (rules !== null) return (await this.#call<{ name: ReservedNameView }>('PUT', path, rules)).name;
    await this.#call('DELETE', path);
    return (await this.#call<{ name: ReservedNameView }>('GET', `/names/${encodeURIComponent(name)}`)).name;
  }

  async close(): Promise<void> {}

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: { status: number; text: string };
    try {
      res = await this.#request(method, `${this.#base}${ADMIN_API_PREFIX}${path}`, body);
    } catch (err) {
      throw serverUnreachable(this.#base, err);
    }
    let json: unknown;
    try {
      json = res.text === '' ? {} : JSON.parse(res.text);
    } catch {
      throw new BurrowError(
        'BURROW_ERR_SERVER_UNREACHABLE',
        `${this.#base} answered ${res.status} without JSON: is it a burrow server?`,
      );
    }
    if (res.status < 200 || res.status > 299) throw errorFromResponse(res.status, json);
    return json as T;
  }

  /** One request, its whole answer as text; rejects on a network or TLS error, or after ADMIN_CLIENT_TIMEOUT_MS. */
  #request(method: string, url: string, body: unknown): Promise<{ status: number; text: string }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: http.OutgoingHttpHeaders = {
      authorization: `Bearer ${this.#adminToken}`,
      accept: 'application/json',
      ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
    };
    const secure = url.startsWith('https:');
    return new Promise((resolve, reject) => {
      const options: https.RequestOptions = { method, headers, timeout: ADMIN_CLIENT_TIMEOUT_MS };
      if (secure && this.#trust?.ca !== undefined) options.ca = this.#trust.ca;
      if (secure && this.#trust?.rejectUnauthorized === false) options.rejectUnauthorized = false;
      const req = (secure ? https : http).request(url, options, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        r.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${ADMIN_CLIENT_TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }
}

function errorFromResponse(status: number, json: unknown): BurrowError {
  const e = (json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof e?.code === 'string' && e.code in ERROR_CODES ? (e.code as ErrorCode) : undefined;
  const message = typeof e?.message === 'string' ? e.message : `HTTP ${status}`;
  if (!code) return new BurrowError('BURROW_ERR_BAD_REQUEST', `the server answered ${status}: ${message}`);
  const prefix = `${ERROR_CODES[code].message}: `;
  const detail = message.startsWith(prefix)
    ? message.slice(prefix.length)
    : message === ERROR_CODES[code].message
      ? undefined
      : message;
  return new BurrowError(code, detail);
}
