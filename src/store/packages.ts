/**
 * The store's npm packages, loaded with require(): kysely (whose ESM build is 262 modules) costs
 * about 6 MiB less RSS as CommonJS than through Node 20's ESM loader, and ~2 MiB less again as one
 * minified file (dist/vendor/kysely.cjs); a CommonJS driver imported from ESM has every file of its
 * own go through that loader too. Types come from `import type`.
 */
import { createRequire } from 'node:module';
import type * as KyselyModule from 'kysely';
import { BurrowError } from '../core/errors.js';

const load = createRequire(import.meta.url);

/** The one-file build of kysely next to dist/ (scripts/vendor-bundles.mjs), ~2 MiB less at rest. */
export const VENDORED_KYSELY = '../vendor/kysely.cjs';

/** kysely from its one-file build, else the package (src/ run through tsx, a build without it). */
function loadKysely(): typeof KyselyModule {
  try {
    return load(VENDORED_KYSELY) as typeof KyselyModule;
  } catch (err) {
    const missing =
      (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' &&
      String((err as Error).message).includes(VENDORED_KYSELY);
    if (!missing) throw err;
    return load('kysely') as typeof KyselyModule;
  }
}

export const kysely = loadKysely();

/**
 * The database drivers are optional dependencies, loaded only by the commands that open a store: a
 * client-only install (`npm install --omit=optional`) compiles no SQLite. A missing one is named.
 */
export function loadDriver<T>(name: string, use: string): T {
  try {
    return load(name) as T;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'MODULE_NOT_FOUND' || !String((err as Error).message).includes(`'${name}'`)) throw err;
    throw new BurrowError('BURROW_ERR_STORE', `the database driver ${name} is not installed`, {
      cause: err,
      fix: `Install it next to burrow (\`npm install ${name}\`; it is an optional dependency of burrow-tunnel), or ${use}.`,
    });
  }
}
