/** The console's two HTML documents: the app shell (scripts and styles by file only) and the "off" page. */
import type { ConsoleAssets } from './assets.js';
import { CONSOLE_PATH } from './limits.js';

export function shellPage(assets: ConsoleAssets): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>burrow admin</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${CONSOLE_PATH}/assets/${assets.css}">
<script type="module" src="${CONSOLE_PATH}/assets/${assets.js}"></script>
</head>
<body>
<div id="app"><main class="signin"><p>Loading the burrow console…</p><noscript><p>The console needs JavaScript.</p></noscript></main></div>
</body>
</html>
`;
}

/** What /admin answers when the console cannot run: a page that says how to turn it on. */
export function offPage(title: string, text: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark"><title>${title}</title></head>
<body><h1>${title}</h1><p>${text}</p></body>
</html>
`;
}

export const CONSOLE_OFF_TEXT =
  'The admin console is off. Start the server with --admin-token &lt;secret of 16+ characters&gt; ' +
  '(or BURROW_ADMIN_TOKEN) and sign in here with that token. See docs/console.md.';
export const ASSETS_MISSING_TEXT =
  'The console is on but its front-end files are missing: run npm run build (it writes dist/console/assets).';
