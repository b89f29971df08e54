/** docs/errors.md is generated from src/core/errors.ts; this test fails when the two drift apart. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERROR_CODES } from '../../src/core/errors.js';
import { ERRORS_DOC_PATH, renderErrorsDoc, renderErrorsMarkdown } from '../../scripts/gen-errors-doc.js';

test('docs/errors.md matches the live error table (run `npm run docs:errors` to regenerate)', async () => {
  const current = readFileSync(ERRORS_DOC_PATH, 'utf8');
  assert.equal(current, await renderErrorsDoc(), 'docs/errors.md is stale: run `npm run docs:errors`');
});

test('every error code has exactly one row with its status and close code', async () => {
  const formatted = await renderErrorsDoc();
  for (const code of Object.keys(ERROR_CODES)) assert.ok(formatted.includes(`\`${code}\``), code);
  const doc = renderErrorsMarkdown();
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    const rows = doc.split('\n').filter((l) => l.startsWith(`| \`${code}\` |`));
    assert.equal(rows.length, 1, code);
    assert.ok(rows[0]!.startsWith(`| \`${code}\` | ${spec.status} | ${spec.wsClose} |`), code);
  }
});

test('a pipe in a message or fix does not break the table', () => {
  const doc = renderErrorsMarkdown({ BURROW_ERR_X: { status: 400, wsClose: 4400, message: 'a | b', fix: 'c\nd' } });
  assert.match(doc, /\| `BURROW_ERR_X` \| 400 \| 4400 \| a \\\| b \| c d \|/);
});
