/**
 * The Watch API's body errors in tiflis's words (`{ error, message }` with 413 / 400), over the
 * one bounded JSON body reader of core/http-json.ts.
 */
import type { IncomingMessage } from 'node:http';
import { JsonBodyError, readJsonBody as readCoreJsonBody } from '../../core/http-json.js';

export class BodyError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Reads and parses a JSON body of at most `maxBytes` (413 beyond, 400 on bad JSON). */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  try {
    return await readCoreJsonBody(req, maxBytes);
  } catch (err) {
    if (!(err instanceof JsonBodyError)) throw err;
    if (err.problem === 'too-large') {
      throw new BodyError(413, 'payload_too_large', `Request body is larger than ${maxBytes} bytes`);
    }
    throw new BodyError(400, 'invalid_json', 'Request body is not valid JSON');
  }
}
