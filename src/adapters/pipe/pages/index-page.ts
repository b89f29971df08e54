/** `/`: pick a file or type text, send it to a path, watch the upload, get the receive commands. */
import { csp, document, escapeHtml, htmlHeaders, newNonce } from './common.js';
import type { Page } from './page.js';

const SCRIPT = String.raw`
(function () {
  var base = document.body.getAttribute('data-base');
  var $ = function (id) { return document.getElementById(id); };
  var modeFile = $('mode-file'), modeText = $('mode-text');
  function syncMode() {
    $('file').classList.toggle('hidden', !modeFile.checked);
    $('text').classList.toggle('hidden', modeFile.checked);
  }
  modeFile.addEventListener('change', syncMode);
  modeText.addEventListener('change', syncMode);
  syncMode();
  function pipeUrl(path, query) {
    return location.origin + base + path.replace(/^\/+/, '') + (query || '');
  }
  function fmt(n) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
  }
  function quote(s) { return "'" + s.replace(/'/g, "'\\''") + "'"; }
  function showCommands() {
    var path = $('path').value.trim();
    var n = parseInt($('n').value, 10) || 1;
    var q = n > 1 ? '?n=' + n : '';
    if (!path) { $('commands').textContent = 'Type a path to see the commands.'; return; }
    var url = pipeUrl(path, q);
    $('commands').textContent =
      '# receive\ncurl ' + quote(url) + ' > ' + quote(path.split('/').pop() || 'out') + '\n' +
      '# send from a terminal instead\ncurl -T myfile ' + quote(url) + '\n' +
      '# watch the transfer\ncurl -H ' + quote('Accept: text/event-stream') + ' ' + quote(pipeUrl(path, '?progress')) + '\n';
    $('dash').href = pipeUrl(path, '?progress');
    $('dash').classList.remove('hidden');
  }
  $('path').addEventListener('input', showCommands);
  $('n').addEventListener('input', showCommands);
  showCommands();
  $('form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var path = $('path').value.trim();
    if (!path) { $('status').textContent = 'Type a path first.'; return; }
    var body;
    if (modeFile.checked) {
      body = $('file').files[0];
      if (!body) { $('status').textContent = 'Pick a file first.'; return; }
    } else {
      body = new Blob([$('text').value], { type: 'text/plain' });
    }
    var n = parseInt($('n').value, 10) || 1;
    var xhr = new XMLHttpRequest();
    xhr.open('POST', pipeUrl(path, n > 1 ? '?n=' + n : ''), true);
    if (body.type === '') xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    if (body.name) xhr.setRequestHeader('Content-Disposition', 'attachment; filename="' + body.name.replace(/[^\x20-\x7e]|"/g, '_') + '"');
    var bar = $('bar');
    bar.classList.remove('hidden');
    bar.removeAttribute('value'); // indeterminate until bytes reach a receiver
    $('send').disabled = true;
    document.body.setAttribute('data-state', 'waiting');
    // The browser's upload counter runs ahead (it counts bytes put into its own buffers, before any
    // receiver is there): the bar follows the server's view of the transfer instead (?progress).
    var moved = 0, watch = null;
    function waiting(d) {
      $('status').textContent = 'Waiting for a receiver' + (d && d.expectedReceivers > 1 ? 's (' + d.activeReceivers + '/' + d.expectedReceivers + ')' : '') + '...';
    }
    function streamed(d) {
      moved = d.bytesTransferred || 0;
      if (moved === 0) return;
      document.body.setAttribute('data-state', 'sending');
      if (body.size > 0) bar.value = Math.min(100, moved / body.size * 100);
      $('status').textContent = 'Sent ' + fmt(moved) + ' of ' + fmt(body.size);
    }
    if (window.EventSource) {
      watch = new EventSource(pipeUrl(path, '?progress'));
      watch.addEventListener('state', function (e) {
        var d = JSON.parse(e.data);
        if (d.state === 'waiting' || d.state === 'idle') waiting(d); else streamed(d);
      });
      watch.addEventListener('progress', function (e) { streamed(JSON.parse(e.data)); });
      watch.addEventListener('done', function () { watch.close(); });
    }
    xhr.onprogress = function () { $('log').textContent = xhr.responseText; };
    xhr.onload = function () {
      if (watch) watch.close();
      $('log').textContent = xhr.responseText;
      $('send').disabled = false;
      if (xhr.status === 200 && /Transfer complete/.test(xhr.responseText)) {
        bar.value = 100;
        $('status').textContent = 'Done: ' + fmt(body.size) + ' delivered.';
        document.body.setAttribute('data-state', 'done');
      } else {
        $('status').textContent = 'Failed (HTTP ' + xhr.status + ').';
        document.body.setAttribute('data-state', 'failed');
      }
    };
    xhr.onerror = function () {
      if (watch) watch.close();
      $('send').disabled = false;
      $('status').textContent = 'Upload error.';
      document.body.setAttribute('data-state', 'failed');
    };
    waiting(null);
    xhr.send(body);
  });
})();
`;

export const indexPage: Page = ({ base, version }) => {
  const nonce = newNonce();
  const body = `<main>
<header><h1>burrow pipe</h1><span class="v">${escapeHtml(version)}</span></header>
<p>Stream a file or text to anyone with the same path &mdash; nothing is stored on the server.
A Piping Server compatible server: piping-server's clients and recipes work here.</p>
<form id="form">
<h2>1. Choose a file or text</h2>
<div class="row">
<label><input type="radio" name="mode" id="mode-file" checked> File</label>
<label><input type="radio" name="mode" id="mode-text"> Text</label>
</div>
<p><input type="file" id="file"><textarea id="text" class="hidden" placeholder="Type text to send"></textarea></p>
<h2>2. Pick a secret path</h2>
<div class="row"><input type="text" id="path" placeholder="e.g. abcd1234 or mysecret.png" autocomplete="off" spellcheck="false"></div>
<p class="row"><label for="n">Receivers</label> <input type="text" id="n" value="1" inputmode="numeric" class="narrow"></p>
<h2>3. Send</h2>
<p><button type="submit" id="send">Send</button></p>
<progress id="bar" class="hidden" max="100" value="0"></progress>
<p id="status" class="muted"></p>
<pre id="log" class="muted"></pre>
</form>
<h2>Receive it</h2>
<pre id="commands"></pre>
<p><a id="dash" class="hidden" href="#">Open the live progress dashboard</a></p>
<footer><a href="${escapeHtml(base)}noscript">Send without JavaScript</a> &middot; <a href="${escapeHtml(base)}help">Command-line help</a></footer>
</main>`;
  return {
    headers: htmlHeaders(csp(nonce, { script: true, connect: true }), base === '/'),
    body: document({
      title: 'burrow pipe (Piping Server compatible)',
      nonce,
      body,
      script: SCRIPT,
      bodyAttrs: `data-base="${escapeHtml(base)}"`,
    }),
  };
};
