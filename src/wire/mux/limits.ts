/**
 * Wire limits of burrow's protocol (docs/PROTOCOL.md). Every length read from the wire is checked
 * against one of these before anything is allocated.
 */

/** Protocol version spoken by this build (first field of HELLO / WELCOME). */
export const PROTOCOL_VERSION = 1;
/** Frame header: type (u8), flags (u8), stream id (u32 BE), payload length (u32 BE). */
export const FRAME_HEADER_SIZE = 10;
/** Largest payload of any frame; a longer length field is a protocol error. */
export const MAX_FRAME_PAYLOAD = 1024 * 1024;
/** Largest payload of a JSON control frame (HELLO, REGISTER, OPEN, …). */
export const MAX_CONTROL_PAYLOAD = 64 * 1024;
/** DATA frames are cut to at most this many bytes by the sender. */
export const MAX_DATA_CHUNK = 64 * 1024;
/** Largest WebSocket message the peers accept (several frames may share one message). */
export const MAX_MESSAGE_SIZE = 4 * 1024 * 1024;
/** Default per-stream receive window (credit), in bytes. */
export const DEFAULT_STREAM_WINDOW = 4 * 1024 * 1024;
/** Smallest and largest window a peer may announce. */
export const MIN_STREAM_WINDOW = 64 * 1024;
export const MAX_STREAM_WINDOW = 256 * 1024 * 1024;
/** Highest stream id (u32). */
export const MAX_STREAM_ID = 0xffff_ffff;
/** Most streams one session may have open at once (each side). */
export const MAX_STREAMS_PER_SESSION = 65_536;
/** Most tunnels one agent connection may register. */
export const MAX_TUNNELS_PER_SESSION = 64;
/** PING interval and the silence after which a peer is declared dead, in ms. */
export const DEFAULT_PING_INTERVAL_MS = 10_000;
export const DEFAULT_DEAD_PEER_TIMEOUT_MS = 30_000;
/** Frames at least this large skip batching and are sent as their own transport message. */
export const DIRECT_SEND_BYTES = 16 * 1024;
/** A frame batch is sent when it reaches this size, else at the end of the current tick. */
export const MAX_BATCH_BYTES = 256 * 1024;
/**
 * Longest a deferred frame (a request EVENT) waits for a batch to ride with, in ms. Under load it leaves with the next
 * batch at once; on a quiet link it goes alone after this delay, instead of a write and a wake-up of the peer per request.
 */
export const DEFERRED_FLUSH_MS = 20;
/** Outgoing transport buffer above which streams stop writing until it drains. */
export const TRANSPORT_HIGH_WATER = 8 * 1024 * 1024;
