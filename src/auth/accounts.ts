import { BurrowError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { openStore } from '../store/open.js';
import type { ClaimTunnelIdResult, Store, TokenRecord, TokenScope } from '../store/types.js';
import { AccessPolicy, toStoredAccessRules, type AccessRuleInput } from './access-policy.js';
import { ADMIN_TOKEN_MIN_LENGTH, createAdminAdapter, type AdminApi } from './admin-api.js';
import { FailedAuthLimiter } from './failed-auth-limiter.js';
import { ID_LENGTH, REVOCATION_POLL_INTERVAL_MS } from './limits.js';
import { newId } from './secret.js';
import { TokenService } from './token-service.js';

/** `--auth none` (default, for local use) or `--auth token` (every agent must present a token). */
export type AuthMode = 'none' | 'token';

export interface AccountsOptions {
  /** --db (default BURROW_DB, else sqlite:./data/burrow.db). */
  db?: string | undefined;
  auth?: AuthMode | undefined;
  /** --admin-token / BURROW_ADMIN_TOKEN: enables the admin API for this secret. */
  adminToken?: string | undefined;
  logger?: Logger | undefined;
  /** Poll the database for revocations made elsewhere (0 = off). Default REVOCATION_POLL_INTERVAL_MS. */
  revocationPollMs?: number | undefined;
  /** The clock for token creation and expiry (tests inject one). Default Date.now. */
  now?: (() => number) | undefined;
  /** An already open store (tests, embedding); `db` is then ignored and close() leaves it open. */
  store?: Store | undefined;
}

export interface AgentRequest {
  /** The presented token (header, query or first message), if any. */
  secret?: string | undefined;
  kind: Exclude<TokenScope, 'admin'>;
  /** Requested name; undefined = let the server choose. */
  name?: string | undefined;
  /** Agent address (for the failed-auth limiter). */
  address?: string | undefined;
  /** Tunnels this token holds open right now (the server's live count). */
  openTunnels?: number | undefined;
}

export interface AgentGrant {
  /** The token, or null with --auth none. */
  token: TokenRecord | null;
  /** The name to claim: the requested one, else the token's default name, else undefined (random). */
  name: string | undefined;
}

/**
 * Everything the server needs from accounts, in one object: the store, tokens, agent admission,
 * visitor access policies, persistent tunnel ids and the admin API adapter.
 */
export class Accounts {
  readonly store: Store;
  readonly tokens: TokenService;
  readonly auth: AuthMode;
  /** Where the data lives (safe to print: no password). */
  readonly location: string;
  readonly #adminToken: string | undefined;
  readonly #ownsStore: boolean;

  private constructor(store: Store, options: AccountsOptions, ownsStore: boolean) {
    const logger = options.logger ?? silentLogger();
    this.store = store;
    this.location = store.location;
    this.auth = options.auth ?? 'none';
    this.#adminToken = options.adminToken;
    this.#ownsStore = ownsStore;
    const limiter = new FailedAuthLimiter({
      onLockout: (info) => logger.warn(info, 'failed-auth lockout: too many wrong secrets from this address'),
    });
    this.tokens = new TokenService({ store, logger, limiter, ...(options.now ? { now: options.now } : {}) });
    const poll = options.revocationPollMs ?? REVOCATION_POLL_INTERVAL_MS;
    if (poll > 0) this.tokens.startRevocationWatch(poll);
  }

  /** Open the database (creating and migrating it) and start watching revocations. */
  static async open(options: AccountsOptions = {}): Promise<Accounts> {
    if (options.auth !== undefined && options.auth !== 'none' && options.auth !== 'token') {
      throw new BurrowError('BURROW_ERR_INVALID_CONFIG', `--auth must be none or token, not "${String(options.auth)}"`);
    }
    if (options.adminToken !== undefined && options.adminToken.length < ADMIN_TOKEN_MIN_LENGTH) {
      throw new BurrowError(
        'BURROW_ERR_INVALID_CONFIG',
        `--admin-token must be at least ${ADMIN_TOKEN_MIN_LENGTH} characters`,
      );
    }
    if (options.store) return new Accounts(options.store, options, false);
    return new Accounts(await openStore(options.db), options, true);
  }

  /**
   * Admit an agent: with --auth token, a valid token allowed this kind, name and count
   * (BURROW_ERR_UNAUTHORIZED / FORBIDDEN / RATE_LIMITED otherwise); with --auth none, anyone,
   * but names reserved for a token stay theirs. A presented token is still checked with --auth none.
   */
  async admitAgent(req: AgentRequest): Promise<AgentGrant> {
    if (this.auth === 'none' && (req.secret === undefined || req.secret === '')) {
      if (req.name !== undefined && req.name !== '') await this.tokens.checkAnonymousName(req.name);
      return { token: null, name: req.name || undefined };
    }
    const token = await this.tokens.authenticate(req.secret, req.address, 'agent');
    const name = req.name || (await this.tokens.defaultName(token));
    await this.tokens.authorize(token, { kind: req.kind, name, openTunnels: req.openTunnels });
    return { token, name };
  }

  /**
   * The visitor policy for a tunnel. Rules from the agent's flags win, and are saved with the name
   * when the name is reserved for the agent's token; without flags, the rules stored with the
   * reserved name apply. Undefined when nothing is enforced.
   */
  async accessPolicyFor(
    name: string,
    tokenId: string | null,
    input: AccessRuleInput = {},
    options: { limiter?: FailedAuthLimiter } = {},
  ): Promise<AccessPolicy | undefined> {
    const policyOptions = { realm: name, limiter: options.limiter ?? this.tokens.limiter };
    const hasInput =
      input.basicAuth !== undefined ||
      input.bearer !== undefined ||
      (input.allowIps?.length ?? 0) > 0 ||
      (input.denyIps?.length ?? 0) > 0 ||
      input.rateLimit !== undefined;
    const reserved = await this.store.getReservedName(name.toLowerCase());
    if (hasInput) {
      const policy = AccessPolicy.fromInput(input, policyOptions);
      if (reserved && tokenId !== null && reserved.tokenId === tokenId) {
        await this.store.setAccessRules(reserved.name, await toStoredAccessRules(input));
      }
      return policy;
    }
    if (reserved?.access) return AccessPolicy.fromStored(reserved.access, policyOptions);
    return undefined;
  }

  /** The stable id for this agent's tunnel (same token + name, or its previous id → the same id). */
  tunnelId(input: {
    name: string;
    tokenId: string | null;
    protocol: string;
    previousId?: string | undefined;
  }): Promise<ClaimTunnelIdResult> {
    return this.store.claimTunnelId({ ...input, newId: newId('', ID_LENGTH), now: Date.now() });
  }

  /** The admin API (/api/admin/…) as a server adapter. */
  adminAdapter(logger?: Logger): AdminApi {
    return createAdminAdapter({
      store: this.store,
      tokens: this.tokens,
      adminToken: this.#adminToken,
      auth: this.auth,
      ...(logger ? { logger } : {}),
    });
  }

  async close(): Promise<void> {
    this.tokens.stopRevocationWatch();
    if (this.#ownsStore) await this.store.close();
  }
}
