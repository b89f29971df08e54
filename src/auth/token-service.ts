import { EventEmitter } from 'node:events';
import { BurrowError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import {
  DEFAULT_TOKEN_SCOPES,
  TOKEN_SCOPES,
  type ReservedName,
  type Store,
  type TokenFormat,
  type TokenRecord,
  type TokenScope,
} from '../store/types.js';
import { FailedAuthLimiter, type AuthSurface } from './failed-auth-limiter.js';
import { ID_LENGTH, REVOCATION_POLL_INTERVAL_MS, TOKEN_TOUCH_INTERVAL_MS } from './limits.js';
import { matchesNamePattern, normalizeNamePattern, normalizeReservableName } from './names.js';
import { generateTokenSecret, isWellFormedToken, newId, sha256Hex, visiblePrefix } from './secret.js';

/** Longest label kept on a token. */
export const MAX_TOKEN_LABEL_LENGTH = 200;
/** Most allowed-name patterns on one token. */
export const MAX_TOKEN_NAMES = 100;
/** Largest --max-tunnels on one token. */
export const MAX_TOKEN_TUNNELS = 100_000;

export interface CreateTokenInput {
  label?: string | undefined;
  /** Allowed names/domains/patterns; empty or absent = any name not reserved by another token. */
  names?: readonly string[] | undefined;
  /** Allowed kinds (default DEFAULT_TOKEN_SCOPES). */
  scopes?: readonly string[] | undefined;
  maxTunnels?: number | null | undefined;
  /** Lifetime in ms from now; null/absent = never expires. */
  expiresInMs?: number | null | undefined;
  format?: TokenFormat | undefined;
}

export interface VerifyContext {
  /** What the agent wants to open: http, tcp, tiflis, pipe, admin. */
  kind: TokenScope;
  /** The name it asks for; undefined = it lets the server choose. */
  name?: string | undefined;
  /** How many tunnels this token holds open right now (live state is the server's). */
  openTunnels?: number | undefined;
  /** Client address, for the failed-auth limiter. */
  address?: string | undefined;
  /** Which failed-auth bucket a wrong secret counts in (default: admin for kind admin, pipe for pipe, else agent). */
  surface?: AuthSurface | undefined;
}

export interface TokenServiceEvents {
  /** A token was revoked (here, through the API, or seen by polling): disconnect its agents. */
  revoked: [tokenId: string];
}

export interface TokenServiceOptions {
  store: Store;
  limiter?: FailedAuthLimiter;
  logger?: Logger;
  now?: () => number;
}

/**
 * Tokens: create (the secret is returned once and only its SHA-256 is stored), verify agents,
 * list, revoke (emits 'revoked' at once), and watch the database for revocations made elsewhere.
 */
export class TokenService extends EventEmitter<TokenServiceEvents> {
  readonly store: Store;
  readonly limiter: FailedAuthLimiter;
  readonly #logger: Logger;
  readonly #now: () => number;
  #watch: NodeJS.Timeout | undefined;
  #watchSince = 0;
  #polling = false;
  readonly #announced = new Set<string>();

  constructor(options: TokenServiceOptions) {
    super();
    this.store = options.store;
    this.#now = options.now ?? Date.now;
    this.limiter = options.limiter ?? new FailedAuthLimiter({ now: this.#now });
    this.#logger = options.logger ?? silentLogger();
  }

  /** Create a token. The returned secret is shown once; it cannot be read back later. */
  async create(input: CreateTokenInput = {}): Promise<{ token: TokenRecord; secret: string }> {
    const format: TokenFormat = input.format ?? 'burrow';
    if (format !== 'burrow' && format !== 'tunely') {
      throw new BurrowError('BURROW_ERR_BAD_REQUEST', `--format must be burrow or tunely, not "${String(format)}"`);
    }
    const label = (input.label ?? '').trim();
    if (label.length > MAX_TOKEN_LABEL_LENGTH) {
      throw new BurrowError('BURROW_ERR_BAD_REQUEST', `--label is longer than ${MAX_TOKEN_LABEL_LENGTH} characters`);
    }
    const scopes = normalizeScopes(input.scopes);
    const names = [...new Set((input.names ?? []).map(normalizeNamePattern))];
    if (names.length > MAX_TOKEN_NAMES) {
      throw new BurrowError('BURROW_ERR_BAD_REQUEST', `at most ${MAX_TOKEN_NAMES} --name values per token`);
    }
    const maxTunnels = input.maxTunnels ?? null;
    if (maxTunnels !== null && (!Number.isInteger(maxTunnels) || maxTunnels < 1 || maxTunnels > MAX_TOKEN_TUNNELS)) {
      throw new BurrowError(
        'BURROW_ERR_BAD_REQUEST',
        `--max-tunnels must be a whole number from 1 to ${MAX_TOKEN_TUNNELS}`,
      );
    }
    const now = this.#now();
    const expires = input.expiresInMs ?? null;
    if (expires !== null && (!Number.isFinite(expires) || expires <= 0)) {
      throw new BurrowError('BURROW_ERR_BAD_REQUEST', '--expires must be a positive duration such as 30d');
    }
    const secret = generateTokenSecret(format);
    const token: TokenRecord = {
      id: newId('tok_', ID_LENGTH),
      prefix: visiblePrefix(secret),
      hash: sha256Hex(secret),
      label,
      format,
      scopes,
      names,
      maxTunnels,
      createdAt: now,
      lastUsedAt: null,
      expiresAt: expires === null ? null : now + expires,
      revokedAt: null,
    };
    await this.store.insertToken(token);
    this.#logger.info({ tokenId: token.id, prefix: token.prefix, scopes, names }, 'token created');
    return { token, secret };
  }

  /**
   * Check a presented secret: rate limit per address, then existence, revocation, expiry
   * (BURROW_ERR_UNAUTHORIZED / BURROW_ERR_RATE_LIMITED), then what it may do
   * (BURROW_ERR_FORBIDDEN). Returns the token record; updates last_used_at (at most once a minute).
   */
  async verify(secret: string | undefined, ctx: VerifyContext): Promise<TokenRecord> {
    const surface = ctx.surface ?? (ctx.kind === 'admin' || ctx.kind === 'pipe' ? ctx.kind : 'agent');
    const token = await this.authenticate(secret, ctx.address, surface);
    await this.authorize(token, ctx);
    return token;
  }

  /**
   * Who is this? Existence, revocation and expiry only (no scope or name checks). A wrong secret
   * counts against `address` in the `surface` bucket of the failed-auth limiter.
   */
  async authenticate(
    secret: string | undefined,
    address?: string,
    surface: AuthSurface = 'agent',
  ): Promise<TokenRecord> {
    if (address !== undefined) this.limiter.check(address, surface);
    const fail = (detail: string): never => {
      if (address !== undefined) this.limiter.fail(address, surface);
      throw new BurrowError('BURROW_ERR_UNAUTHORIZED', detail);
    };
    if (secret === undefined || secret === '') return fail('no token was given');
    if (!isWellFormedToken(secret)) return fail('the token is not a burrow token (brw_… or tun_…)');
    const token = await this.store.findTokenByHash(sha256Hex(secret));
    if (!token) return fail('unknown token');
    const now = this.#now();
    if (token.revokedAt !== null)
      throw new BurrowError('BURROW_ERR_UNAUTHORIZED', `token ${token.prefix}… was revoked`);
    if (token.expiresAt !== null && token.expiresAt <= now) {
      throw new BurrowError('BURROW_ERR_UNAUTHORIZED', `token ${token.prefix}… expired`);
    }
    this.#touch(token, now);
    return token;
  }

  /** May this token open this kind, under this name, with this many tunnels open? Throws BURROW_ERR_FORBIDDEN. */
  async authorize(token: TokenRecord, ctx: VerifyContext): Promise<void> {
    if (!token.scopes.includes(ctx.kind)) {
      throw new BurrowError(
        'BURROW_ERR_FORBIDDEN',
        `token ${token.prefix}… may not open ${ctx.kind} tunnels (allowed: ${token.scopes.join(', ') || 'none'})`,
      );
    }
    if (token.maxTunnels !== null && (ctx.openTunnels ?? 0) >= token.maxTunnels) {
      throw new BurrowError(
        'BURROW_ERR_FORBIDDEN',
        `token ${token.prefix}… already has ${ctx.openTunnels ?? 0} of its ${token.maxTunnels} tunnels open`,
      );
    }
    if (ctx.kind === 'admin') return;
    if (ctx.name === undefined || ctx.name === '') {
      if (token.names.length > 0) {
        throw new BurrowError(
          'BURROW_ERR_FORBIDDEN',
          `token ${token.prefix}… may only open tunnels named ${token.names.join(', ')}; pass --subdomain`,
        );
      }
      return;
    }
    const name = ctx.name.toLowerCase();
    const reserved = await this.store.getReservedName(name);
    if (reserved) {
      if (reserved.tokenId === token.id) return;
      throw new BurrowError('BURROW_ERR_FORBIDDEN', `"${name}" is reserved for another token`);
    }
    if (token.names.length > 0 && !token.names.some((p) => matchesNamePattern(p, name))) {
      throw new BurrowError(
        'BURROW_ERR_FORBIDDEN',
        `token ${token.prefix}… may not use the name "${name}" (allowed: ${token.names.join(', ')})`,
      );
    }
  }

  /** For servers without tokens (--auth none): refuse names reserved for a token. */
  async checkAnonymousName(name: string): Promise<void> {
    const reserved = await this.store.getReservedName(name.toLowerCase());
    if (reserved) throw new BurrowError('BURROW_ERR_FORBIDDEN', `"${name}" is reserved; connect with its token`);
  }

  /**
   * The name to give an agent that did not ask for one: its only reserved name, else its only
   * exact allowed name (tunely tokens are bound to one domain this way), else undefined (random).
   */
  async defaultName(token: TokenRecord): Promise<string | undefined> {
    const reserved = await this.store.listReservedNames({ tokenId: token.id });
    if (reserved.length === 1) return reserved[0]?.name;
    const exact = token.names.filter((n) => !n.includes('*'));
    return exact.length === 1 && token.names.length === 1 ? exact[0] : undefined;
  }

  async get(id: string): Promise<TokenRecord> {
    const token = await this.store.getToken(id);
    if (!token) throw new BurrowError('BURROW_ERR_TOKEN_NOT_FOUND', `"${id.slice(0, 80)}"`);
    return token;
  }

  list(): Promise<TokenRecord[]> {
    return this.store.listTokens();
  }

  /** Revoke at once; emits 'revoked' so the server closes the token's agents. Idempotent. */
  async revoke(id: string): Promise<TokenRecord> {
    const token = await this.store.revokeToken(id, this.#now());
    if (!token) throw new BurrowError('BURROW_ERR_TOKEN_NOT_FOUND', `"${id.slice(0, 80)}"`);
    this.#announce(token.id);
    this.#logger.info({ tokenId: token.id, prefix: token.prefix }, 'token revoked');
    return token;
  }

  /** Reserve a name (or domain) for a token. BURROW_ERR_NAME_TAKEN when another token holds it. */
  async reserveName(name: string, tokenId: string): Promise<ReservedName> {
    const normalized = normalizeReservableName(name);
    const token = await this.get(tokenId);
    if (token.revokedAt !== null) {
      throw new BurrowError(
        'BURROW_ERR_BAD_REQUEST',
        `token ${token.id} is revoked; reserve the name for an active token`,
      );
    }
    return this.store.reserveName({ name: normalized, tokenId: token.id, now: this.#now() });
  }

  async releaseName(name: string): Promise<void> {
    const released = await this.store.releaseName(name.trim().toLowerCase());
    if (!released) throw new BurrowError('BURROW_ERR_NAME_NOT_RESERVED', `"${name.slice(0, 80)}"`);
  }

  /**
   * Poll the database for revocations made by other processes (the CLI on the same SQLite file,
   * other servers sharing PostgreSQL) and emit 'revoked' for each. Timer is unref'd.
   */
  startRevocationWatch(intervalMs: number = REVOCATION_POLL_INTERVAL_MS): void {
    if (this.#watch) return;
    this.#watchSince = this.#now();
    this.#watch = setInterval(() => void this.pollRevocations(), intervalMs);
    this.#watch.unref();
  }

  /** One poll (the watch calls it; tests may too). Failures are logged, never thrown. */
  async pollRevocations(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    const startedAt = this.#now();
    try {
      // Look back a little: another server's clock may be behind ours.
      const rows = await this.store.listRevokedSince(this.#watchSince - REVOCATION_POLL_INTERVAL_MS * 12);
      for (const r of rows) this.#announce(r.id);
      // Expiry ends a token like a revocation: live agents holding it are disconnected.
      for (const t of await this.store.listTokens()) {
        if (t.expiresAt !== null && t.expiresAt <= startedAt) this.#announce(t.id);
      }
      this.#watchSince = startedAt;
    } catch (err) {
      this.#logger.warn({ err }, 'polling revoked tokens failed');
    } finally {
      this.#polling = false;
    }
  }

  stopRevocationWatch(): void {
    if (this.#watch) clearInterval(this.#watch);
    this.#watch = undefined;
  }

  #announce(id: string): void {
    if (this.#announced.has(id)) return;
    this.#announced.add(id);
    this.emit('revoked', id);
  }

  #touch(token: TokenRecord, now: number): void {
    if (token.lastUsedAt !== null && now - token.lastUsedAt < TOKEN_TOUCH_INTERVAL_MS) return;
    this.store.touchToken(token.id, now).catch((err: unknown) => {
      this.#logger.warn({ err, tokenId: token.id }, 'could not record token use');
    });
  }
}

function normalizeScopes(input: readonly string[] | undefined): TokenScope[] {
  if (input === undefined || input.length === 0) return [...DEFAULT_TOKEN_SCOPES];
  const out = new Set<TokenScope>();
  for (const raw of input) {
    for (const part of raw.split(',')) {
      const s = part.trim().toLowerCase();
      if (s === '') continue;
      if (!(TOKEN_SCOPES as readonly string[]).includes(s)) {
        throw new BurrowError(
          'BURROW_ERR_BAD_REQUEST',
          `--kind "${s.slice(0, 40)}" must be one of ${TOKEN_SCOPES.join(', ')}`,
        );
      }
      out.add(s as TokenScope);
    }
  }
  return [...out];
}
