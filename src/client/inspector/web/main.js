// The burrow inspector: every request through the tunnel, live (pushed over /api/events), with its
// detail, replay (as it was or edited) beside the original, copy as curl, filters and clear.
import './style.css';
import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { call } from './api.js';
import { Body } from './body.js';
import { curlCommand } from './curl.js';
import { ErrorBox, bytes, clock, html, ms } from './ui.js';

/** Least time between two fetches of the open request's detail while it changes, in ms. */
const DETAIL_REFRESH_MS = 250;

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const STATUSES = [
  ['2', '2xx'],
  ['3', '3xx'],
  ['4', '4xx'],
  ['5', '5xx'],
  ['pending', 'waiting'],
];

function statusClass(s) {
  if (s.status === null) return 'st-pending';
  return `st-${String(s.status)[0]}xx`;
}

function matches(s, f) {
  if (f.method && s.method !== f.method) return false;
  if (f.status === 'pending' && s.status !== null) return false;
  if (f.status && f.status !== 'pending' && String(s.status ?? '')[0] !== f.status) return false;
  if (f.text && !s.path.toLowerCase().includes(f.text.toLowerCase())) return false;
  return true;
}

/** The list, newest first, kept current by the live feed. */
function useRequests() {
  const [list, setList] = useState([]);
  const [live, setLive] = useState('connecting');
  const [error, setError] = useState(null);
  useEffect(() => {
    let stopped = false;
    const load = () =>
      call('GET', '/api/requests').then(
        (r) => !stopped && setList(r.requests),
        (e) => !stopped && setError(e),
      );
    const es = new EventSource('/api/events');
    es.addEventListener('hello', () => {
      setLive('live');
      void load();
    });
    es.addEventListener('resync', () => void load());
    es.addEventListener('clear', () => setList([]));
    es.addEventListener('remove', (e) => {
      const gone = new Set(JSON.parse(e.data));
      setList((l) => l.filter((s) => !gone.has(s.id)));
    });
    es.addEventListener('requests', (e) => {
      const changed = JSON.parse(e.data);
      setList((l) => {
        const byId = new Map(l.map((s) => [s.id, s]));
        const fresh = [];
        for (const s of changed) {
          if (byId.has(s.id)) byId.set(s.id, s);
          else fresh.push(s);
        }
        fresh.sort((a, b) => b.id - a.id);
        return [...fresh, ...l.map((s) => byId.get(s.id))];
      });
    });
    es.onerror = () => setLive('reconnecting');
    return () => {
      stopped = true;
      es.close();
    };
  }, []);
  return { list, setList, live, error };
}

function Filters({ f, setF, onClear }) {
  return html`<form class="filters" role="search" onSubmit=${(e) => e.preventDefault()}>
    <label class="sr-only" for="filter-text">Path contains</label>
    <input
      id="filter-text"
      type="search"
      placeholder="Filter by path"
      value=${f.text}
      onInput=${(e) => setF({ ...f, text: e.currentTarget.value })}
    />
    <label class="sr-only" for="filter-method">Method</label>
    <select id="filter-method" value=${f.method} onChange=${(e) => setF({ ...f, method: e.currentTarget.value })}>
      <option value="">All methods</option>
      ${METHODS.map((m) => html`<option value=${m}>${m}</option>`)}
    </select>
    <label class="sr-only" for="filter-status">Status</label>
    <select id="filter-status" value=${f.status} onChange=${(e) => setF({ ...f, status: e.currentTarget.value })}>
      <option value="">All statuses</option>
      ${STATUSES.map(([v, t]) => html`<option value=${v}>${t}</option>`)}
    </select>
    <button type="button" id="clear" class="danger" onClick=${onClear}>Clear</button>
  </form>`;
}

