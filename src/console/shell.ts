/** The console's two HTML documents: the app shell (scripts and styles by file only) and the "off" page. */
import { appShell, type PageAssets } from '../core/page-assets.js';
import { CONSOLE_PATH } from './limits.js';

export function shellPage(assets: PageAssets): string {
  return appShell(assets, {
    title: 'burrow admin',
    assetsPath: `${CONSOLE_PATH}/assets`,
    loading: 'Loading the burrow console…',
    noscript: 'The console needs JavaScript.',
    mainClass: 'signin',
  });
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
