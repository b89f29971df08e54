/**
 * Every limit and default of the tiflis adapter, named in one place (docs/tiflis.md lists them).
 * Values marked "tiflis" are the original server's; the others are burrow's own bounds.
 */

/** WebSocket path for workstations and devices (tiflis: WS_PATH, default /ws). */
export const TIFLIS_DEFAULT_WS_PATH = '/ws';
/** Shortest registration API key (tiflis: TUNNEL_REGISTRATION_API_KEY ≥ 32 characters). */
export const TIFLIS_API_KEY_MIN_LENGTH = 32;
/** Shortest workstation auth key (tiflis: auth_key ≥ 16 characters). */
export const TIFLIS_AUTH_KEY_MIN_LENGTH = 16;
/** Longest auth key / API key accepted on the wire (bounds hashing work). */
export const TIFLIS_KEY_MAX_LENGTH = 1024;
/** Longest workstation name. */
export const TIFLIS_NAME_MAX_LENGTH = 256;
/** Longest device_id. */
export const TIFLIS_DEVICE_ID_MAX_LENGTH = 256;
/** Length of a generated tunnel id (tiflis: nanoid(12), e.g. "Z6q62aKz-F96"). */
export const TIFLIS_TUNNEL_ID_LENGTH = 12;
/** Longest tunnel id accepted as previous_tunnel_id / connect tunnel_id. */
export const TIFLIS_TUNNEL_ID_MAX_LENGTH = 64;
/** Largest WebSocket message, in bytes (tiflis: 50 MB, voice messages travel inline). */
export const TIFLIS_MAX_MESSAGE_BYTES = 50 * 1024 * 1024;
/**
 * A peer whose socket has this many bytes queued (it reads slower than it is sent to) is closed
 * with 1013 instead of growing the server's memory.
 */
export const TIFLIS_MAX_BUFFERED_BYTES = 128 * 1024 * 1024;
/** A peer silent (no message, no WebSocket pong) for this long is dropped (tiflis: 15 s). */
export const TIFLIS_SILENCE_TIMEOUT_MS = 15_000;
/**
 * How often the server checks for silent peers and sends a WebSocket ping frame (answered by
 * every WebSocket stack, so idle but healthy peers are never "silent").
 */
export const TIFLIS_HEARTBEAT_INTERVAL_MS = 5_000;
/** A socket that has not registered or connected within this time is closed. */
export const TIFLIS_AUTH_TIMEOUT_MS = 30_000;
/** Most devices (WebSocket + Watch) attached to one tunnel. */
export const TIFLIS_MAX_DEVICES_PER_TUNNEL = 1_000;
/** tunnel_version reported in `connected` (the tiflis tunnel server version burrow stands in for). */
export const TIFLIS_TUNNEL_VERSION = '0.1.0';
/** protocol_version reported in `connected` (tiflis protocol 1.0.0). */
export const TIFLIS_PROTOCOL_VERSION = '1.0.0';

/** Watch HTTP polling API: most queued messages per watch (tiflis: 100, oldest dropped first). */
export const TIFLIS_WATCH_QUEUE_MAX = 100;
/** Watch HTTP polling API: a queued message expires after this long (tiflis: 5 min). */
export const TIFLIS_WATCH_MESSAGE_TTL_MS = 5 * 60_000;
/** Watch HTTP polling API: a watch that has not polled for this long is disconnected. */
export const TIFLIS_WATCH_CLIENT_TIMEOUT_MS = 2 * 60_000;
/** Watch HTTP polling API: largest JSON request body, in bytes. */
export const TIFLIS_WATCH_MAX_BODY_BYTES = 1024 * 1024;
/** Watch HTTP polling API: most watch clients per server. */
export const TIFLIS_WATCH_MAX_CLIENTS = 10_000;
