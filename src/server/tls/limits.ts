/**
 * Automatic TLS (ACME) limits and defaults, in one place (documented in docs/configuration.md and
 * docs/deployment.md#automatic-tls-acme).
 */

/** Let's Encrypt's production directory: the default --acme-directory. */
export const LETS_ENCRYPT_PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';
/** Let's Encrypt's staging directory (--acme-staging): untrusted certificates, generous rate limits. */
export const LETS_ENCRYPT_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';

/** Where certificates and the account key are kept (--acme-dir). */
export const DEFAULT_ACME_DIR = './data/acme';
/** The plain HTTP port (HTTP-01 challenges, redirects to HTTPS) with --acme (--http-port). */
export const DEFAULT_ACME_HTTP_PORT = 80;

/** A certificate is renewed this long before it expires. */
export const ACME_RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;
/** How often the background task looks for certificates due for renewal. */
export const ACME_RENEW_CHECK_INTERVAL_MS = 12 * 60 * 60 * 1000;

/**
 * Most new certificates (issuances, renewals excluded) started per hour: a flood of visits to new
 * tunnel names cannot burn the CA's rate limits (Let's Encrypt: 300 new orders per 3 hours).
 */
export const ACME_MAX_ISSUANCES_PER_HOUR = 30;
/** After a failed issuance, a name is not tried again for this long (visitors get a TLS alert). */
export const ACME_RETRY_AFTER_FAILURE_MS = 10 * 60 * 1000;
/** A TLS handshake waits at most this long for its certificate to be issued, then fails. */
export const ACME_HANDSHAKE_WAIT_MS = 90_000;
/** A request on the plain HTTP port (challenge or redirect) must be whole within this many ms. */
export const PLAIN_HTTP_REQUEST_TIMEOUT_MS = 10_000;

/** The DNS-01 hook (--acme-dns-hook) must finish each set/clear within this many ms, or the order fails. */
export const ACME_DNS_HOOK_TIMEOUT_MS = 120_000;
/** At most this much of a failed hook's output (stderr, then stdout; the end of it) goes in the log. */
export const ACME_DNS_HOOK_OUTPUT_CHARS = 500;
