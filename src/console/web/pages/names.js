// Names and domains: reserve a name for a token, release one, view and edit its visitor rules.
import { useEffect, useState } from 'preact/hooks';
import { admin } from '../api.js';
import { ConfirmButton, ErrorBox, Field, html, list, useAction, when } from '../ui.js';

const KEEP = 'set (enter again to keep)';

function rulesSummary(a) {
  if (!a) return 'none';
  const parts = [];
  if (a.basicAuth) parts.push('basic auth');
  if (a.bearer) parts.push('bearer');
  if (a.allowIps.length) parts.push(`allow ${a.allowIps.join(', ')}`);
  if (a.denyIps.length) parts.push(`deny ${a.denyIps.join(', ')}`);
  if (a.rateLimit) parts.push(`rate ${a.rateLimit}`);
  return parts.length ? parts.join(' · ') : 'none';
}

function RulesEditor({ entry, onSaved, onCancel }) {
  const a = entry.access;
  const [basicAuth, setBasic] = useState('');
  const [bearer, setBearer] = useState('');
  const [allowIps, setAllow] = useState(a ? a.allowIps.join(', ') : '');
  const [denyIps, setDeny] = useState(a ? a.denyIps.join(', ') : '');
  const [rateLimit, setRate] = useState(a?.rateLimit ?? '');
  const { busy, error, run } = useAction();
  const save = (e) => {
    e.preventDefault();
    void run(async () => {
      const body = {};
      if (basicAuth) body.basicAuth = basicAuth;
      if (bearer) body.bearer = bearer;
      if (allowIps.trim()) body.allowIps = list(allowIps);
      if (denyIps.trim()) body.denyIps = list(denyIps);
      if (rateLimit.trim()) body.rateLimit = rateLimit.trim();
      await admin('PUT', `/names/${encodeURIComponent(entry.name)}/access`, body);
      onSaved();
    });
  };
  const clear = () =>
    void run(async () => {
      await admin('DELETE', `/names/${encodeURIComponent(entry.name)}/access`);
      onSaved();
    });
  return html`<form class="card form rules" onSubmit=${save} aria-label=${`Visitor rules for ${entry.name}`}>
    <h3>Visitor rules for ${entry.name}</h3>
    <p class="hint">
      Saving replaces the stored rules. Secrets are stored hashed and never shown: enter them again to keep them. A
      connected agent gets the new rules when it reconnects.
    </p>
    <${Field}
      id="rule-basic"
      label="Basic auth (user:password)"
      secret
      value=${basicAuth}
      set=${setBasic}
      placeholder=${a?.basicAuth ? KEEP : ''}
    />
    <${Field}
      id="rule-bearer"
      label="Bearer token"
      secret
      value=${bearer}
      set=${setBearer}
      placeholder=${a?.bearer ? KEEP : ''}
    />
    <${Field}
      id="rule-allow"
      label="Allow IPs (CIDR, comma-separated)"
      value=${allowIps}
      set=${setAllow}
      placeholder="203.0.113.0/24"
    />
    <${Field} id="rule-deny" label="Deny IPs" value=${denyIps} set=${setDeny} placeholder="198.51.100.7" />
    <${Field} id="rule-rate" label="Rate limit" value=${rateLimit} set=${setRate} placeholder="100/s" />
    <div class="row">
      <button type="submit" class="primary" disabled=${busy} id="save-rules">Save rules</button>
      <button type="button" onClick=${clear} disabled=${busy}>Remove all rules</button>
      <button type="button" onClick=${onCancel}>Close</button>
    </div>
    <${ErrorBox} error=${error} />
  </form>`;
}

export function Names({ session }) {
  const [names, setNames] = useState(null);
  const [tokens, setTokens] = useState([]);
  const [name, setName] = useState('');
  const [tokenId, setTokenId] = useState('');
  const [editing, setEditing] = useState(null);
  const { busy, error, run } = useAction();
  const load = () =>
    void run(async () => {
      const [n, t] = await Promise.all([admin('GET', '/names'), admin('GET', '/tokens')]);
      setNames(n.names);
      setTokens(t.tokens.filter((x) => x.status === 'active'));
    });
  useEffect(load, []);
  const label = (id) => {
    const t = tokens.find((x) => x.id === id);
    return t ? `${t.label || t.id}` : id;
  };
  const reserve = (e) => {
    e.preventDefault();
    void run(async () => {
      await admin('POST', '/names', { name, tokenId: tokenId || tokens[0]?.id });
      setName('');
      load();
    });
  };
  const release = (n) =>
    void run(async () => {
      await admin('DELETE', `/names/${encodeURIComponent(n.name)}`);
      if (editing === n.name) setEditing(null);
      load();
    });
  const current = names?.find((n) => n.name === editing);
  return html`<section aria-labelledby="domains-h">
      <h2 id="domains-h">Domains</h2>
      <p>Tunnels are served at <code>name.domain</code> for these domains:</p>
      <ul class="domains">
        ${session.server.domains.map((d) => html`<li><code>${d}</code></li>`)}
      </ul>
    </section>
    <section aria-labelledby="reserve-h" class="card">
      <h2 id="reserve-h">Reserve a name</h2>
      <form class="form" onSubmit=${reserve}>
        <label for="reserve-name">Name</label>
        <input
          id="reserve-name"
          required
          value=${name}
          onInput=${(e) => setName(e.currentTarget.value)}
          placeholder="myapp"
        />
        <label for="reserve-token">For token</label>
        <select
          id="reserve-token"
          value=${tokenId || tokens[0]?.id || ''}
          onChange=${(e) => setTokenId(e.currentTarget.value)}
        >
          ${tokens.map((t) => html`<option value=${t.id}>${t.label || '(no label)'} — ${t.id}</option>`)}
        </select>
        <button type="submit" class="primary" disabled=${busy || tokens.length === 0} id="reserve">Reserve</button>
        ${tokens.length === 0 ? html`<p class="hint">Create a token first (Tokens page).</p>` : ''}
      </form>
    </section>
    <${ErrorBox} error=${error} />
    ${
      current &&
      html`<${RulesEditor}
        key=${current.name}
        entry=${current}
        onSaved=${() => {
          setEditing(null);
          load();
        }}
        onCancel=${() => setEditing(null)}
      />`
    }
    <section aria-labelledby="names-h">
      <h2 id="names-h">Reserved names</h2>
      ${
        names === null
          ? html`<p class="muted">Loading…</p>`
          : names.length === 0
            ? html`<p class="muted">No reserved names.</p>`
            : html`<table class="rows" id="names">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Owner token</th>
                    <th scope="col">Reserved</th>
                    <th scope="col">Visitor rules</th>
                    <th scope="col"><span class="sr-only">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  ${names.map(
                    (n) =>
                      html`<tr data-name=${n.name}>
                        <td data-label="Name"><code>${n.name}</code></td>
                        <td data-label="Owner token">${label(n.tokenId)}</td>
                        <td data-label="Reserved">${when(n.createdAt)}</td>
                        <td data-label="Visitor rules" class="rules-summary">${rulesSummary(n.access)}</td>
                        <td data-label="Actions" class="actions">
                          <button type="button" onClick=${() => setEditing(n.name)}>Edit rules</button>
                          <${ConfirmButton}
                            label="Release"
                            question=${`Release ${n.name}?`}
                            onConfirm=${() => release(n)}
                          />
                        </td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
      }
    </section>`;
}
