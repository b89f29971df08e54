/**
 * `?video` for browsers: a Media Source Extensions player that fetches the raw stream (taking the
 * receiver slot itself) and detects WebM, fragmented MP4 or MPEG-TS from the first bytes.
 */
import { csp, document, escapeHtml, htmlHeaders, newNonce } from './common.js';
import type { Page } from './page.js';

const SCRIPT = String.raw`
(function () {
  var video = document.getElementById('v');
  var statusEl = document.getElementById('status');
  function status(text, state) {
    statusEl.textContent = text;
    statusEl.classList.toggle('hidden', state === 'playing');
    document.body.setAttribute('data-state', state);
  }
  function ascii(bytes, from, len) {
    var s = '';
    for (var i = from; i < from + len && i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return s;
  }
  function find(bytes, str) {
    outer: for (var i = 0; i + str.length <= bytes.length; i++) {
      for (var j = 0; j < str.length; j++) if (bytes[i + j] !== str.charCodeAt(j)) continue outer;
      return i;
    }
    return -1;
  }
  function hex2(n) { return (n < 16 ? '0' : '') + n.toString(16); }
  function detect(b) {
    if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) {
      var v = find(b, 'V_VP9') >= 0 ? 'vp9' : find(b, 'V_AV1') >= 0 ? 'av01.0.04M.08' : find(b, 'V_MPEG4/ISO/AVC') >= 0 ? 'avc1.42E01E' : 'vp8';
      var a = find(b, 'A_OPUS') >= 0 ? 'opus' : find(b, 'A_VORBIS') >= 0 ? 'vorbis' : null;
      return { kind: 'WebM', mime: 'video/webm; codecs="' + v + (a ? ',' + a : '') + '"' };
    }
    var box = ascii(b, 4, 4);
    if (box === 'ftyp' || box === 'styp' || box === 'moov' || box === 'moof') {
      var codecs = [];
      var i = find(b, 'avcC');
      if (i >= 0) codecs.push('avc1.' + hex2(b[i + 5]) + hex2(b[i + 6]) + hex2(b[i + 7]));
      else if (find(b, 'hvcC') >= 0) codecs.push('hvc1.1.6.L93.B0');
      else if (find(b, 'vpcC') >= 0) codecs.push('vp09.00.10.08');
      else if (find(b, 'av1C') >= 0) codecs.push('av01.0.04M.08');
      if (find(b, 'mp4a') >= 0) codecs.push('mp4a.40.2');
      if (codecs.length === 0) codecs.push('avc1.42E01E');
      return { kind: 'MP4', mime: 'video/mp4; codecs="' + codecs.join(',') + '"' };
    }
    if (b[0] === 0x47 && (b.length < 189 || b[188] === 0x47)) {
      return { kind: 'MPEG-TS', mime: 'video/mp2t; codecs="avc1.42E01E,mp4a.40.2"' };
    }
    return null;
  }
  var url = new URL(location.href);
  url.searchParams.delete('video');
  var streamUrl = url.pathname + url.search;
  document.getElementById('raw').setAttribute('href', streamUrl);
  video.addEventListener('click', function () { video.muted = !video.muted; document.getElementById('mute').textContent = video.muted ? 'muted (click to unmute)' : 'sound on'; });
  video.addEventListener('contextmenu', function (e) { e.preventDefault(); if (video.paused) video.play(); else video.pause(); });
  status('Waiting for stream...', 'waiting');
  fetch(streamUrl, { headers: { Accept: '*/*' } }).then(function (res) {
    if (!res.ok || !res.body) return res.text().then(function (t) { status('Error: ' + t, 'error'); });
    var reader = res.body.getReader();
    var head = new Uint8Array(0), queue = [], sb = null, ms = null, ended = false;
    status('Connected', 'connected');
    function concat(a, b) { var c = new Uint8Array(a.length + b.length); c.set(a); c.set(b, a.length); return c; }
    function pump() {
      if (!sb || sb.updating) return;
      if (queue.length) {
        try { sb.appendBuffer(queue.shift()); } catch (e) { status('Playback error: ' + e.message, 'error'); }
        return;
      }
      if (ended && ms.readyState === 'open') { ms.endOfStream(); status('Stream ended', 'ended'); }
    }
    function trim() {
      if (!sb || sb.updating || !video.buffered.length) return;
      var start = video.buffered.start(0);
      if (video.currentTime - start > 30) sb.remove(start, video.currentTime - 10);
    }
    function start(d) {
      document.getElementById('kind').textContent = d.kind;
      if (!window.MediaSource || !MediaSource.isTypeSupported(d.mime)) {
        status(d.kind + ' (' + d.mime + ') cannot be played by this browser; open the raw stream in VLC or mpv.', 'error');
        reader.cancel();
        return;
      }
      ms = new MediaSource();
      video.src = URL.createObjectURL(ms);
      ms.addEventListener('sourceopen', function () {
        sb = ms.addSourceBuffer(d.mime);
        sb.addEventListener('updateend', function () { trim(); pump(); });
        pump();
      });
      video.addEventListener('playing', function () { status('Playing', 'playing'); });
      var p = video.play(); if (p && p.catch) p.catch(function () {});
    }
    function read() {
      reader.read().then(function (r) {
        if (r.done) {
          ended = true;
          if (!sb && head.length) { var d0 = detect(head); if (d0) { queue.push(head); start(d0); } else status('Unknown stream format', 'error'); }
          else if (!head.length && !sb) status('Stream ended', 'ended');
          pump();
          return;
        }
        if (!sb && !ms) {
          head = concat(head, r.value);
          if (head.length >= 4096) {
            var d = detect(head);
            if (!d) { status('Unknown stream format', 'error'); reader.cancel(); return; }
            queue.push(head); start(d);
          }
        } else queue.push(r.value);
        pump();
        read();
      }, function (e) { status('Stream interrupted: ' + e.message, 'error'); });
    }
    read();
  }, function (e) { status('Cannot connect: ' + e.message, 'error'); });
})();
`;

const CSS_EXTRA = 'video{width:100%;max-height:75vh;background:#000;border-radius:8px}';

export const videoPage: Page = ({ path }) => {
  const nonce = newNonce();
  const body = `<main>
<header><h1>Live video</h1><span class="v">burrow pipe</span></header>
<p>Path <code>${escapeHtml(path)}</code> &middot; format <span id="kind">-</span> &middot; <span id="mute">muted (click to unmute)</span></p>
<video id="v" muted autoplay playsinline></video>
<p id="status" class="badge">Loading...</p>
<p class="muted">Right-click to pause or resume. <a id="raw" href="#">Raw stream</a> (for VLC, mpv, ffplay).</p>
<style nonce="${nonce}">${CSS_EXTRA}</style>
</main>`;
  return {
    headers: htmlHeaders(csp(nonce, { script: true, connect: true, media: true })),
    body: document({
      title: 'burrow pipe &mdash; Video',
      nonce,
      body,
      script: SCRIPT,
      bodyAttrs: `data-path="${escapeHtml(path)}"`,
    }),
  };
};
