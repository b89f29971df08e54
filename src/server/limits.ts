/**
 * Limits of the visitor-facing HTTP side (the relay and Node's HTTP server behind it). Each is
 * documented in docs/configuration.md and, with what an operator sees when it triggers, in
 * docs/security.md.
 */

/**
 * A request head must arrive whole within this long of its first byte (for a new connection: of
 * connecting), in ms. Absolute, not an idle timer: a visitor trickling one byte a second is cut
 * off all the same (slowloris). Answered 408 BURROW_ERR_REQUEST_TIMEOUT.
 */
export const HEAD_TIMEOUT_MS = 30_000;
/** How often Node's HTTP server checks HEAD_TIMEOUT_MS on the connections it parses, in ms. */
export const HEAD_CHECK_INTERVAL_MS = 1_000;
/**
 * A visitor connection with no request in flight is closed after this long without a byte, in ms
 * (an h2 connection: with no stream open and no frame).
 */
export const RELAY_IDLE_TIMEOUT_MS = 65_000;
/**
 * Concurrent visitor connections one client address may hold (IPv6 per /64), by default; the
 * server flag --max-connections-per-ip changes it (0 = no cap). Not applied with --trust-proxy:
 * there every connection comes from the proxy, which should cap them itself.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 256;
/** Retry-After (seconds) sent with 502 BURROW_ERR_AGENT_GONE: the agent reconnects by itself. */
export const AGENT_GONE_RETRY_AFTER_S = 2;
/**
 * HTTP/2 to visitors (src/server/http/h2.ts): streams one h2 connection may have open at once
 * (SETTINGS_MAX_CONCURRENT_STREAMS); a stream over it is refused (REFUSED_STREAM), the rest go on.
 */
export const H2_MAX_CONCURRENT_STREAMS = 100;
/** Most memory (MiB) nghttp2 may hold for one h2 session's frames and headers; over it, new streams are refused. */
export const H2_MAX_SESSION_MEMORY_MB = 10;
