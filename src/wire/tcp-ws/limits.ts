/**
 * Named limits and defaults of the TCP-over-WebSocket access (limrun `startTcpTunnel` wire).
 * docs/tcp.md lists them; the client side (src/client/tcp-ws/) reads the shared ones from here.
 */

/** Largest WebSocket message accepted (both modes), in bytes. TCP reads are ≤ 64 KiB; this is slack. */
export const TCP_WS_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * Multiplexed mode between burrow peers (extensions agreed): a payload at least this large leaves as
 * two frames of one message, its 4-byte id then the payload as read (no copy into a joined buffer);
 * smaller ones are joined (one frame). limrun's clients always get one frame per message.
 */
export const TCP_MUX_PARTS_MIN_BYTES = 16 * 1024;

/** Above this many bytes queued on a WebSocket, the TCP side feeding it is paused. */
export const TCP_WS_HIGH_WATER_BYTES = 1024 * 1024;
/** The paused TCP side is resumed once the WebSocket's queue falls below this. */
export const TCP_WS_LOW_WATER_BYTES = 256 * 1024;

/** Above this many bytes waiting in a TCP socket's write buffer, the WebSocket feeding it is paused. */
export const TCP_WRITE_HIGH_WATER_BYTES = 1024 * 1024;

/** The server pings every WebSocket this often, in ms. */
export const TCP_WS_PING_INTERVAL_MS = 30_000;
/** A WebSocket that has sent nothing (not even a pong) for this long is terminated, in ms. */
export const TCP_WS_PONG_TIMEOUT_MS = 75_000;

/** How long a singleton session waits for its client to come back after the WebSocket drops (≥ 90 s), in ms. */
export const TCP_DETACHED_GRACE_MS = 120_000;
/** Bytes from the target buffered per detached singleton session; above it the target is paused (not dropped). */
export const TCP_DETACHED_BUFFER_BYTES = 8 * 1024 * 1024;
/** Cap on live singleton sessions (attached or detached) per adapter; more get 503. */
export const TCP_MAX_SESSIONS = 10_000;
/** How long ended singleton session ids are remembered (resumes get 410), in ms. */
export const TCP_ENDED_SESSION_TTL_MS = 10 * 60_000;
/** How many ended singleton session ids are remembered at most (oldest forgotten first). */
export const TCP_ENDED_SESSION_MAX = 10_000;
/** Longest accepted `sessionId` query parameter. */
export const TCP_SESSION_ID_MAX_LENGTH = 128;

/** Time allowed to dial a target before the upgrade is answered 504 (or a mux connection closed), in ms. */
export const TCP_TARGET_CONNECT_TIMEOUT_MS = 10_000;
/** After a graceful end (1000 close / mux close) has flushed, the target has this long to close before it is destroyed, in ms. */
export const TCP_TARGET_END_GRACE_MS = 5_000;
/** A graceful end whose data the target does not take within this long is cut (destroy), in ms. */
export const TCP_TARGET_FLUSH_TIMEOUT_MS = 60_000;

/** Cap on target connections open at once on one multiplexed WebSocket; more get an immediate close. */
export const TCP_MUX_MAX_CONNECTIONS = 1024;
/** Bytes queued per multiplexed connection while its target is being dialled; above it the WebSocket is paused. */
export const TCP_MUX_DIAL_QUEUE_BYTES = 1024 * 1024;
/** How many closed connection ids a multiplexed session remembers (late payloads for them are ignored). */
export const TCP_MUX_CLOSED_ID_MEMORY = 4096;

/**
 * Multiplexed flow control (burrow extension, `X-Burrow-Tcp-Window`): the receive window each side
 * announces per connection id, in bytes. A peer never has more than this many payload bytes of one
 * connection in flight or buffered on the receiving side before the receiver credits them back.
 */
export const TCP_MUX_WINDOW_BYTES = 1024 * 1024;
/** Smallest window a peer may announce; a smaller (or malformed) announcement leaves flow control off. */
export const TCP_MUX_WINDOW_MIN_BYTES = 16 * 1024;
/** Largest window a sender uses; a larger announcement is used as this much (sending less is always safe). */
export const TCP_MUX_WINDOW_MAX_BYTES = 16 * 1024 * 1024;
/**
 * Flow control on: bytes received for all connections of one multiplexed WebSocket and not yet taken
 * by their sockets, above which the WebSocket itself is paused (as without flow control) until they
 * fall below half. Bounds memory when many connections stall at once.
 */
export const TCP_MUX_BUFFER_BYTES = 16 * 1024 * 1024;

/** Client: bytes read from the local socket kept while the WebSocket reconnects (the socket is paused past it). */
export const TCP_CLIENT_RECONNECT_QUEUE_BYTES = 4 * 1024 * 1024;
/** Client: ping interval (limrun's client uses 30 s), in ms. */
export const TCP_CLIENT_PING_INTERVAL_MS = 30_000;
/** Client defaults, as limrun's `startTcpTunnel`. */
export const TCP_CLIENT_MAX_RECONNECT_ATTEMPTS = 6;
export const TCP_CLIENT_RECONNECT_DELAY_MS = 1_000;
export const TCP_CLIENT_MAX_RECONNECT_DELAY_MS = 30_000;
