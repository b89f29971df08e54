/**
 * Generates docs/errors.md from the one error table (src/core/errors.ts).
 *   node --import tsx scripts/gen-errors-doc.ts          rewrite docs/errors.md
 *   node --import tsx scripts/gen-errors-doc.ts --check  exit 1 when docs/errors.md is stale
 * test/docs/errors-doc.test.ts runs renderErrorsDoc() against the live table, so the two never drift.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { ERROR_CODES, type ErrorSpec } from '../src/core/errors.js';
// the edges register their own rows when loaded: load every edge the server composes
import '../src/app/server.js';

export const ERRORS_DOC_PATH = fileURLToPath(new URL('../docs/errors.md', import.meta.url));

/** Groups, in order; a code goes to the first group with a prefix it starts with, else to the first (core) group. */
const GROUPS: readonly { title: string; prefixes: readonly string[]; intro: string }[] = [
  {
    title: 'Core: tunnels, protocol, server and client',
    prefixes: [],
    intro: 'Visitor requests, tunnel registration, the agent protocol (docs/PROTOCOL.md) and configuration.',
  },
  {
    title: 'Automatic TLS (ACME)',
    prefixes: ['BURROW_ERR_ACME_'],
    intro:
      'Certificates obtained and renewed by `burrow server --acme` (docs/deployment.md#automatic-tls-acme); shown in the server log, a visitor sees a failed TLS handshake.',
  },
  {
    title: 'Pipes',
    prefixes: ['BURROW_ERR_PIPE_'],
    intro: 'The pipe service (`/api/v1/pipe/<path>`, docs/pipe.md).',
  },
  {
    title: 'TCP over WebSocket',
    prefixes: ['BURROW_ERR_TCP_', 'BURROW_ERR_UPGRADE_REQUIRED'],
    intro: 'TCP targets reached through a WebSocket (`burrow connect`, limrun `startTcpTunnel`, docs/tcp.md).',
  },
  {
    title: 'tunely compatibility',
    prefixes: ['BURROW_ERR_TUNELY_'],
    intro: 'Tunnels held by unmodified tunely agents (docs/tunely.md).',
  },
  {
    title: 'localtunnel / pipenet compatibility',
    prefixes: ['BURROW_ERR_LOCALTUNNEL_'],
    intro: 'Tunnels held by unmodified lt / pipenet clients (docs/localtunnel.md).',
  },
  {
    title: 'Accounts and storage',
    prefixes: [
      'BURROW_ERR_STORE',
      'BURROW_ERR_TOKEN_',
      'BURROW_ERR_NAME_NOT_RESERVED',
      'BURROW_ERR_INVALID_ACCESS_RULE',
    ],
    intro: 'Tokens, reserved names, visitor access rules and the database (docs/accounts.md).',
  },
];

/** Escape a value for a Markdown table cell. */
function cell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** The Markdown of docs/errors.md, formatted with the repository's prettier settings (so `npm run format` keeps it). */
export async function renderErrorsDoc(table: Record<string, ErrorSpec> = ERROR_CODES): Promise<string> {
  const config = (await prettier.resolveConfig(ERRORS_DOC_PATH)) ?? {};
  return prettier.format(renderErrorsMarkdown(table), { ...config, parser: 'markdown' });
}

/** The unformatted Markdown. */
export function renderErrorsMarkdown(table: Record<string, ErrorSpec> = ERROR_CODES): string {
  const codes = Object.keys(table);
  const byGroup = new Map<string, string[]>();
  for (const code of codes) {
    const g = GROUPS.find((gr) => gr.prefixes.some((p) => code.startsWith(p)))?.title ?? GROUPS[0]!.title;
    const list = byGroup.get(g) ?? [];
    list.push(code);
    byGroup.set(g, list);
  }
  const lines: string[] = [
    '# Error codes',
    '',
    '<!-- Generated from src/core/errors.ts by scripts/gen-errors-doc.ts (npm run docs:errors). Do not edit by hand:',
    '     test/docs/errors-doc.test.ts fails when this file differs from what the script writes. -->',
    '',
    'Every error burrow reports has one code from the table in `src/core/errors.ts` (`ERROR_CODES`), thrown as a',
    '`BurrowError` (`err.code`, `err.status`, `err.wsClose`, `err.fix`). The same code is used everywhere:',
    '',
    '- **HTTP**: the status below; the body is an HTML page for browsers (`Accept: text/html`) and',
    '  `{"error":{"code","message","fix"}}` JSON otherwise; the header `X-Burrow-Error: <code>` names the code.',
    '- **WebSocket**: a refused upgrade gets the HTTP status and JSON body; an open WebSocket closed because of',
    "  the error gets the close code below (4000–4999 are burrow's own; 1xxx are the RFC 6455 codes).",
    '- **Agent protocol**: `RESET`, `GOAWAY` and a refused `REGISTERED` carry `{code, message, fix?}`',
    '  (docs/PROTOCOL.md).',
    '- **CLI**: commands print the message and the fix and exit non-zero.',
    '',
    "The message in the table is the start of the error's message; details follow after a colon",
    '(e.g. `No tunnel is connected under this name: "swift-otter-4821"`).',
    '',
    `${codes.length} codes.`,
    '',
  ];
  for (const g of GROUPS) {
    const list = byGroup.get(g.title);
    if (!list?.length) continue;
    lines.push(`## ${g.title}`, '', g.intro, '');
    lines.push('| code | HTTP | WebSocket close | message | how to fix |', '| --- | --- | --- | --- | --- |');
    for (const code of [...list].sort()) {
      const s = table[code]!;
      lines.push(`| \`${code}\` | ${s.status} | ${s.wsClose} | ${cell(s.message)} | ${cell(s.fix)} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const text = await renderErrorsDoc();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(ERRORS_DOC_PATH, 'utf8');
    } catch {
      // missing file: stale
    }
    if (current !== text) {
      process.stderr.write('docs/errors.md is stale: run `npm run docs:errors`\n');
      process.exit(1);
    }
  } else {
    writeFileSync(ERRORS_DOC_PATH, text);
    process.stdout.write(`wrote ${ERRORS_DOC_PATH} (${Object.keys(ERROR_CODES).length} codes)\n`);
  }
}
