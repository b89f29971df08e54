// How a body is shown: JSON pretty-printed, form data as fields, images previewed, text as text,
// anything else as its size and a hex dump of its first bytes.
import { html, bytes } from './ui.js';

/** Bytes shown in a binary body's hex dump. */
const HEX_HEAD_BYTES = 256;

function fromBase64(data) {
  const bin = atob(data);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function toBase64(text) {
  const u8 = new TextEncoder().encode(text);
  let bin = '';
  for (const b of u8) bin += String.fromCharCode(b);
  return btoa(bin);
}

export function hexDump(u8) {
  const lines = [];
  for (let at = 0; at < u8.length; at += 16) {
    const row = u8.subarray(at, at + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row].map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${at.toString(16).padStart(6, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}

function mimeOf(contentType) {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

function prettyJson(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return undefined;
  }
}

function formFields(text) {
  try {
    return [...new URLSearchParams(text)];
  } catch {
    return undefined;
  }
}

/** The kind a body is shown as: json, form, image, text, binary, empty. */
export function bodyKind(view) {
  if (!view || view.size === 0) return 'empty';
  const mime = mimeOf(view.contentType);
  if (mime.startsWith('image/')) return 'image';
  if (view.encoding === 'base64') return 'binary';
  if ((mime.includes('json') || /^\s*[[{]/.test(view.data)) && !view.truncated && prettyJson(view.data) !== undefined)
    return 'json';
  if (mime === 'application/x-www-form-urlencoded') return 'form';
  return 'text';
}

export function Body({ view, label }) {
  const kind = bodyKind(view);
  if (kind === 'empty') return html`<p class="muted body-empty">No body.</p>`;
  const note = html`<p class="muted body-note">
    ${bytes(view.size)} · ${view.contentType ?? 'no Content-Type'}
    ${view.decoded ? html` · ${view.decoded}-decoded` : ''}
    ${view.truncated ? html` · <strong>cut: the first ${bytes(keptBytes(view))} are kept</strong>` : ''}
  </p>`;
  switch (kind) {
    case 'json':
      return html`${note}
        <pre class="body body-json" aria-label=${`${label} JSON`}>${prettyJson(view.data)}</pre>`;
    case 'form':
      return html`${note}
        <table class="kv body-form" aria-label=${`${label} form fields`}>
          <tbody>
            ${formFields(view.data).map(
              ([k, v]) =>
                html`<tr>
                  <th scope="row">${k}</th>
                  <td>${v}</td>
                </tr>`,
            )}
          </tbody>
        </table>`;
    case 'image': {
      const b64 = view.encoding === 'base64' ? view.data : toBase64(view.data);
      return html`${note}<img
          class="body-image"
          alt=${`${label} image`}
          src=${`data:${mimeOf(view.contentType)};base64,${b64}`}
        />`;
    }
    case 'binary': {
      const u8 = fromBase64(view.data);
      return html`${note}
        <p class="body-binary-size">Binary, ${view.size} bytes. First ${Math.min(HEX_HEAD_BYTES, u8.length)} bytes:</p>
        <pre class="body body-hex" aria-label=${`${label} hex`}>${hexDump(u8.subarray(0, HEX_HEAD_BYTES))}</pre>`;
    }
    default:
      return html`${note}
        <pre class="body body-text">${view.data}</pre>`;
  }
}

function keptBytes(view) {
  return view.encoding === 'base64'
    ? Math.floor((view.data.length * 3) / 4)
    : new TextEncoder().encode(view.data).length;
}

/** The body as bytes (for copy as curl and the replay editor). */
export function bodyBytes(view) {
  if (!view || view.size === 0) return new Uint8Array(0);
  return view.encoding === 'base64' ? fromBase64(view.data) : new TextEncoder().encode(view.data);
}
