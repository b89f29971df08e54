/**
 * The inspector's limits and defaults, named once (docs/inspector.md lists them). Every one bounds
 * memory: the inspector keeps nothing on disk, and what it keeps in memory never grows with traffic.
 */

/** Where `burrow http` serves the inspector unless told otherwise (`--inspect ADDR:PORT`). */
export const DEFAULT_INSPECT_HOST = '127.0.0.1';
export const DEFAULT_INSPECT_PORT = 4040;
/**
 * When the default port is taken, the next ones are tried (4041, 4042 …) this many times, then any
 * free port: a second `burrow http` still gets an inspector.
 */
export const INSPECT_PORT_TRIES = 10;

/** The last N requests kept (`--inspect-keep`, `inspect.keep`); older ones are dropped. */
export const DEFAULT_INSPECT_KEEP = 500;
/** Most requests `--inspect-keep` may ask for. */
export const MAX_INSPECT_KEEP = 100_000;
/**
 * Bytes of each request body and each response body kept (`inspect.bodyLimit`); a larger body keeps
 * its first bytes and says it was cut (`truncated: true`, its full `size`).
 */
export const DEFAULT_INSPECT_BODY_BYTES = 1024 * 1024;
/**
 * Most bytes all kept requests may hold together (bodies, heads, WebSocket messages, SSE events):
 * past it the oldest requests go, as past `keep`. The bound on the inspector's memory.
 */
export const MAX_INSPECT_TOTAL_BYTES = 256 * 1024 * 1024;

/** A request or response head larger than this is not parsed: the connection is passed on unrecorded. */
export const MAX_TAP_HEAD_BYTES = 64 * 1024;
/**
 * Requests sent ahead of their responses (pipelined) that one connection's tap follows; past it the
 * tap stops following that connection (what it recorded stays): a deep pipeline cannot pile up records.
 */
export const MAX_TAP_PIPELINE = 128;
/** Bytes a client sends after an upgrade request before the answer that are held for parsing. */
export const MAX_TAP_PENDING_BYTES = 64 * 1024;
/** WebSocket messages (and SSE events) kept per request; older ones are dropped and counted. */
export const MAX_STREAM_ITEMS = 200;
/** Bytes of each WebSocket message (and each SSE event's data) kept. */
export const MAX_STREAM_ITEM_BYTES = 64 * 1024;

/** Largest JSON body the inspector's API reads (a replay with an edited body). */
export const MAX_API_BODY_BYTES = 2 * DEFAULT_INSPECT_BODY_BYTES;
/** How long a replay waits for the local service's complete answer, in ms. */
export const REPLAY_TIMEOUT_MS = 30_000;
/** Largest decompressed body the detail view shows for a gzip/deflate/br response. */
export const MAX_DECODED_BODY_BYTES = 4 * DEFAULT_INSPECT_BODY_BYTES;

/**
 * Bytes queued to one page's live stream (SSE) before updates to it are dropped: a slow page misses
 * updates (it is told to reload the list when it catches up), the tunnel never waits for it.
 */
export const MAX_LIVE_QUEUE_BYTES = 256 * 1024;
/** Changes within this window reach the page as one update per request, in ms. */
export const LIVE_FLUSH_MS = 30;
/** Live streams (open inspector pages) at once. */
export const MAX_LIVE_CLIENTS = 32;
/** A comment on each live stream this often keeps proxies and the browser from closing it, in ms. */
export const LIVE_KEEPALIVE_MS = 15_000;
