/** Named limits of authentication and access rules (docs/accounts.md, "Configuration"). */

/** Random base62 characters after `brw_` / `tun_` in a new token (≈ 238 bits). */
export const TOKEN_SECRET_LENGTH = 40;
/** Shortest random part accepted when verifying a presented token. */
export const TOKEN_SECRET_MIN_LENGTH = 32;
/** Longest token accepted at all (anything longer is refused before hashing). */
export const TOKEN_MAX_LENGTH = 256;
/** Random characters shown after the format prefix (`brw_Ab12Cd34`) to identify a token. */
export const TOKEN_VISIBLE_PREFIX_CHARS = 8;
/** Random characters in token ids (`tok_…`) and persistent tunnel ids. */
export const ID_LENGTH = 16;

/** Failed authentication attempts allowed per client address within the window. */
export const FAILED_AUTH_MAX_ATTEMPTS = 10;
/** The window for FAILED_AUTH_MAX_ATTEMPTS, in ms. */
export const FAILED_AUTH_WINDOW_MS = 60_000;
/** Addresses tracked at once by the failed-auth limiter (oldest forgotten first). */
export const FAILED_AUTH_MAX_TRACKED = 100_000;

/** last_used_at is written at most this often per token, in ms (not on every connection). */
export const TOKEN_TOUCH_INTERVAL_MS = 60_000;
/** How often a server polls the database for tokens revoked elsewhere (CLI, another server), in ms. */
export const REVOCATION_POLL_INTERVAL_MS = 5_000;

/** scrypt cost for stored visitor passwords (N, r, p) and sizes. */
export const SCRYPT_N = 16_384;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
export const SCRYPT_KEY_LENGTH = 32;
export const SCRYPT_SALT_LENGTH = 16;
/** Verified visitor credentials remembered per tunnel so scrypt runs once per credential, not per request. */
export const VERIFIED_CREDENTIALS_CACHE_SIZE = 256;

/** Longest Authorization header value read by the access checks. */
export const MAX_AUTHORIZATION_LENGTH = 4_096;
/** Most IP rules (allow + deny) on one tunnel. */
export const MAX_IP_RULES = 256;
/** Highest request rate accepted in a --rate-limit value (requests per second, after conversion). */
export const MAX_RATE_PER_SECOND = 1_000_000;

/** Largest JSON body the admin API reads, in bytes. */
export const ADMIN_MAX_BODY_BYTES = 64 * 1024;
/** Timeout of one admin API call made by the CLI (`--server`), in ms. */
export const ADMIN_CLIENT_TIMEOUT_MS = 15_000;
