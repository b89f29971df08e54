/** The burrow client's defaults, in a file of their own so the CLI can show them without loading the client. */

/** Default server when none is given (a local `burrow server`). */
export const DEFAULT_SERVER_URL = 'http://localhost:8080';

/**
 * How long openTunnel()/exposeTcp() keep trying to reach the server the first time before they reject
 * with the last attempt's reason, in ms (the `connectTimeoutMs` option, `--connect-timeout`; 0 = keep
 * trying). After the first registration, drops are retried for ever (reconnect with backoff).
 */
export const FIRST_CONNECT_TIMEOUT_MS = 30_000;
