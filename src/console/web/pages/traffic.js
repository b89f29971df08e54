// Pipes in flight and TCP sessions, from the live stream (the pipe's and the TCP access's counters).
import { useRef } from 'preact/hooks';
import { Chart } from '../chart.js';
import { ago, bytes, html, Stat } from '../ui.js';

/** Per-sample rate of a counter in the adapters' stats (bytes moved → bytes/s). */
function useRate(value, t) {
  const prev = useRef(null);
  const rate = useRef(0);
  if (value !== undefined && t !== undefined && (!prev.current || prev.current.t !== t)) {
    if (prev.current && t > prev.current.t)
      rate.current = Math.max(0, ((value - prev.current.v) * 1000) / (t - prev.current.t));
    prev.current = { t, v: value };
  }
  return rate.current;
}

/** Items an edge carries now (live.state.inFlight of one kind): what, since when, bytes each way, its facts. */
function InFlight({ id, items, empty, labelTitle }) {
  if (items.length === 0) return html`<p class="muted" id=${`${id}-none`}>${empty}</p>`;
  return html`<table class="rows" id=${id}>
    <thead>
      <tr>
        <th scope="col">${labelTitle}</th>
        <th scope="col">Age</th>
        <th scope="col">In</th>
        <th scope="col">Out</th>
        <th scope="col">Details</th>
      </tr>
    </thead>
    <tbody>
      ${items.map(
        (i) =>
          html`<tr key=${i.id} data-item=${i.id}>
            <td data-label=${labelTitle}><code>${i.label}</code></td>
            <td data-label="Age">${ago(new Date(i.startedAt).toISOString())}</td>
            <td data-label="In" class="bytes-in">
              ${bytes(i.bytesIn)}${i.total !== undefined ? ` of ${bytes(i.total)}` : ''}
            </td>
            <td data-label="Out" class="bytes-out">${bytes(i.bytesOut)}</td>
            <td data-label="Details">
              ${Object.entries(i.detail)
                .map(([k, v]) => `${k} ${v}`)
                .join(' · ')}
            </td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export function Pipes({ live }) {
  const a = live.state?.adapters ?? {};
  const t = live.samples[live.samples.length - 1]?.t;
  const rate = useRate(a.pipe_bytes, t);
  if (a.pipe_active === undefined)
    return html`<p class="muted">The pipe is off on this server (<code>--no-pipe</code>).</p>`;
  return html`<div class="stats" id="pipe-stats">
      <${Stat} label="Streaming now" id="pipe-active" value=${a.pipe_active} />
      <${Stat} label="Waiting for a peer" id="pipe-pending" value=${a.pipe_pending} />
      <${Stat} label="Progress watchers" value=${a.pipe_spectators} />
      <${Stat} label="Bytes moved" id="pipe-bytes" value=${bytes(a.pipe_bytes)} />
      <${Stat} label="Rate" id="pipe-rate" value=${`${bytes(Math.round(rate))}/s`} />
      <${Stat} label="Completed" value=${a.pipe_transfers_completed} />
      <${Stat} label="Failed" value=${a.pipe_transfers_failed} />
    </div>
    <div class="progress" aria-hidden="true">
      <span class=${a.pipe_active > 0 ? 'moving' : ''}></span>
    </div>
    <${InFlight}
      id="pipes"
      items=${(live.state?.inFlight ?? []).filter((i) => i.kind === 'pipe')}
      empty="No pipes in flight."
      labelTitle="Path"
    />
    <p class="hint">
      Senders and receivers meet at <code>/api/v1/pipe/&lt;path&gt;</code>; a transfer's own progress is at
      <code>?progress</code> on its path (docs/pipe.md).
    </p>`;
}

export function Tcp({ live }) {
  const a = live.state?.adapters ?? {};
  const tunnels = (live.state?.tunnels ?? []).filter((x) => x.kind === 'tcp');
  return html`<section aria-labelledby="tcp-ports-h">
      <h2 id="tcp-ports-h">Public TCP ports (<code>burrow tcp</code>)</h2>
      ${
        tunnels.length === 0
          ? html`<p class="muted">No TCP tunnels.</p>`
          : html`<table class="rows" id="tcp-tunnels">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Address</th>
                  <th scope="col">Age</th>
                  <th scope="col">Connections</th>
                  <th scope="col">In</th>
                  <th scope="col">Out</th>
                </tr>
              </thead>
              <tbody>
                ${tunnels.map(
                  (x) =>
                    html`<tr>
                      <td data-label="Name">${x.name}</td>
                      <td data-label="Address"><code>${x.url}</code></td>
                      <td data-label="Age">${ago(x.createdAt)}</td>
                      <td data-label="Connections">${x.openStreams}</td>
                      <td data-label="In">${bytes(x.bytesIn)}</td>
                      <td data-label="Out">${bytes(x.bytesOut)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
    </section>
    <section aria-labelledby="tcp-ws-h">
      <h2 id="tcp-ws-h">TCP over WebSocket</h2>
      <div class="stats">
        <${Stat} label="Sessions" value=${a.tcpSessions ?? 0} />
        <${Stat} label="Detached (resumable)" value=${a.tcpDetachedSessions ?? 0} />
        <${Stat} label="Multiplexed sockets" value=${a.tcpMuxSockets ?? 0} />
        <${Stat} label="Multiplexed connections" value=${a.tcpMuxConnections ?? 0} />
        <${Stat} label="Bytes in" value=${bytes(a.tcpBytesIn ?? 0)} />
        <${Stat} label="Bytes out" value=${bytes(a.tcpBytesOut ?? 0)} />
      </div>
      <${InFlight}
        id="tcp-sessions"
        items=${(live.state?.inFlight ?? []).filter((i) => i.kind === 'tcp-ws')}
        empty="No TCP-over-WebSocket sessions open."
        labelTitle="Target"
      />
    </section>
    <${Chart}
      title="Tunnel bytes per second"
      samples=${live.samples}
      fmt=${bytes}
      series=${[
        { label: 'in', value: (s) => s.bytesInPerSec, color: '--c1' },
        { label: 'out', value: (s) => s.bytesOutPerSec, color: '--c2' },
      ]}
    />`;
}