function List({ list, selected, onSelect }) {
  if (!list.length)
    return html`<p class="muted empty" id="empty">No requests yet. Visit the tunnel's URL and they appear here.</p>`;
  return html`<table class="requests" id="requests">
    <thead>
      <tr>
        <th class="col-time" scope="col">Time</th>
        <th scope="col">Method</th>
        <th class="col-path" scope="col">Path</th>
        <th scope="col">Status</th>
        <th scope="col">Duration</th>
        <th class="col-size" scope="col">Size</th>
        <th class="col-ip" scope="col">Client</th>
      </tr>
    </thead>
    <tbody>
      ${list.map(
        (s) =>
          html`<tr
            key=${s.id}
            data-id=${s.id}
            class=${`row ${s.id === selected ? 'selected' : ''}`}
            tabindex="0"
            aria-selected=${s.id === selected}
            onClick=${() => onSelect(s.id)}
            onKeyDown=${(e) => e.key === 'Enter' && onSelect(s.id)}
          >
            <td class="col-time">${clock(s.time)}</td>
            <td class="method">${s.method}</td>
            <td class="col-path path" title=${s.path}>
              ${s.replayOf !== null ? html`<span class="tag">replay</span> ` : ''}${
                s.upgrade ? html`<span class="tag">${s.upgrade}</span> ` : ''
              }${s.path}
            </td>
            <td class=${`status ${statusClass(s)}`}>${s.status ?? '…'}</td>
            <td class="duration">${s.state === 'incomplete' ? 'cut' : ms(s.durationMs)}</td>
            <td class="col-size">${bytes(s.size)}</td>
            <td class="col-ip">${s.clientIp ?? ''}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function Headers({ headers, label }) {
  if (!headers.length) return html`<p class="muted">No headers.</p>`;
  return html`<table class="kv headers" aria-label=${label}>
    <tbody>
      ${headers.map(
        ([k, v]) =>
          html`<tr>
            <th scope="row">${k}</th>
            <td>${v}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function Response({ d, title, id }) {
  return html`<section class="response" id=${id} aria-label=${title}>
    <h3>${title}</h3>
    <p class="status-line">
      <span class=${`status ${statusClass(d)}`}>${d.status ?? '…'}</span> ${d.reason} · ${ms(d.durationMs)}
      ${d.state === 'incomplete' ? html` · <strong>the connection ended first</strong>` : ''}
    </p>
    <${Headers} headers=${d.responseHeaders} label=${`${title} headers`} />
    <div class="response-body"><${Body} view=${d.responseBody} label=${`${title} body`} /></div>
  </section>`;
}

function Messages({ ws }) {
  return html`<section id="ws-messages">
    <h3>WebSocket messages (${ws.messages.length}${ws.dropped ? `, ${ws.dropped} older dropped` : ''})</h3>
    <ol class="messages">
      ${ws.messages.map(
        (m) =>
          html`<li class=${`msg from-${m.from}`}>
            <span class="msg-meta"
              >${m.from === 'client' ? '→' : '←'} ${m.type} · ${bytes(m.size)} · +${m.atMs} ms</span
            >
            ${
              m.type === 'text' && m.body.encoding === 'utf8'
                ? html`<pre class="msg-data">${m.body.data}</pre>`
                : m.compressed
                  ? html`<span class="muted"> (compressed)</span>`
                  : ''
            }
          </li>`,
      )}
    </ol>
  </section>`;
}

function Events({ sse }) {
  return html`<section id="sse-events">
    <h3>Server-sent events (${sse.events.length}${sse.dropped ? `, ${sse.dropped} older dropped` : ''})</h3>
    <ol class="messages">
      ${sse.events.map(
        (e) =>
          html`<li class="msg sse-event">
            <span class="msg-meta">${e.event}${e.id !== null ? ` · id ${e.id}` : ''} · +${e.atMs} ms</span>
            <pre class="msg-data">${e.data}</pre>
          </li>`,
      )}
    </ol>
  </section>`;
}

function headersText(headers) {
  return headers
    .filter(([k]) => !['content-length', 'transfer-encoding', 'connection'].includes(k.toLowerCase()))
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
}

function parseHeaders(text) {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const i = l.indexOf(':');
      return i === -1 ? [l, ''] : [l.slice(0, i).trim(), l.slice(i + 1).trim()];
    });
}

function Editor({ d, onReplay, onCancel, busy }) {
  const [method, setMethod] = useState(d.method);
  const [path, setPath] = useState(d.path);
  const [headers, setHeaders] = useState(headersText(d.requestHeaders));
  const textBody = d.requestBody.encoding === 'utf8' && !d.requestBody.truncated;
  const [body, setBody] = useState(textBody ? d.requestBody.data : '');
  const submit = (e) => {
    e.preventDefault();
    const edits = { method, path, headers: parseHeaders(headers) };
    if (textBody || body !== '') edits.body = body;
    onReplay(edits);
  };
  return html`<form class="editor card" id="replay-editor" onSubmit=${submit}>
    <div class="editor-line">
      <label for="edit-method">Method</label>
      <input id="edit-method" value=${method} onInput=${(e) => setMethod(e.currentTarget.value)} />
      <label for="edit-path">Path</label>
      <input id="edit-path" value=${path} onInput=${(e) => setPath(e.currentTarget.value)} />
    </div>
    <label for="edit-headers">Headers (one "Name: value" a line)</label>
    <textarea
      id="edit-headers"
      rows="6"
      value=${headers}
      onInput=${(e) => setHeaders(e.currentTarget.value)}
    ></textarea>
    <label for="edit-body"
      >Body${textBody ? '' : ' (the original is binary or cut: type a new one, or leave empty to send it as it was)'}</label
    >
    <textarea id="edit-body" rows="6" value=${body} onInput=${(e) => setBody(e.currentTarget.value)}></textarea>
    <div class="actions">
      <button type="submit" class="primary" id="send-edited" disabled=${busy}>Send to the local service</button>
      <button type="button" onClick=${onCancel}>Cancel</button>
    </div>
  </form>`;
}

