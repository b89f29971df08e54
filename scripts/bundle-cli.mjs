// Bundles the `burrow` command: tsc's dist/cli.js and the burrow modules it reaches become
// dist/bundle/cli.js plus one chunk per lazily imported command or edge (esbuild's code splitting),
// and dist/cli.js becomes a two-line entry that imports it. Packages stay external (node_modules,
// dist/vendor/kysely.cjs), and the SDK (dist/index.js and the other exports) stays tsc's files.
//
// Why: node keeps every loaded module's source, wrapper and path records; the server's ~300 modules as
// a dozen chunks hold 2.3 MiB less at rest (bench/idle-memory.ts, bench/RESULTS.md).
//
// Each module's `import.meta.url` is rewritten to its own tsc file's URL (found from the chunk's
// URL at run time), so that what a module resolves beside itself (../package.json, page assets, the
// vendored kysely) resolves as before. dist/bundle/modules.json lists which dist/ modules each output
// file holds: test/cli/dist.ts reads it to tell which modules a run loaded.
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = `${root}dist/`;
const out = `${dist}bundle/`;
const ENTRY = `${dist}cli.js`;
const STUB = "#!/usr/bin/env node\n// the bundled CLI (scripts/bundle-cli.mjs)\nimport './bundle/cli.js';\n";

if (readFileSync(ENTRY, 'utf8') === STUB) {
  console.error('dist/cli.js is already the bundle entry: run `npm run build` (tsc writes it anew first).');
  process.exit(1);
}
rmSync(out, { recursive: true, force: true });

/** Rewrites `import.meta.url` in every dist/ module to that module's own URL. */
const ownUrl = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\/dist\/.*\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const own = JSON.stringify(relative(out, args.path));
      return { contents: source.replaceAll('import.meta.url', `new URL(${own}, import.meta.url).href`), loader: 'js' };
    });
  },
};

const result = await build({
  absWorkingDir: root,
  entryPoints: { cli: ENTRY },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  external: ['../vendor/*'],
  sourcemap: true,
  sourcesContent: false,
  minifyWhitespace: true,
  minifySyntax: true,
  chunkNames: '[name]-[hash]',
  legalComments: 'none',
  metafile: true,
  plugins: [ownUrl],
  logLevel: 'warning',
});

/** For each output file, the dist/ modules it holds. */
const modules = {};
for (const [file, o] of Object.entries(result.metafile.outputs)) {
  if (!file.endsWith('.js')) continue;
  modules[relative('dist/bundle', file)] = Object.keys(o.inputs).map((i) => relative(root, `${root}${i}`));
}
writeFileSync(`${out}modules.json`, `${JSON.stringify(modules, null, 1)}\n`);
writeFileSync(ENTRY, STUB, { mode: 0o755 });
rmSync(`${ENTRY}.map`, { force: true });
