/**
 * A built front-end (scripts/build-console.mjs: the admin console, the request inspector): files
 * named by their content hash, served with a year-long immutable cache, and manifest.json naming the
 * entry script and stylesheet; and the one HTML shell that loads them (nothing inline, so the pages'
 * strict CSP needs no exception).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PageAssets {
  /** Entry script and stylesheet file names. */
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
 * Where a page's built assets are: `assets/` beside the module at `moduleUrl` (in dist/), else
 * `fromSources` resolved from it (tests run src/ through tsx after `npm run build`).
 */
export function builtAssetsDir(moduleUrl: string, fromSources: string): string {
  const beside = fileURLToPath(new URL('./assets/', moduleUrl));
  if (existsSync(`${beside}manifest.json`)) return beside;
  return fileURLToPath(new URL(fromSources, moduleUrl));
}

/** Load the manifest and every asset into memory (they are small); undefined when not built. */
export function loadPageAssets(dir: string): PageAssets | undefined {
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

export interface ShellOptions {
  readonly title: string;
  /** The URL prefix the assets are served under (`/admin/assets`, `/assets`). */
  readonly assetsPath: string;
  /** What shows until the script runs (HTML), and without JavaScript (HTML). */
  readonly loading: string;
  readonly noscript: string;
  /** A class for the placeholder's <main>. */
  readonly mainClass?: string;
}

/** The app shell: the stylesheet and the module script by file, a placeholder until it runs. */
export function appShell(assets: PageAssets, o: ShellOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${o.title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${o.assetsPath}/${assets.css}">
<script type="module" src="${o.assetsPath}/${assets.js}"></script>
</head>
<body>
<div id="app"><main${o.mainClass ? ` class="${o.mainClass}"` : ''}><p>${o.loading}</p><noscript><p>${o.noscript}</p></noscript></main></div>
</body>
</html>
`;
}
