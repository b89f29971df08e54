/** The config file's name and bounds, in a file of their own so `--help` shows them without loading the parser. */

/** The file `burrow start` and `burrow config` read when --config is not given. */
export const DEFAULT_CONFIG_FILE = 'burrow.yml';

/** The largest config file read, in bytes (a tunnel list is a few hundred bytes; this is a typo guard). */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;
