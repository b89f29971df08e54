#!/usr/bin/env node
// Runs every test file under the given folders (default: test/) with Node's own test runner.
// Suites that need PostgreSQL or Redis skip themselves and say so when the URLs are not set.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passthrough = process.argv.slice(2).filter((a) => a.startsWith('-'));
function walk(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const files = (roots.length ? roots : ['test']).flatMap((r) => (statSync(r).isDirectory() ? walk(r, []) : [r]));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
for (const [name, v] of [
  ['BURROW_TEST_DATABASE_URL', 'PostgreSQL suites'],
  ['BURROW_TEST_REDIS_URL', 'Redis suites'],
]) {
  if (!process.env[name]) console.log(`note: ${name} is not set: the ${v} are skipped (they run in CI via .ci/run).`);
}
// `npm test` builds first: child processes run the built CLI (test/helpers/cli.ts cliArgs), several
// times faster to start than the source compiled on the fly.
process.env.BURROW_TEST_CLI ??= 'dist';
const args = [
  '--import',
  'tsx',
  '--test',
  '--test-concurrency=2',
  '--test-timeout=180000',
  '--test-reporter=spec',
  ...passthrough,
  ...files,
];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
