// Builds the browser front-ends with one toolchain (preact + htm, bundled by esbuild), each into its
// own assets folder: one script and one stylesheet with content hashes in their names (served with
// a year-long cache), and manifest.json naming them for the server. Part of `npm run build`.
//   the admin console (src/console/web)          → dist/console/assets
//   the request inspector (src/client/inspector/web) → dist/client/inspector/assets
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUNDLES = [
  { name: 'console', entry: '../src/console/web/main.js', out: '../dist/console/assets' },
  { name: 'inspector', entry: '../src/client/inspector/web/main.js', out: '../dist/client/inspector/assets' },
];

async function bundle({ name, entry, out }) {
  const outdir = fileURLToPath(new URL(out, import.meta.url));
  // no wipe first: names are content hashes, so a build running beside another (tests in parallel)
  // writes the same files; what an older build left is removed at the end
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    entryPoints: { app: fileURLToPath(new URL(entry, import.meta.url)) },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020'],
    outdir,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const js = outputs.find((f) => f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error(`${name} build: expected a .js and a .css output, got ${outputs.join(', ')}`);
  writeFileSync(`${outdir}/manifest.json.tmp-${process.pid}`, `${JSON.stringify({ js, css }, null, 2)}\n`);
  renameSync(`${outdir}/manifest.json.tmp-${process.pid}`, `${outdir}/manifest.json`);
  for (const f of readdirSync(outdir)) {
    if (f !== js && f !== css && f !== 'manifest.json' && !f.startsWith('manifest.json.tmp-')) rmSync(`${outdir}/${f}`);
  }
  let gz = 0;
  for (const f of [js, css]) gz += gzipSync(readFileSync(`${outdir}/${f}`)).length;
  if (process.argv.includes('--report'))
    console.log(`${name} assets: ${js}, ${css} (${(gz / 1024).toFixed(1)} KiB gzip)`);
}

for (const b of BUNDLES) await bundle(b);
