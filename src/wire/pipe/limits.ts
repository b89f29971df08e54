/**
 * Every limit and default of the pipe service (docs/pipe.md#configuration), named in one place.
 * Each can be overridden through `PipeOptions` (src/adapters/pipe/options.ts); docs/pipe.md lists them.
 */

/** Most receivers one transfer may fan out to (`?n=`). */
export const MAX_RECEIVERS = 256;
/**
 * Bytes one receiver's connection may hold unsent before the sender is paused (lockstep fan-out).
 * Bounds server memory per transfer to about n × this; a little slack keeps loopback throughput up.
 */
export const FANOUT_HIGH_WATER_BYTES = 256 * 1024;
/** Longest pipe path, in characters of the (percent-encoded) path without its leading slash. */
export const MAX_PATH_LENGTH = 1024;
/** Declared for documentation only: URLs longer than this are cut by proxies before they arrive. */
export const MAX_URL_LENGTH = 4096;
/** Most pipes waiting for their peers (a sender or receivers, not yet streaming) at once. */
export const MAX_PENDING_PIPES = 1000;
/** Most pipes streaming at once. */
export const MAX_ACTIVE_PIPES = 1000;
/** A pipe that waits for its peers this long is evicted (waiting receivers get 408), in ms. */
export const PENDING_TIMEOUT_MS = 5 * 60_000;
/** A streaming pipe whose bytes stop moving for this long is torn down, in ms. */
export const ACTIVE_IDLE_TIMEOUT_MS = 5 * 60_000;
/** Largest forwarded header value (Content-Type, Content-Disposition, X-Piping, X-Hoody-Pipe), in bytes. */
export const MAX_HEADER_VALUE_BYTES = 8 * 1024;
/** Longest filename put in a receiver's Content-Disposition, in characters. */
export const MAX_FILENAME_LENGTH = 255;
/** How long a multipart sender may take to reach its first file part once streaming starts, in ms. */
export const MULTIPART_DEADLINE_MS = 30_000;
/** Largest multipart field used as the body when the form has no file part, in bytes. */
export const MAX_MULTIPART_FIELD_BYTES = 1024 * 1024;
/** Most `?progress` spectators watching one path. */
export const MAX_SPECTATORS_PER_PATH = 50;
/** Most paths being watched by spectators at once. */
export const MAX_SPECTATOR_GROUPS = 500;
/** A spectator connection is closed after this long, in ms. */
export const SPECTATOR_TTL_MS = 30 * 60_000;
/** A finished transfer's final state stays visible to new spectators this long, in ms. */
export const SPECTATOR_LINGER_MS = 30_000;
/** Least time between two `progress` events to one path's spectators, in ms. */
export const PROGRESS_INTERVAL_MS = 250;
/** An SSE comment is sent this often to keep proxies from closing quiet spectator streams, in ms. */
export const SPECTATOR_HEARTBEAT_MS = 15_000;
/** On close(), streaming transfers get this long to finish before they are cut, in ms. */
export const CLOSE_GRACE_MS = 10_000;
