#!/usr/bin/env node
// One meaning per type name: fails when two files under src/ export a type, interface, class or
// enum of the same name (a reader, an editor's auto-import and a stack trace should never have to
// guess which one is meant). Part of `npm run arch`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('../src/', import.meta.url).pathname;
const EXPORTED = /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:interface|class|type|enum)\s+([A-Za-z_$][\w$]*)/gm;

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const seen = new Map();
for (const file of walk(ROOT, [])) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(EXPORTED)) {
    const list = seen.get(m[1]) ?? [];
    list.push(relative(process.cwd(), file));
    seen.set(m[1], list);
  }
}
const clashes = [...seen].filter(([, files]) => files.length > 1);
if (clashes.length) {
  console.error('Type names exported from more than one file under src/ (give each its own name):');
  for (const [name, files] of clashes) console.error(`  ${name}: ${files.join(', ')}`);
  process.exit(1);
}
console.log(`one meaning per type name: ${seen.size} exported type names, no clashes`);
