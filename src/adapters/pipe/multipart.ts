/**
 * A multipart sender's body as receivers get it: the first file part (its type; its disposition
 * becomes `attachment; filename=…`), or with no file part the first field. Content-Length is never
 * guessed. The rest of the form is drained. The part must appear within a deadline.
 */
import { Readable } from 'node:stream';
import type busboy from 'busboy';
import { busboyPackage } from '../../core/packages.js';
import type { Req } from './http.js';
import type { PipeClock } from './options.js';
import { attachmentFor } from './disposition.js';
import { MAX_MULTIPART_FIELD_BYTES } from '../../wire/pipe/limits.js';
import { MULTIPART_HEAD_BYTES } from './limits.js';

export interface MultipartSource {
  readonly stream: Readable;
  readonly contentType?: string;
  readonly contentDisposition?: string;
}

export function isMultipart(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*multipart\/form-data\b/i.test(contentType);
}

/** Resolves with the part to forward; rejects with a message fit for an `[ERROR]` line. */
export function firstMultipartPart(req: Req, deadlineMs: number, clock: PipeClock): Promise<MultipartSource> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let firstField: { body: Buffer; contentType: string } | undefined;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      fn();
    };
    const timer = clock.setTimeout(() => {
      settle(() => reject(new Error(`No file part arrived within ${Math.round(deadlineMs / 1000)} s.`)));
    }, deadlineMs);
    let bb: busboy.Busboy;
    try {
      bb = busboyPackage()({
        headers: req.headers,
        defParamCharset: 'utf8',
        // a field without a charset is read as latin1: its bytes come back unchanged
        defCharset: 'latin1',
        limits: { fieldSize: MAX_MULTIPART_FIELD_BYTES },
      });
    } catch (err) {
      settle(() => reject(new Error(`Invalid multipart body: ${(err as Error).message}.`)));
      return;
    }
    bb.on('file', (_name, stream, info) => {
      if (settled) {
        stream.resume();
        return;
      }
      settle(() =>
        resolve({
          stream,
          contentType: info.mimeType,
          contentDisposition: attachmentFor(info.filename),
        }),
      );
    });
    bb.on('field', (_name, value, info) => {
      if (firstField !== undefined) return;
      // a field sent with its own Content-Type (form-data, request) keeps it, parameters included
      // (busboy keeps only the type); text/html becomes text/plain like every forwarded type
      const declared = firstFieldType(Buffer.concat(head), req.headers['content-type']);
      const charset = declared && /;\s*charset=/i.test(declared);
      firstField = {
        body: Buffer.from(value, charset ? 'utf8' : 'latin1'),
        contentType: declared ?? info.mimeType,
      };
    });
    bb.on('close', () => {
      if (firstField !== undefined) {
        const { body, contentType } = firstField;
        settle(() => resolve({ stream: Readable.from([body]), contentType }));
      } else {
        settle(() => reject(new Error('The multipart body has no part.')));
      }
    });
    bb.on('error', (err) => {
      settle(() => reject(new Error(`Invalid multipart body: ${(err as Error).message}.`)));
    });
    // the first bytes, kept to read the raw headers of the first field part
    const head: Buffer[] = [];
    let headBytes = 0;
    const keep = (c: Buffer): void => {
      if (headBytes >= MULTIPART_HEAD_BYTES) return void req.off('data', keep);
      head.push(c.subarray(0, MULTIPART_HEAD_BYTES - headBytes));
      headBytes += Math.min(c.length, MULTIPART_HEAD_BYTES - headBytes);
    };
    req.on('data', keep);
    req.pipe(bb);
  });
}

/**
 * The raw Content-Type of the first part without a filename in `head` (the body's first bytes),
 * or undefined when it has none or lies beyond `head`.
 */
function firstFieldType(head: Buffer, contentType: string | string[] | undefined): string | undefined {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(String(contentType ?? ''));
  const b = boundary?.[1] ?? boundary?.[2];
  if (!b) return undefined;
  const text = head.toString('latin1');
  for (const part of text.split(`--${b}`).slice(1)) {
    const end = part.indexOf('\r\n\r\n');
    if (end === -1) return undefined;
    const headers = part.slice(0, end);
    if (/^content-disposition:[^\r\n]*\bfilename\*?=/im.test(headers)) continue;
    return /^content-type:[ \t]*([^\r\n]*?)[ \t]*$/im.exec(headers)?.[1];
  }
  return undefined;
}
