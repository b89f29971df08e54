/**
 * Every limit and default in burrow, named in one place (docs/configuration.md lists them).
 * Protocol limits live in src/wire/mux/limits.ts; adapter-specific ones in their folders.
 */

/** Tunnel names (DNS labels). */
export const NAME_MIN_LENGTH = 4;
export const NAME_MAX_LENGTH = 63;

/** Default server port. */
export const DEFAULT_PORT = 8080;
/** Largest request head (request line + headers) accepted from visitors, in bytes. */
export const MAX_HEADER_BYTES = 32 * 1024;
/** How long a visitor waits for the origin's response head before a 504, in ms. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Default cap on live tunnels per server. */
export const DEFAULT_MAX_TUNNELS = 10_000;
/** Default cap on concurrently open streams (connections) per tunnel. */
export const DEFAULT_MAX_STREAMS_PER_TUNNEL = 1_000;
/** How long a tunnel name stays reserved for its agent after the agent disconnects, in ms. */
export const DEFAULT_RESUME_GRACE_MS = 60_000;
/**
 * How long a tunnel name stays held after its agent said goodbye (a clean stop, e.g. a restart), in
 * ms; never longer than the resume grace. Visitors get 503 TUNNEL_RESTARTING meanwhile, not 404; the
 * same owner (resume token, access token, or address for anonymous agents) takes it back at once.
 */
export const GOODBYE_HOLD_MS = 5_000;
/** Retry-After (seconds) sent to visitors of a name held after a goodbye. */
export const GOODBYE_HOLD_RETRY_AFTER_S = 1;
/** How long graceful close() waits for in-flight requests before cutting them, in ms. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

/** Per-client limits (failed auth, new tunnels) count IPv6 clients per /64 (src/core/client-key.ts). */
export const CLIENT_IPV6_PREFIX = 64;
/**
 * New tunnels one client address (IPv6: its /64) may create per NEW_TUNNELS_WINDOW_MS, on every
 * edge together (burrow REGISTER, localtunnel, tunely, tiflis); an unclaimed localtunnel pool
 * port keeps counting until a pool socket claims it. `--new-tunnels-per-minute`.
 */
export const DEFAULT_NEW_TUNNELS_PER_MINUTE = 60;
/** The sliding window of DEFAULT_NEW_TUNNELS_PER_MINUTE, in ms. */
export const NEW_TUNNELS_WINDOW_MS = 60_000;
/** Client addresses tracked at once by the new-tunnel limiter (least recently active forgotten first). */
export const NEW_TUNNELS_MAX_TRACKED = 100_000;

/** Client reconnect backoff. */
export const RECONNECT_INITIAL_DELAY_MS = 500;
export const RECONNECT_MAX_DELAY_MS = 30_000;
export const RECONNECT_JITTER = 0.3;

/**
 * After a WebSocket close frame or an HTTP refusal on a socket that is to close, a peer that has
 * not finished closing is cut after this long, in ms (tcp-ws upgrade refusals, tiflis and tunely
 * close handshakes, the visitor error pages' upgrade refusal).
 */
export const CLOSE_HANDSHAKE_GRACE_MS = 1_000;
/** TCP keep-alive probes start after this much idle time on long-lived sockets (localtunnel pool sockets, both ends), in ms. */
export const TCP_KEEPALIVE_DELAY_MS = 30_000;
