import { createHash, timingSafeEqual } from 'node:crypto';
import { BurrowError } from '../core/errors.js';
import type { StoredAccessRules } from '../store/types.js';
import { parseAuthorization, type Credentials } from './authorization.js';
import type { FailedAuthLimiter } from './failed-auth-limiter.js';
import { IpRules } from './ip-rules.js';
import { VERIFIED_CREDENTIALS_CACHE_SIZE } from './limits.js';
import { hashPassword, verifyPassword } from './password.js';
import { parseRate, TokenBucket } from './rate-limit.js';
import { constantTimeEqual, constantTimeEqualHex, sha256Hex } from './secret.js';

/** Access rules as the agent gives them (flags `--basic-auth user:pass --bearer T --allow-ip … --deny-ip … --rate-limit 100/s`). */
export interface AccessRuleInput {
  basicAuth?: string | undefined;
  bearer?: string | undefined;
  allowIps?: readonly string[] | undefined;
  denyIps?: readonly string[] | undefined;
  rateLimit?: string | undefined;
}

export type AccessDecision =
  | {
      readonly allow: true;
      /** The visitor's Authorization header carried the tunnel's own credentials: remove it before the origin sees it. */
      readonly stripAuthorization: boolean;
    }
  | {
      readonly allow: false;
      readonly status: 401 | 403 | 429;
      readonly code: 'BURROW_ERR_UNAUTHORIZED' | 'BURROW_ERR_FORBIDDEN' | 'BURROW_ERR_RATE_LIMITED';
      readonly message: string;
      /** Headers to send with the refusal: WWW-Authenticate (401), Retry-After (429). */
      readonly headers: Readonly<Record<string, string | string[]>>;
    };

export interface VisitorRequest {
  /** Visitor address after --trust-proxy handling. */
  readonly remoteAddress: string;
  /** The raw Authorization header, if any. */
  readonly authorization?: string | readonly string[] | undefined;
}

export interface AccessPolicyOptions {
  /** Realm shown in the browser's login prompt (default: "burrow"). */
  realm?: string;
  /** Shared failed-auth limiter: wrong credentials count against the visitor's address (surface `visitor`). */
  limiter?: FailedAuthLimiter;
  now?: () => number;
}

interface BasicRule {
  readonly user: string;
  readonly password?: string;
  readonly passwordHash?: string;
}

/** SHA-256 of `user:password`: one digest per request compared in constant time (the user has no colon). */
function credentialDigest(user: string, password: string): Buffer {
  return createHash('sha256').update(`${user}:${password}`, 'utf8').digest();
}

/** `user:pass` → { user, password }. The user may not be empty or contain a colon; the password may. */
export function parseBasicAuthFlag(text: string): { user: string; password: string } {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) {
    throw new BurrowError('BURROW_ERR_INVALID_ACCESS_RULE', '--basic-auth must be user:password (both not empty)');
  }
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * A tunnel's visitor access rules, compiled once and checked on every request before any byte
 * reaches the agent. Order: IP rules (403), rate limit (429), credentials (401). With both Basic
 * and Bearer configured, either is accepted.
 */
const ALLOW_OPEN: AccessDecision = Object.freeze({ allow: true, stripAuthorization: false });
const ALLOW_STRIPPED: AccessDecision = Object.freeze({ allow: true, stripAuthorization: true });

export class AccessPolicy {
  readonly #ip: IpRules | undefined;
  readonly #bucket: TokenBucket | undefined;
  readonly #basic: BasicRule | undefined;
  readonly #bearerHash: string | undefined;
  readonly #realm: string;
  readonly #limiter: FailedAuthLimiter | undefined;
  /** SHA-256 of Authorization values whose scrypt check passed (LRU by Map order). */
  readonly #verified = new Map<string, true>();
  /** For a Basic rule with its password in memory (agent flags): the digest of `user:password`. */
  readonly #basicDigest: Buffer | undefined;

  private constructor(
    parts: { ip?: IpRules; bucket?: TokenBucket; basic?: BasicRule; bearerHash?: string },
    options: AccessPolicyOptions,
  ) {
    this.#ip = parts.ip;
    this.#bucket = parts.bucket;
    this.#basic = parts.basic;
    this.#bearerHash = parts.bearerHash;
    this.#realm = (options.realm ?? 'burrow').replace(/["\\\r\n]/g, '');
    const basic = parts.basic;
    this.#basicDigest = basic?.password !== undefined ? credentialDigest(basic.user, basic.password) : undefined;
    this.#limiter = options.limiter;
  }

