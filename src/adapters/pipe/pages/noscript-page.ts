/** `/noscript`: send a file or text with a plain HTML form (multipart), no JavaScript. */
import { csp, document, escapeHtml, htmlHeaders, newNonce } from './common.js';
import type { Page } from './page.js';

export const noscriptPage: Page = ({ base, version, query }) => {
  const nonce = newNonce();
  const given = query.get('path') ?? '';
  const path = given.replace(/^\/+/, '');
  // bare mounts behave as piping-server's page: the form posts to the path as given, relative to /
  const bare = base === '/';
  const mode = query.get('mode') === 'text' ? 'text' : 'file';
  const filled = path !== '';
  const action = escapeHtml(bare ? given : base + path);
  const input =
    mode === 'text'
      ? `<h2>2. Type text</h2><textarea name="input_text"${filled ? '' : ' disabled'} placeholder="${filled ? '' : 'Fill in the path above first'}"></textarea>`
      : `<h2>2. Choose a file</h2><input type="file" name="input_file"${filled ? '' : ' disabled'}>`;
  const body = `<main>
<header><h1>burrow pipe</h1><span class="v">${escapeHtml(version)}</span></header>
<p>File transfer without JavaScript${bare ? ' (a Piping Server compatible server)' : ''}.</p>
<form method="GET">
<h2>1. Path and mode</h2>
<div class="row"><input type="text" name="path" value="${escapeHtml(path)}" placeholder="e.g. abc123 or myimg.png"> <input type="submit" value="Apply"></div>
<p class="row"><label><input type="radio" name="mode" value="file"${mode === 'file' ? ' checked' : ''}> File</label>
<label><input type="radio" name="mode" value="text"${mode === 'text' ? ' checked' : ''}> Text</label></p>
</form>
<form method="POST"${filled ? ` action="${action}"` : ''} enctype="multipart/form-data">
${input}
<h2>3. Send</h2>
<input type="submit" value="Send"${filled ? '' : ' disabled'}>
</form>
<footer><a href="${escapeHtml(base)}">Top page</a></footer>
</main>`;
  return {
    headers: bare
      ? htmlHeaders(`default-src 'none'; style-src 'nonce-${nonce}'`, true)
      : htmlHeaders(csp(nonce, { form: true })),
    body: document({ title: 'burrow pipe: File transfer without JavaScript', nonce, body }),
  };
};
