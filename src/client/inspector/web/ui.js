// Small shared pieces: html (htm bound to Preact), formatting, the error box.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function ms(n) {
  if (n === null || n === undefined) return '…';
  return n < 10 ? `${n.toFixed(1)} ms` : n < 10_000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;
}

export function clock(iso) {
  return new Date(iso).toLocaleTimeString([], { hour12: false });
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="error" role="alert">
    <p><strong>${error.message}</strong></p>
    ${error.code ? html`<p class="code"><code>${error.code}</code></p>` : ''}
    ${error.fix ? html`<p class="fix">${error.fix}</p>` : ''}
  </div>`;
}
