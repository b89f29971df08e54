// Tunnels: every live tunnel with its counters, pushed every second; sort and filter; disconnect one.
import { useState } from 'preact/hooks';
import { admin } from '../api.js';
import { ConfirmButton, ErrorBox, ago, bytes, html, useAction } from '../ui.js';

const COLUMNS = [
  { key: 'name', label: 'Name' },
  { key: 'protocol', label: 'Kind' },
  { key: 'agentAddress', label: 'Agent' },
  { key: 'createdAt', label: 'Connected' },
  { key: 'openStreams', label: 'Streams' },
  { key: 'bytesIn', label: 'In' },
  { key: 'bytesOut', label: 'Out' },
  { key: 'requests', label: 'Requests' },
  { key: 'reqPerSec', label: 'req/s' },
];

export function Tunnels({ live }) {
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState({ key: 'name', dir: 1 });
  const { error, run } = useAction();
  // the list is pushed: the closed tunnel leaves it with the next update
  const disconnect = (t) => void run(() => admin('DELETE', `/live/${encodeURIComponent(t.id)}`));
  const rows = (live.state?.tunnels ?? []).filter((t) => {
    const f = filter.trim().toLowerCase();
    return !f || t.name.includes(f) || t.protocol.includes(f) || t.url.toLowerCase().includes(f);
  });
  rows.sort((a, b) => {
    const x = a[sort.key];
    const y = b[sort.key];
    return (typeof x === 'number' ? x - y : String(x).localeCompare(String(y))) * sort.dir;
  });
  const by = (key) => setSort((s) => ({ key, dir: s.key === key ? -s.dir : 1 }));
  return html`<div class="toolbar">
      <label for="tunnel-filter">Filter</label>
      <input
        id="tunnel-filter"
        type="search"
        value=${filter}
        placeholder="name, kind or URL"
        onInput=${(e) => setFilter(e.currentTarget.value)}
      />
      <span class="muted" aria-live="polite">${rows.length} of ${live.state?.tunnelsTotal ?? 0} live</span>
    </div>
    <${ErrorBox} error=${error} />
    ${
      rows.length === 0
        ? html`<p class="muted" id="no-tunnels">
            No live tunnels${filter ? ' match' : ''}. Start one with <code>burrow http 3000 --server …</code>.
          </p>`
        : html`<table class="rows" id="tunnels">
            <thead>
              <tr>
                ${COLUMNS.map(
                  (c) =>
                    html`<th
                      scope="col"
                      aria-sort=${sort.key === c.key ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none'}
                    >
                      <button type="button" class="sort" onClick=${() => by(c.key)}>${c.label}</button>
                    </th>`,
                )}
                <th scope="col"><span class="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              ${rows.map(
                (t) =>
                  html`<tr key=${t.id} data-tunnel=${t.name}>
                    <td data-label="Name"><a href=${t.url} rel="noreferrer" target="_blank">${t.name}</a></td>
                    <td data-label="Kind">${t.protocol}${t.kind === 'tcp' ? ' (tcp)' : ''}</td>
                    <td data-label="Agent" class="agent">${t.agentAddress ?? '—'}</td>
                    <td data-label="Connected">${ago(t.createdAt)}</td>
                    <td data-label="Streams">${t.openStreams}</td>
                    <td data-label="In">${bytes(t.bytesIn)}</td>
                    <td data-label="Out">${bytes(t.bytesOut)}</td>
                    <td data-label="Requests" class="requests">${t.requests}</td>
                    <td data-label="req/s">${t.reqPerSec}</td>
                    <td data-label="Actions">
                      <${ConfirmButton}
                        label="Disconnect"
                        question=${`Disconnect ${t.name}? Its client is told and does not reconnect it; the name is free at once.`}
                        onConfirm=${() => disconnect(t)}
                      />
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}
