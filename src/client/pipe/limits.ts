/**
 * The pipe client's named limits and defaults (docs/pipe.md#cli and docs/pipe.md#forward-tcp).
 * The server-side limits live in src/wire/pipe/limits.ts.
 */

/** The pipe server the CLI uses without --server, BURROW_PIPE_SERVER or BURROW_SERVER. */
export const DEFAULT_PIPE_SERVER = 'http://localhost:8080';
/** The progress meter's rate and ETA are computed over the bytes of the last this many ms. */
export const METER_WINDOW_MS = 5_000;
/** The meter keeps at most one sample per this many ms (its window holds WINDOW / SAMPLE samples). */
export const METER_SAMPLE_MS = 100;
/** A terminal progress bar is redrawn at most this many times a second. */
export const METER_FPS = 10;
/** `burrow pipe receive` looks at up to this many first bytes to tell a binary body from text. */
export const BINARY_SNIFF_BYTES = 1024;
/** forward-tcp: first reconnect delay after a pair of pipes failed or broke. */
export const FORWARD_RECONNECT_BASE_MS = 500;
/** forward-tcp: the reconnect delay doubles up to this cap (with jitter). */
export const FORWARD_RECONNECT_MAX_MS = 30_000;
/** forward-tcp: a mux session pings every this many ms (keeps the pipes from going idle)... */
export const FORWARD_PING_INTERVAL_MS = 10_000;
/** ...and counts the other side gone after this long without a frame. */
export const FORWARD_DEAD_PEER_MS = 30_000;
/** forward-tcp: most TCP connections carried at once over one pair of pipes (mux mode). */
export const FORWARD_MAX_CONNECTIONS = 1_024;
/** forward-tcp: the X-Piping value a burrow peer announces itself with (plain peers send none). */
export const FORWARD_HELLO = 'burrow-forward-tcp/1';
/**
 * forward-tcp: once this side's plain pipe pair is matched, the mux pair (burrow on both sides)
 * gets this long to be matched too before the connection goes plain (one at a time).
 */
export const FORWARD_NEGOTIATE_GRACE_MS = 1_000;
/**
 * forward-tcp: a side that moved to a fresh pair (`up.1`, …) because a path was taken goes back to
 * the given paths after waiting this long there without meeting the other side.
 */
export const FORWARD_FRESH_PAIR_WAIT_MS = 30_000;
