// Builds dist/vendor/kysely.cjs: the kysely package as one minified CommonJS file. Required as the
// package it is 262 files (module wrappers, paths, full sources kept for lazy compiling); as one
// minified file an idle `burrow server` holds ~2 MiB less (bench/RESULTS.md, "Idle memory, second
// pass"). src/store/packages.ts loads it, and the package itself when it is missing (tests run src/).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const require = (await import('node:module')).createRequire(import.meta.url);
const kysely = require.resolve('kysely');
const { version } = JSON.parse(readFileSync(new URL('../node_modules/kysely/package.json', import.meta.url), 'utf8'));
const copyright = /Copyright[^\n]*/.exec(
  readFileSync(new URL('../node_modules/kysely/LICENSE', import.meta.url), 'utf8'),
)?.[0];

await build({
  absWorkingDir: root,
  entryPoints: [kysely],
  outfile: `${root}dist/vendor/kysely.cjs`,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  keepNames: true,
  legalComments: 'none',
  banner: { js: `/*! kysely ${version} (https://github.com/kysely-org/kysely), MIT License, ${copyright ?? ''} */` },
  logLevel: 'warning',
});
