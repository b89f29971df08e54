/**
 * Named limits and defaults of the localtunnel / pipenet edge (docs/localtunnel.md lists them).
 */

/** Pool sockets advertised to each client (`max_conn_count` / `maxConnCount`), like pipenet's --max-sockets. */
export const DEFAULT_MAX_SOCKETS = 10;
/** Upper bound for the maxSockets option. */
export const MAX_MAX_SOCKETS = 1_000;
/**
 * Idle pool sockets get `\r\n` this often, in ms. HTTP allows blank lines before a request, and the
 * traffic keeps pipenet 1.4.3 clients (30 s socket timeout) and NAT boxes from dropping them.
 */
export const KEEPALIVE_INTERVAL_MS = 10_000;
/**
 * A tunnel whose pool drained (or that never got a socket) is kept this long, in ms, so the client
 * can reconnect its sockets (lt and pipenet reconnect to the same port without a new handshake).
 */
export const POOL_GRACE_MS = 30_000;
/** Most visitor requests waiting for a free pool socket, per tunnel (beyond: 503 STREAM_LIMIT). */
export const DEFAULT_MAX_QUEUED = 1_000;
/** How long a visitor request waits for a free pool socket, in ms (then 504 TIMEOUT). */
export const DEFAULT_QUEUE_TIMEOUT_MS = 15_000;
/** Shared tunnel port: most bytes read for the `<id>\n` line. */
export const ID_LINE_MAX_BYTES = 100;
/** Shared tunnel port: how long a new socket has to send its `<id>\n` line, in ms. */
export const ID_LINE_TIMEOUT_MS = 5_000;
/**
 * On a pool socket's first request, the request body is held back this long (ms) after the head.
 * lt --local-host and pipenet (always) run the first chunks of each pool socket through a
 * string-based Host rewriter until it sees a Host header; a body in the same chunk as the head
 * would be UTF-8-mangled. A separate, earlier head keeps binary bodies byte-exact.
 */
export const FIRST_REQUEST_BODY_DELAY_MS = 15;
/** Most per-tunnel ports tried in a configured range before giving up. */
export const PORT_RANGE_ATTEMPTS = 64;
