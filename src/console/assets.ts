/**
 * The console's built front-end (scripts/build-console.mjs → dist/console/assets/): files with
 * content hashes in their names, served with a year-long immutable cache, and the manifest that
 * names the entry script and stylesheet for the HTML shell.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ConsoleAssets {
  /** Entry script and stylesheet file names (under /admin/assets/). */
  readonly js: string;
  readonly css: string;
  /** A file's bytes and type, or undefined when there is no such asset. */
  get(name: string): { body: Buffer; type: string } | undefined;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Hashed names only: letters, digits, dot, dash, underscore. */
const ASSET_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.[a-z]+$/;

/**
 * Where the built assets are: next to this module in dist/ (dist/console/assets), or dist/ seen from
 * the sources (tests run src/ through tsx after `npm run build`).
 */
export function defaultAssetsDir(): string {
  const beside = fileURLToPath(new URL('./assets/', import.meta.url));
  if (existsSync(`${beside}manifest.json`)) return beside;
  return fileURLToPath(new URL('../../dist/console/assets/', import.meta.url));
}

/** Load the manifest and every asset into memory (they are small); undefined when not built. */
export function loadConsoleAssets(dir: string = defaultAssetsDir()): ConsoleAssets | undefined {
  const manifestPath = `${dir}/manifest.json`;
  if (!existsSync(manifestPath)) return undefined;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { js?: unknown; css?: unknown };
  if (typeof manifest.js !== 'string' || typeof manifest.css !== 'string') return undefined;
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type && ASSET_NAME.test(name)) files.set(name, { body: readFileSync(`${dir}/${name}`), type });
  }
  return { js: manifest.js, css: manifest.css, get: (name) => files.get(name) };
}
