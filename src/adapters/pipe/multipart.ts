/**
 * A multipart sender's body as receivers get it: the first file part (its type; its disposition
 * becomes `attachment; filename=…`), or with no file part the first field. Content-Length is never
 * guessed. The rest of the form is drained. The part must appear within a deadline.
 */
import { Readable } from 'node:stream';
import busboy from 'busboy';
import type { Req } from './http.js';
import type { PipeClock } from './options.js';
import { attachmentFor } from './disposition.js';
import { MAX_MULTIPART_FIELD_BYTES } from '../../wire/pipe/limits.js';

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
    let firstField: string | undefined;
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
      bb = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
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
    bb.on('field', (_name, value) => {
      if (firstField === undefined) firstField = value;
    });
    bb.on('close', () => {
      if (firstField !== undefined) {
        const body = Buffer.from(firstField);
        settle(() => resolve({ stream: Readable.from([body]) }));
      } else {
        settle(() => reject(new Error('The multipart body has no part.')));
      }
    });
    bb.on('error', (err) => {
      settle(() => reject(new Error(`Invalid multipart body: ${(err as Error).message}.`)));
    });
    req.pipe(bb);
  });
}
