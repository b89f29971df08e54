// Tokens: create (names or patterns, kinds, expiry, label; the secret shown once), list, revoke.
import { useEffect, useState } from 'preact/hooks';
import { admin } from '../api.js';
import { ago, ConfirmButton, ErrorBox, Field, html, list, useAction, when } from '../ui.js';

const KINDS = ['http', 'tcp', 'tiflis', 'pipe', 'admin'];

function CreateToken({ onCreated }) {
  const [label, setLabel] = useState('');
  const [names, setNames] = useState('');
  const [expires, setExpires] = useState('30d');
  const [kinds, setKinds] = useState(['http', 'tcp', 'tiflis', 'pipe']);
  const [created, setCreated] = useState(null);
  const [copied, setCopied] = useState(false);
  const { busy, error, run } = useAction();
  const submit = (e) => {
    e.preventDefault();
    void run(async () => {
      const body = { label, kinds, expires: expires.trim() || 'never' };
      if (names.trim()) body.names = list(names);
      const r = await admin('POST', '/tokens', body);
      setCreated(r);
      setCopied(false);
      setLabel('');
      setNames('');
      onCreated();
    });
  };
  const copy = async () => {
    const el = document.getElementById('new-secret');
    try {
      await navigator.clipboard.writeText(created.secret);
    } catch {
      el.select();
      document.execCommand('copy');
    }
    setCopied(true);
  };
  return html`<section aria-labelledby="create-h" class="card">
    <h2 id="create-h">Create a token</h2>
    <form onSubmit=${submit} class="form">
      <${Field} id="token-label" label="Label" value=${label} set=${setLabel} placeholder="alice laptop" />
      <${Field}
        id="token-names"
        label="Names or patterns"
        value=${names}
        set=${setNames}
        placeholder="myapp, alice-*"
        hint=${html`Comma-separated; one <code>*</code> at either end. Empty: any name.`}
      />
      <${Field}
        id="token-expires"
        label="Expires in"
        value=${expires}
        set=${setExpires}
        hint=${html`<code>30d</code>, <code>12h</code>, <code>1y</code> or <code>never</code>.`}
      />
      <fieldset>
        <legend>Kinds</legend>
        ${KINDS.map(
          (k) =>
            html`<label class="check"
              ><input
                type="checkbox"
                name="kind"
                value=${k}
                checked=${kinds.includes(k)}
                onChange=${(e) => setKinds((ks) => (e.currentTarget.checked ? [...ks, k] : ks.filter((x) => x !== k)))}
              />
              ${k}</label
            >`,
        )}
      </fieldset>
      <button type="submit" class="primary" disabled=${busy} id="create-token">Create token</button>
    </form>
    <${ErrorBox} error=${error} />
    ${
      created &&
      html`<div class="secret" role="status">
        <p>
          <strong>Token ${created.token.label || created.token.id} created.</strong> Copy the secret now: it is shown
          only once.
        </p>
        <label for="new-secret">Secret</label>
        <div class="row">
          <input id="new-secret" readonly value=${created.secret} onFocus=${(e) => e.currentTarget.select()} />
          <button type="button" onClick=${copy}>${copied ? 'Copied' : 'Copy'}</button>
        </div>
        <p class="hint">Use it with <code>burrow http 3000 --token …</code>.</p>
      </div>`
    }
  </section>`;
}

export function Tokens() {
  const [tokens, setTokens] = useState(null);
  const { error, run } = useAction();
  const load = () =>
    void run(async () => {
      setTokens((await admin('GET', '/tokens')).tokens);
    });
  useEffect(load, []);
  const revoke = (t) =>
    void run(async () => {
      await admin('POST', `/tokens/${encodeURIComponent(t.id)}/revoke`);
      load();
    });
  return html`<${CreateToken} onCreated=${load} />
    <section aria-labelledby="tokens-h">
      <h2 id="tokens-h">Tokens</h2>
      <${ErrorBox} error=${error} />
      ${
        tokens === null
          ? html`<p class="muted">Loading…</p>`
          : tokens.length === 0
            ? html`<p class="muted">No tokens yet.</p>`
            : html`<table class="rows" id="tokens">
                <thead>
                  <tr>
                    <th scope="col">Label</th>
                    <th scope="col">Id</th>
                    <th scope="col">Kinds</th>
                    <th scope="col">Names</th>
                    <th scope="col">Status</th>
                    <th scope="col">Last used</th>
                    <th scope="col">Expires</th>
                    <th scope="col"><span class="sr-only">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  ${tokens.map(
                    (t) =>
                      html`<tr data-token=${t.id}>
                        <td data-label="Label">${t.label || '—'}</td>
                        <td data-label="Id"><code>${t.id}</code> <span class="muted">${t.prefix}…</span></td>
                        <td data-label="Kinds">${t.scopes.join(', ')}</td>
                        <td data-label="Names">${t.names.length ? t.names.join(', ') : 'any'}</td>
                        <td data-label="Status"><span class=${`badge ${t.status}`}>${t.status}</span></td>
                        <td data-label="Last used">${ago(t.lastUsedAt)}</td>
                        <td data-label="Expires">${t.expiresAt ? when(t.expiresAt) : 'never'}</td>
                        <td data-label="Actions">
                          ${
                            t.status === 'active'
                              ? html`<${ConfirmButton}
                                  label="Revoke"
                                  question=${`Revoke ${t.label || t.id}? Its agents are disconnected at once.`}
                                  onConfirm=${() => revoke(t)}
                                />`
                              : ''
                          }
                        </td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
      }
    </section>`;
}
