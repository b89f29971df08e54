/** Named defaults of the data layer (docs/accounts.md, "Configuration"). */

/** Database used when neither --db nor BURROW_DB is given (relative to the working directory). */
export const DEFAULT_DB_URL = 'sqlite:./data/burrow.db';
/** How long SQLite waits for another process's write lock (CLI and server sharing a file), in ms. */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;
/**
 * How long to wait between tries of switching a new SQLite file to WAL while another process holds its write lock
 * (SQLite answers that at once, without its busy handler; the tries stop after SQLITE_BUSY_TIMEOUT_MS), in ms.
 */
export const SQLITE_WAL_RETRY_MS = 10;
/** Most PostgreSQL connections one burrow process opens. */
export const PG_POOL_MAX = 10;
/** How long to wait for a PostgreSQL connection before failing, in ms. */
export const PG_CONNECT_TIMEOUT_MS = 10_000;
/** PostgreSQL schema used when the URL has no `?schema=`. */
export const PG_DEFAULT_SCHEMA = 'public';
