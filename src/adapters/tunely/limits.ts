/**
 * Every tunely limit and default, named in one place (docs/tunely.md, "Configuration", lists them).
 * Each one is an option of createTunelyAdapter().
 */

/** WebSocket path of the agent endpoint on the server's own host (tunely's own default). */
export const TUNELY_DEFAULT_PATH = '/ws/tunnel';
/** Path prefix that serves a tunnel on the server's own host: /t/<name>/… */
export const TUNELY_DEFAULT_PATH_PREFIX = '/t';
/** How long a visitor waits for the agent's response (or stream_start) before a 504, in ms. Sent to the agent as `timeout` in seconds. */
export const TUNELY_DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Largest visitor request body forwarded (it travels whole inside one JSON message); beyond → 413. */
export const TUNELY_MAX_BODY_BYTES = 10 * 1024 * 1024;
/** Largest message accepted from an agent (a whole `response` body, JSON-escaped); beyond → the agent is closed 1009. */
export const TUNELY_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** How often the server sends a JSON `ping` to each agent, in ms. */
export const TUNELY_PING_INTERVAL_MS = 20_000;
/** An agent not heard from (any message, pong included) for this long is dropped, in ms. */
export const TUNELY_DEAD_AGENT_TIMEOUT_MS = 60_000;
/** A new socket must send `auth` within this time, in ms, or it is closed 1008. */
export const TUNELY_AUTH_TIMEOUT_MS = 10_000;
/**
 * After its agent disconnects, a tunnel keeps its name (visitors get 503, a reconnecting agent gets
 * the same tunnel_id back) for this long, in ms; then the name is released (visitors get 404).
 */
export const TUNELY_OFFLINE_GRACE_MS = 10 * 60_000;
/** Most requests in flight on one agent; beyond → 503. */
export const TUNELY_MAX_PENDING_PER_AGENT = 1_000;
/** When more than this many bytes wait to be sent to an agent, new requests get 503 (congested). */
export const TUNELY_MAX_AGENT_BUFFERED_BYTES = 64 * 1024 * 1024;
/**
 * A streamed response whose visitor is this many bytes behind is cut: tunely has no per-stream
 * flow control, so waiting would grow memory (or stall every other visitor of the agent).
 */
export const TUNELY_MAX_VISITOR_BUFFERED_BYTES = 8 * 1024 * 1024;