  /** From the agent's flags (secrets in memory only). Throws BURROW_ERR_INVALID_ACCESS_RULE listing the problem. */
  static fromInput(input: AccessRuleInput, options: AccessPolicyOptions = {}): AccessPolicy {
    const ip = buildIpRules(input.allowIps ?? [], input.denyIps ?? []);
    const bucket = input.rateLimit ? new TokenBucket(parseRate(input.rateLimit), options.now) : undefined;
    const basic = input.basicAuth !== undefined ? parseBasicAuthFlag(input.basicAuth) : undefined;
    if (input.bearer !== undefined && input.bearer.length === 0) {
      throw new BurrowError('BURROW_ERR_INVALID_ACCESS_RULE', '--bearer must not be empty');
    }
    const bearerHash = input.bearer !== undefined ? sha256Hex(input.bearer) : undefined;
    return new AccessPolicy(
      {
        ...(ip ? { ip } : {}),
        ...(bucket ? { bucket } : {}),
        ...(basic ? { basic } : {}),
        ...(bearerHash ? { bearerHash } : {}),
      },
      options,
    );
  }

  /** From rules stored with a reserved name (hashed secrets). */
  static fromStored(rules: StoredAccessRules, options: AccessPolicyOptions = {}): AccessPolicy {
    const ip = buildIpRules(rules.allowIps, rules.denyIps);
    const bucket = rules.rateLimit ? new TokenBucket(parseRate(rules.rateLimit), options.now) : undefined;
    const basic =
      rules.basicUser !== null && rules.basicPasswordHash !== null
        ? { user: rules.basicUser, passwordHash: rules.basicPasswordHash }
        : undefined;
    return new AccessPolicy(
      {
        ...(ip ? { ip } : {}),
        ...(bucket ? { bucket } : {}),
        ...(basic ? { basic } : {}),
        ...(rules.bearerHash !== null ? { bearerHash: rules.bearerHash } : {}),
      },
      options,
    );
  }

  /** True when no rule is set (every request passes). */
  get open(): boolean {
    return !this.#ip && !this.#bucket && !this.#basic && this.#bearerHash === undefined;
  }

  /** What is enforced, without secrets (for logs and status pages). */
  describe(): { basicAuth: boolean; bearer: boolean; allowIps: string[]; denyIps: string[]; rateLimit: string | null } {
    return {
      basicAuth: this.#basic !== undefined,
      bearer: this.#bearerHash !== undefined,
      allowIps: this.#ip?.allow.map((c) => c.text) ?? [],
      denyIps: this.#ip?.deny.map((c) => c.text) ?? [],
      rateLimit: this.#bucket?.rate.text ?? null,
    };
  }

