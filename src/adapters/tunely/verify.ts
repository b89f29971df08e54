/**
 * Who is this tunely agent? A verifier turns the `auth` token into the name it is bound to.
 * Two are provided: a static map (simple setups, tests) and one over burrow's TokenService
 * (`burrow token create --name demo --format tunely`).
 */
import { createHash } from 'node:crypto';
import { BurrowError } from '../../core/errors.js';
import type { TokenService } from '../../auth/token-service.js';

export interface TunelyIdentity {
  /** The tunnel name the token is bound to (the tunnel answers at <name>.<domain>). */
  name: string;
  /** Stable id of the token (never the secret): one live connection per token, revocation. */
  tokenId: string;
}

export interface TunelyVerifyInfo {
  /** The agent's address (for failed-auth rate limiting). */
  address: string;
  clientVersion: string;
}

/**
 * Resolve a token to its identity. Return undefined (or throw a BurrowError, whose message the
 * agent is shown) to refuse it.
 */
export type TunelyTokenVerifier = (token: string, info: TunelyVerifyInfo) => Promise<TunelyIdentity | undefined>;

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** The tokenId a static-map token is known by (for disconnectToken and logs; not the secret). */
export function staticTokenId(token: string): string {
  return `static:${sha256(token).slice(0, 16)}`;
}

/**
 * `{ [token]: name }` → a verifier. Tokens are looked up by their SHA-256, so the lookup time does
 * not depend on how much of a guessed secret matches.
 */
export function staticTokenVerifier(tokens: Readonly<Record<string, string>>): TunelyTokenVerifier {
  const byHash = new Map<string, TunelyIdentity>();
  for (const [token, name] of Object.entries(tokens)) {
    if (token === '') throw new Error('tunely tokens: an empty token is not allowed');
    byHash.set(sha256(token), { name: name.toLowerCase(), tokenId: staticTokenId(token) });
  }
  return (token) => Promise.resolve(byHash.get(sha256(token)));
}

/** The names a static token map serves (they answer 503, not 404, while their agent is offline). */
export function staticTokenNames(tokens: Readonly<Record<string, string>>): Set<string> {
  return new Set(Object.values(tokens).map((n) => n.toLowerCase()));
}

/**
 * A verifier over burrow's token store: the token must exist, not be revoked or expired (failed
 * attempts count toward the per-address limiter), be bound to exactly one name (its only reserved
 * name, or its only exact --name), and be allowed to open http tunnels under that name.
 */
export function tunelyVerifierFromTokens(
  tokens: Pick<TokenService, 'authenticate' | 'authorize' | 'defaultName'>,
): TunelyTokenVerifier {
  return async (secret, info) => {
    const token = await tokens.authenticate(secret, info.address, 'agent');
    const name = await tokens.defaultName(token);
    if (name === undefined) {
      throw new BurrowError(
        'BURROW_ERR_FORBIDDEN',
        `token ${token.prefix}… is not bound to one name; tunely agents need one: burrow token create --name NAME --format tunely`,
      );
    }
    await tokens.authorize(token, { kind: 'http', name, address: info.address });
    return { name, tokenId: token.id };
  };
}
