/**
 * The inspector page's built front-end (scripts/build-console.mjs → dist/client/inspector/assets/):
 * files named by their content hash, and the manifest naming the entry script and stylesheet.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PageAssets {
  readonly js: string;
  readonly css: string;
  get(name: string): { body: Buffer; type: string } | undefined;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Beside this module in dist/, or dist/ seen from the sources (tests run src/ through tsx after a build). */
function assetsDir(): string {
  const beside = fileURLToPath(new URL('./assets/', import.meta.url));
  if (existsSync(`${beside}manifest.json`)) return beside;
  return fileURLToPath(new URL('../../../dist/client/inspector/assets/', import.meta.url));
}

/** Load the manifest and the (small) files into memory; undefined when the page was not built. */
export function loadPageAssets(dir: string = assetsDir()): PageAssets | undefined {
  const manifestPath = `${dir}/manifest.json`;
  if (!existsSync(manifestPath)) return undefined;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { js?: unknown; css?: unknown };
  if (typeof manifest.js !== 'string' || typeof manifest.css !== 'string') return undefined;
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type && /^[A-Za-z0-9_-]+\.[a-z]+$/.test(name)) files.set(name, { body: readFileSync(`${dir}/${name}`), type });
  }
  return { js: manifest.js, css: manifest.css, get: (name) => files.get(name) };
}