  /**
   * Decide one visitor request. Never throws. The answer is immediate (no promise, so the relay
   * forwards at once) unless a stored password must be checked with scrypt for the first time.
   */
  check(req: VisitorRequest): AccessDecision | Promise<AccessDecision> {
    if (this.#ip && !this.#ip.allows(req.remoteAddress)) {
      return refuse(403, 'BURROW_ERR_FORBIDDEN', 'Your address may not reach this tunnel', {});
    }
    if (this.#bucket) {
      const wait = this.#bucket.take();
      if (wait > 0) {
        return refuse(429, 'BURROW_ERR_RATE_LIMITED', 'This tunnel receives too many requests; slow down', {
          'Retry-After': String(wait),
        });
      }
    }
    if (!this.#basic && this.#bearerHash === undefined) return ALLOW_OPEN;

    const creds = parseAuthorization(req.authorization);
    if (creds && this.#limiter) {
      const wait = this.#limiter.retryAfter(req.remoteAddress, 'visitor');
      if (wait > 0) {
        return refuse(429, 'BURROW_ERR_RATE_LIMITED', 'Too many failed login attempts', {
          'Retry-After': String(wait),
        });
      }
    }
    if (!creds) return this.#challenge(undefined);
    const matched = this.#matches(creds, req.authorization as string);
    return typeof matched === 'boolean'
      ? this.#verdict(matched, creds, req.remoteAddress)
      : matched.then((ok) => this.#verdict(ok, creds, req.remoteAddress));
  }

  #verdict(matched: boolean, creds: Credentials, remoteAddress: string): AccessDecision {
    if (matched) return ALLOW_STRIPPED;
    this.#limiter?.fail(remoteAddress, 'visitor');
    return this.#challenge(creds);
  }

  /** 401 with the challenges of the schemes this tunnel accepts. */
  #challenge(creds: Credentials | undefined): AccessDecision {
    const challenges: string[] = [];
    if (this.#basic) challenges.push(`Basic realm="${this.#realm}", charset="UTF-8"`);
    if (this.#bearerHash !== undefined) {
      challenges.push(
        creds?.scheme === 'bearer'
          ? `Bearer realm="${this.#realm}", error="invalid_token"`
          : `Bearer realm="${this.#realm}"`,
      );
    }
    return refuse(
      401,
      'BURROW_ERR_UNAUTHORIZED',
      creds ? 'Wrong credentials for this tunnel' : 'This tunnel needs credentials',
      {
        'WWW-Authenticate': challenges.length === 1 ? (challenges[0] ?? '') : challenges,
      },
    );
  }

  #matches(creds: Credentials, header: string): boolean | Promise<boolean> {
    if (creds.scheme === 'bearer') {
      return this.#bearerHash !== undefined && constantTimeEqualHex(sha256Hex(creds.token), this.#bearerHash);
    }
    const rule = this.#basic;
    if (!rule) return false;
    if (this.#basicDigest !== undefined) {
      return timingSafeEqual(credentialDigest(creds.user, creds.password), this.#basicDigest);
    }
    const userOk = constantTimeEqual(creds.user, rule.user);
    if (rule.passwordHash === undefined) return false;
    const key = sha256Hex(header);
    if (this.#verified.has(key)) {
      this.#verified.delete(key);
      this.#verified.set(key, true);
      return true;
    }
    return verifyPassword(creds.password, rule.passwordHash).then((passwordOk) => {
      const ok = passwordOk && userOk;
      if (ok) {
        this.#verified.set(key, true);
        if (this.#verified.size > VERIFIED_CREDENTIALS_CACHE_SIZE) {
          const oldest = this.#verified.keys().next();
          if (!oldest.done) this.#verified.delete(oldest.value);
        }
      }
      return ok;
    });
  }
}

/** Validate the agent's rules and turn them into what is stored with a reserved name (secrets hashed). */
export async function toStoredAccessRules(
  input: AccessRuleInput,
  now: number = Date.now(),
): Promise<StoredAccessRules> {
  AccessPolicy.fromInput(input); // validates everything first
  const basic = input.basicAuth !== undefined ? parseBasicAuthFlag(input.basicAuth) : undefined;
  return {
    basicUser: basic?.user ?? null,
    basicPasswordHash: basic ? await hashPassword(basic.password) : null,
    bearerHash: input.bearer !== undefined ? sha256Hex(input.bearer) : null,
    allowIps: [...(input.allowIps ?? [])].map((s) => s.trim()),
    denyIps: [...(input.denyIps ?? [])].map((s) => s.trim()),
    rateLimit: input.rateLimit ? parseRate(input.rateLimit).text : null,
    updatedAt: now,
  };
}

/**
 * A refusal as the server's error objects: the BurrowError (status and code) with the decision's
 * message, and its headers flattened for sendError (several challenges joined, RFC 9110 §11.6.1).
 */
export function refusalAsError(decision: Extract<AccessDecision, { allow: false }>): {
  error: BurrowError;
  headers: Record<string, string>;
} {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(decision.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  return { error: new BurrowError(decision.code, decision.message), headers };
}

function buildIpRules(allow: readonly string[], deny: readonly string[]): IpRules | undefined {
  if (allow.length === 0 && deny.length === 0) return undefined;
  return new IpRules(allow, deny);
}

function refuse(
  status: 401 | 403 | 429,
  code: 'BURROW_ERR_UNAUTHORIZED' | 'BURROW_ERR_FORBIDDEN' | 'BURROW_ERR_RATE_LIMITED',
  message: string,
  headers: Record<string, string | string[]>,
): AccessDecision {
  return { allow: false, status, code, message, headers };
}
