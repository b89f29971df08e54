// Overview: version, uptime, counts, live charts (req/s, bytes/s, memory, event-loop delay), errors by code.
import { Chart } from '../chart.js';
import { bytes, duration, html, Stat } from '../ui.js';

export function Overview({ live }) {
  const { samples, state } = live;
  const last = samples[samples.length - 1];
  const errors = state ? Object.entries(state.errors).sort((a, b) => b[1] - a[1]) : [];
  return html`<section aria-label="Now">
      <div class="stats">
        <${Stat} label="Version" value=${state?.version ?? '…'} />
        <${Stat} label="Uptime" value=${state ? duration(state.uptimeSeconds) : '…'} />
        <${Stat} label="Tunnels" id="stat-tunnels" value=${last?.tunnels ?? '…'} />
        <${Stat} label="Agents" id="stat-agents" value=${last?.agents ?? '…'} />
        <${Stat} label="Open streams" id="stat-streams" value=${last?.streams ?? '…'} />
        <${Stat} label="Requests" id="stat-requests" value=${state?.requestsTotal ?? '…'} />
        <${Stat} label="Memory (RSS)" value=${last ? bytes(last.rssBytes) : '…'} />
        <${Stat} label="Event-loop delay (p99)" value=${last ? `${last.loopDelayMs} ms` : '…'} />
      </div>
    </section>
    <section aria-label="Charts" class="charts">
      <${Chart}
        title="Requests per second"
        samples=${samples}
        series=${[{ label: 'req/s', value: (s) => s.reqPerSec, color: '--c1' }]}
      />
      <${Chart}
        title="Bytes per second"
        samples=${samples}
        fmt=${bytes}
        series=${[
          { label: 'in', value: (s) => s.bytesInPerSec, color: '--c1' },
          { label: 'out', value: (s) => s.bytesOutPerSec, color: '--c2' },
        ]}
      />
      <${Chart}
        title="Memory"
        samples=${samples}
        fmt=${bytes}
        series=${[
          { label: 'RSS', value: (s) => s.rssBytes, color: '--c1' },
          { label: 'heap', value: (s) => s.heapUsedBytes, color: '--c2' },
        ]}
      />
      <${Chart}
        title="Event-loop delay (ms, p99)"
        samples=${samples}
        series=${[{ label: 'ms', value: (s) => s.loopDelayMs, color: '--c3' }]}
      />
    </section>
    <section aria-labelledby="errors-h">
      <h2 id="errors-h">Errors by code</h2>
      ${
        errors.length === 0
          ? html`<p class="muted">No errors answered since the server started.</p>`
          : html`<table class="rows">
              <thead>
                <tr>
                  <th scope="col">Code</th>
                  <th scope="col">Count</th>
                </tr>
              </thead>
              <tbody>
                ${errors.map(
                  ([code, n]) =>
                    html`<tr>
                      <td data-label="Code"><code>${code}</code></td>
                      <td data-label="Count">${n}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
    </section>`;
}
