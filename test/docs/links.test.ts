/** Relative links (and their #anchors) in the core docs point at files and headings that exist. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const FILES = [
  'README.md',
  'CHANGELOG.md',
  'docs/ARCHITECTURE.md',
  'docs/PROTOCOL.md',
  'docs/configuration.md',
  'docs/errors.md',
];

/** GitHub's heading ids: lowercase, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  const ids = new Set<string>();
  for (const m of text.matchAll(/^#{1,6} (.*)$/gm)) ids.add(slug(m[1]!));
  for (const m of text.matchAll(/<a id="([^"]+)"/g)) ids.add(m[1]!);
  return ids;
}

test('slug follows GitHub', () => {
  assert.equal(slug('WINDOW (flow control)'), 'window-flow-control');
  assert.equal(slug('`burrow http <target>` and `burrow client`'), 'burrow-http-target-and-burrow-client');
});

for (const f of FILES) {
  test(`links in ${f} resolve`, () => {
    const text = readFileSync(join(root, f), 'utf8').replace(/```[\s\S]*?```/g, '');
    const broken: string[] = [];
    for (const m of text.matchAll(/\]\(([^)\s#]*)(#[^)\s]*)?\)/g)) {
      const [, path = '', anchor] = m;
      if (/^[a-z]+:/i.test(path)) continue;
      const target = path ? normalize(join(root, dirname(f), path)) : join(root, f);
      if (!existsSync(target)) {
        broken.push(`${path} (no such file)`);
        continue;
      }
      if (anchor && target.endsWith('.md') && !anchorsOf(target).has(anchor.slice(1))) {
        broken.push(`${path}${anchor} (no such heading)`);
      }
    }
    assert.deepEqual(broken, []);
  });
}
