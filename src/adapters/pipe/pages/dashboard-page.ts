/** `?progress` for browsers: a live dashboard fed by the same path's SSE stream. */
import { csp, document, escapeHtml, htmlHeaders, newNonce } from './common.js';
import type { Page } from './page.js';

const SCRIPT = String.raw`
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var src = document.body.getAttribute('data-src');
  function fmt(n) {
    if (n === null || n === undefined) return '-';
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
  }
  function dur(s) {
    if (s === null || s === undefined || !isFinite(s)) return '-';
    s = Math.round(s);
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
    return (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + r + 's';
  }
  function setState(state) {
    var b = $('state');
    b.textContent = state;
    b.className = 'badge ' + state;
    document.body.setAttribute('data-state', state);
  }
  function show(d) {
    if (d.bytesTransferred !== undefined) $('bytes').textContent = fmt(d.bytesTransferred);
    if (d.totalBytes !== undefined) $('total').textContent = fmt(d.totalBytes);
    if (d.speed !== undefined) $('speed').textContent = fmt(d.speed) + '/s';
    if (d.eta !== undefined) $('eta').textContent = dur(d.eta);
    var rec = d.activeReceivers !== undefined ? d.activeReceivers : d.receivers;
    if (rec !== undefined) $('receivers').textContent = rec + (d.expectedReceivers ? ' / ' + d.expectedReceivers : '');
    if (d.hasSender !== undefined) $('sender').textContent = d.hasSender ? 'connected' : 'not yet';
    if (d.totalBytes) {
      $('bar').value = Math.min(100, (d.bytesTransferred || 0) / d.totalBytes * 100);
    }
    $('updated').textContent = new Date().toLocaleTimeString();
  }
  var es = new EventSource(src);
  es.addEventListener('state', function (e) { var d = JSON.parse(e.data); setState(d.state); show(d); });
  es.addEventListener('progress', function (e) { setState('streaming'); show(JSON.parse(e.data)); });
  es.addEventListener('done', function (e) {
    var d = JSON.parse(e.data);
    setState(d.state);
    show({ bytesTransferred: d.bytesTransferred, totalBytes: d.totalBytes, speed: d.avgSpeed, eta: 0 });
    if (d.state === 'complete') $('bar').value = 100;
    $('note').textContent = d.state === 'complete'
      ? 'Transfer complete in ' + dur(d.duration / 1000) + ' (average ' + fmt(d.avgSpeed) + '/s).'
      : 'Transfer failed' + (d.reason ? ': ' + d.reason : '.');
    es.close();
  });
  es.onerror = function () { $('note').textContent = 'Connection to the server lost; retrying...'; };
})();
`;

export const dashboardPage: Page = ({ path, base }) => {
  const nonce = newNonce();
  const src = `${base}${path.replace(/^\/+/, '')}?progress=1`;
  const body = `<main>
<header><h1>Transfer progress</h1><span class="v">burrow pipe</span></header>
<p>Path <code>${escapeHtml(path)}</code> &mdash; state <span id="state" class="badge">connecting</span></p>
<progress id="bar" max="100" value="0"></progress>
<div class="grid">
<div class="card"><div class="k">Transferred</div><div class="val" id="bytes">0 B</div></div>
<div class="card"><div class="k">Total</div><div class="val" id="total">-</div></div>
<div class="card"><div class="k">Speed</div><div class="val" id="speed">-</div></div>
<div class="card"><div class="k">ETA</div><div class="val" id="eta">-</div></div>
<div class="card"><div class="k">Receivers</div><div class="val" id="receivers">0</div></div>
<div class="card"><div class="k">Sender</div><div class="val" id="sender">-</div></div>
</div>
<p id="note" class="muted"></p>
<p class="muted">Last update <span id="updated">-</span>. Watching does not take a receiver slot.</p>
</main>`;
  return {
    headers: htmlHeaders(csp(nonce, { script: true, connect: true })),
    body: document({
      title: 'burrow pipe &mdash; Transfer Progress',
      nonce,
      body,
      script: SCRIPT,
      bodyAttrs: `data-path="${escapeHtml(path)}" data-src="${escapeHtml(src)}"`,
    }),
  };
};