function Detail({ id, summary }) {
  const [d, setD] = useState(null);
  const [error, setError] = useState(null);
  const [replayed, setReplayed] = useState(null);
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [curl, setCurl] = useState(null);
  useEffect(() => {
    setReplayed(null);
    setEditing(false);
    setCurl(null);
    setError(null);
  }, [id]);
  // fetched again when its summary changes (a response came, a message arrived), at most once per
  // DETAIL_REFRESH_MS while it streams: a busy WebSocket does not make the page fetch without pause
  const lastFetch = useRef({ id: null, at: 0 });
  useEffect(() => {
    let stopped = false;
    const last = lastFetch.current;
    const wait = last.id === id ? Math.max(0, last.at + DETAIL_REFRESH_MS - Date.now()) : 0;
    const timer = setTimeout(() => {
      lastFetch.current = { id, at: Date.now() };
      call('GET', `/api/requests/${id}`).then(
        (r) => !stopped && setD(r),
        (e) => !stopped && setError(e),
      );
    }, wait);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [id, summary]);
  if (error && !d) return html`<${ErrorBox} error=${error} />`;
  if (!d || d.id !== id) return html`<p class="muted">Loading…</p>`;
  const replay = async (edits) => {
    setBusy(true);
    setError(null);
    try {
      setReplayed(await call('POST', `/api/requests/${id}/replay`, edits));
      setEditing(false);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const copyCurl = () => {
    const text = curlCommand(d);
    setCurl(text);
    navigator.clipboard?.writeText(text).catch(() => {});
  };
  const plain = d.upgrade === null && d.method !== 'CONNECT';
  return html`<article class="detail-body" id="detail" data-id=${d.id}>
    <h2 class="request-line"><span class="method">${d.method}</span> <span class="path">${d.path}</span></h2>
    <p class="muted meta">
      ${new Date(d.time).toLocaleString()} · from ${d.clientIp ?? 'unknown'} · to ${d.target}
      ${d.tunnel ? ` · tunnel ${d.tunnel}` : ''}${d.replayOf !== null ? ` · replay of #${d.replayOf}` : ''}
    </p>
    <div class="actions">
      ${
        plain
          ? html`<button type="button" id="replay" disabled=${busy} onClick=${() => replay({})}>Replay</button>
              <button type="button" id="edit-replay" disabled=${busy} onClick=${() => setEditing(!editing)}>
                Edit and replay
              </button>`
          : ''
      }
      <button type="button" id="copy-curl" onClick=${copyCurl}>Copy as curl</button>
    </div>
    ${curl !== null ? html`<pre class="curl" id="curl-command" aria-label="curl command">${curl}</pre>` : ''}
    <${ErrorBox} error=${error} />
    ${editing ? html`<${Editor} d=${d} busy=${busy} onReplay=${replay} onCancel=${() => setEditing(false)} />` : ''}
    <section id="request" aria-label="Request">
      <h3>Request</h3>
      <${Headers} headers=${d.requestHeaders} label="Request headers" />
      <div id="request-body"><${Body} view=${d.requestBody} label="Request body" /></div>
    </section>
    <div class=${replayed ? 'compare' : ''}>
      <${Response} d=${d} title=${replayed ? 'Original response' : 'Response'} id="response-original" />
      ${
        replayed
          ? html`<${Response}
              d=${replayed}
              title=${`Replay #${replayed.id} (${replayed.method} ${replayed.path})`}
              id="replay-result"
            />`
          : ''
      }
    </div>
    ${d.websocket ? html`<${Messages} ws=${d.websocket} />` : ''} ${d.sse ? html`<${Events} sse=${d.sse} />` : ''}
  </article>`;
}

function App() {
  const { list, setList, live, error } = useRequests();
  const [f, setF] = useState({ text: '', method: '', status: '' });
  const [selected, setSelected] = useState(null);
  const [clearError, setClearError] = useState(null);
  const detailRef = useRef(null);
  const shown = useMemo(() => list.filter((s) => matches(s, f)), [list, f]);
  const summary = list.find((s) => s.id === selected);
  const clear = () =>
    call('DELETE', '/api/requests').then(() => {
      setList([]);
      setSelected(null);
    }, setClearError);
  const select = (id) => {
    setSelected(id);
    requestAnimationFrame(() => detailRef.current?.scrollIntoView?.({ block: 'nearest' }));
  };
  return html`<div class="app">
    <header class="top">
      <h1>burrow inspector</h1>
      <span class=${`live live-${live}`} id="live" aria-live="polite">${live}</span>
      <span class="muted count" id="count">${shown.length} of ${list.length}</span>
      <${Filters} f=${f} setF=${setF} onClear=${clear} />
    </header>
    <${ErrorBox} error=${error ?? clearError} />
    <main class="panes">
      <section class="list" aria-label="Requests">
        <${List} list=${shown} selected=${selected} onSelect=${select} />
      </section>
      <section class="detail" aria-label="Request detail" ref=${detailRef}>
        ${
          summary
            ? html`<${Detail} id=${selected} summary=${summary} />`
            : html`<p class="muted">Pick a request to see its headers and bodies, replay it or copy it as curl.</p>`
        }
      </section>
    </main>
  </div>`;
}

const root = document.getElementById('app');
root.textContent = ''; // the "Loading…" placeholder
render(html`<${App} />`, root);
