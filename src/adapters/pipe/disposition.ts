/**
 * Content-Disposition per receiver (RFC 6266 / RFC 5987): `?filename=` and `?download=` override
 * or suppress what the sender set; filenames are sanitised. Pure functions.
 */
import { MAX_FILENAME_LENGTH } from '../../wire/pipe/limits.js';
import { stripControl } from './headers.js';

/** Strips NUL/CR/LF/control characters, quotes, path separators and leading dots; truncates. */
export function sanitizeFilename(name: string, max = MAX_FILENAME_LENGTH): string {
  const cleaned = stripControl(name)
    .replace(/\t/g, ' ')
    .replace(/["/\\]/g, '')
    .replace(/^[.\s]+/, '')
    .trim();
  return Array.from(cleaned).slice(0, max).join('').trim();
}

/** RFC 5987 value encoding (UTF-8, percent-encoding everything but attr-char). */
function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `attachment` with a (sanitised) filename: plain ASCII, or an ASCII fallback plus `filename*`. */
export function attachmentFor(rawName: string | undefined): string {
  const name = rawName === undefined ? '' : sanitizeFilename(rawName);
  if (name === '') return 'attachment';
  if (/^[\x20-\x7e]*$/.test(name)) return `attachment; filename="${name}"`;
  const fallback = name.replace(/[^\x20-\x7e]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeRfc5987(name)}`;
}

/** The filename a Content-Disposition names (`filename*` preferred), if any. */
export function filenameFromDisposition(cd: string): string | undefined {
  const star = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(cd);
  if (star?.[2]) {
    try {
      return decodeURIComponent(star[2].trim());
    } catch {
      // fall through to the plain parameter
    }
  }
  const quoted = /filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(cd);
  if (quoted?.[1] !== undefined) return quoted[1].replace(/\\(.)/g, '$1');
  const bare = /filename\s*=\s*([^;\s]+)/i.exec(cd);
  return bare?.[1];
}

/** Last segment of a pipe path, decoded. */
export function pathBasename(path: string): string {
  const seg = path.split('/').filter(Boolean).pop() ?? '';
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

/**
 * What one receiver gets as Content-Disposition:
 * `?filename=v` → attachment named v; `?download` truthy → attachment named after the sender's
 * filename or the path; `?download` falsy → none; otherwise the sender's, with `form-data` → attachment.
 */
export function receiverDisposition(
  senderCd: string | undefined,
  query: URLSearchParams,
  path: string,
  download: boolean | undefined,
): string | undefined {
  const filename = query.get('filename');
  if (filename !== null) return attachmentFor(filename);
  if (download === false) return undefined;
  const senderName = senderCd === undefined ? undefined : filenameFromDisposition(senderCd);
  if (download === true) return attachmentFor(senderName ?? pathBasename(path));
  if (senderCd === undefined) return undefined;
  if (/^\s*form-data\b/i.test(senderCd)) return attachmentFor(senderName);
  return senderCd;
}
