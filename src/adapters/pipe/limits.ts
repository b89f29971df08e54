/**
 * The pipe adapter's own named limits (the shared ones, which clients also need, are in
 * src/wire/pipe/limits.ts). Documented in docs/pipe.md#configuration.
 */

/**
 * A sender whose transfer failed (all receivers left, idle, shutdown) gets its last `[ERROR]` line,
 * then its upload is read and dropped for this long before the connection is cut: cutting at once
 * resets the connection and can destroy the line in flight.
 */
export const SENDER_CUT_GRACE_MS = 250;

/** A multipart body's first bytes kept to read the raw headers of its first field part. */
export const MULTIPART_HEAD_BYTES = 64 * 1024;
