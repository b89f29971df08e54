// Small shared pieces: html (htm bound to Preact), formatting, the error box, confirm buttons.
import { h } from 'preact';
import { useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

export function ago(iso, now = Date.now()) {
  if (!iso) return 'never';
  return `${duration((now - Date.parse(iso)) / 1000)} ago`;
}

export function when(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleString();
}

/** An error from the server, with its code and how to fix it (from the error table). */
export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="error" role="alert">
    <p><strong>${error.message}</strong></p>
    <p class="code"><code>${error.code}</code>${error.retryAfter ? html` · try again in ${error.retryAfter} s` : ''}</p>
    ${error.fix ? html`<p class="fix">${error.fix}</p>` : ''}
  </div>`;
}

/** A button that asks once more before acting: "Revoke" → "Really revoke? Yes / Cancel". */
export function ConfirmButton({ label, question, onConfirm, disabled }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return html`<button type="button" class="danger" disabled=${disabled} onClick=${() => setAsking(true)}>
      ${label}
    </button>`;
  }
  return html`<span class="confirm" role="group" aria-label=${question}>
    <span>${question}</span>
    <button
      type="button"
      class="danger"
      ref=${(el) => el && el.focus()}
      onClick=${() => {
        setAsking(false);
        onConfirm();
      }}
    >
      Yes, ${label.toLowerCase()}
    </button>
    <button type="button" onClick=${() => setAsking(false)}>Cancel</button>
  </span>`;
}

/** Run an async action with a busy flag and an error slot. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async (fn) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (err) {
      setError(err);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}

export function Stat({ label, value, id }) {
  return html`<div class="stat">
    <div class="stat-label">${label}</div>
    <div class="stat-value" id=${id}>${value}</div>
  </div>`;
}

/** A labelled text input bound to a state setter; `secret` makes it a password field. */
export function Field({ id, label, value, set, placeholder, secret, hint }) {
  return html`<label for=${id}>${label}</label>
    <input
      id=${id}
      type=${secret ? 'password' : 'text'}
      autocomplete=${secret ? 'off' : undefined}
      value=${value}
      onInput=${(e) => set(e.currentTarget.value)}
      placeholder=${placeholder}
      aria-describedby=${hint ? `${id}-hint` : undefined}
    />
    ${hint ? html`<p class="hint" id=${`${id}-hint`}>${hint}</p>` : ''}`;
}

/** "a, b c" → ['a', 'b', 'c'] (lists typed into one field). */
export const list = (s) =>
  s
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);
