export { TokenService, type CreateTokenInput, type VerifyContext, type TokenServiceEvents } from './token-service.js';
export { FailedAuthLimiter, RateLimitedError, clientKey } from './failed-auth-limiter.js';
export {
  AccessPolicy,
  toStoredAccessRules,
  parseBasicAuthFlag,
  refusalAsError,
  type AccessDecision,
  type AccessRuleInput,
  type VisitorRequest,
} from './access-policy.js';
export { parseAuthorization, basicAuthorization, type Credentials } from './authorization.js';
export { IpRules, parseCidr, normalizeAddress } from './ip-rules.js';
export { parseRate, TokenBucket, type Rate } from './rate-limit.js';
export { parseDuration } from './duration.js';
export { hashPassword, verifyPassword } from './password.js';
export {
  generateTokenSecret,
  isWellFormedToken,
  sha256Hex,
  constantTimeEqual,
  constantTimeEqualHex,
  randomBase62,
} from './secret.js';
export { normalizeReservableName, normalizeNamePattern, matchesNamePattern } from './names.js';
export { createAdminAdapter, ADMIN_API_PREFIX, type AdminAdapterOptions } from './admin-api.js';
export {
  openAdminBackend,
  LocalAdminBackend,
  RemoteAdminBackend,
  type AdminBackend,
  type CreateTokenRequest,
} from './admin-backend.js';
export {
  tokenView,
  reservedNameView,
  tunnelIdView,
  type TokenView,
  type ReservedNameView,
  type TunnelIdView,
} from './views.js';
export * from './limits.js';
export { Accounts, type AccountsOptions, type AgentRequest, type AgentGrant, type AuthMode } from './accounts.js';
