/**
 * The pipe client's named limits and defaults (docs/pipe.md#cli and docs/pipe.md#forward-tcp).
 * The server-side limits live in src/wire/pipe/limits.ts.
 */

/** The progress meter's rate and ETA are computed over the bytes of the last this many ms. */
export const METER_WINDOW_MS = 5_000;
/** The meter keeps at most one sample per this many ms (its window holds WINDOW / SAMPLE samples). */
export const METER_SAMPLE_MS = 100;
/** A terminal progress bar is redrawn at most this many times a second. */
export const METER_FPS = 10;
/** `burrow pipe receive` looks at up to this many first bytes to tell a binary body from text. */
export const BINARY_SNIFF_BYTES = 1024;
