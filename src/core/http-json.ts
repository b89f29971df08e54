/**
 * JSON over HTTP, written once: a JSON reply (`sendJson`) and a bounded JSON request body
 * (`readJsonBody`). Used by the server's own API, the admin API, the localtunnel handshake, the
 * tiflis Watch API, the tcp-ws edge and the pipe's /health. Each caller keeps its own error shape:
 * `readJsonBody` throws a `JsonBodyError` saying what was wrong, and the caller answers in its wire's
 * words.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';

/** What sendJson needs of a response: http's ServerResponse or http2's compatibility response. */
export interface JsonResponse {
  readonly headersSent: boolean;
  writeHead(status: number, headers: OutgoingHttpHeaders): unknown;
  end(body?: string): unknown;
}

export interface SendJsonOptions {
  /** Extra headers; one spelled like a default (`Content-Type`, `Cache-Control`) replaces it. */
  headers?: OutgoingHttpHeaders | undefined;
  /** A HEAD request: the same headers (Content-Length included), no body. */
  head?: boolean | undefined;
  /** End the body with "\n" (burrow's own answers do, for curl; default true). */
  newline?: boolean | undefined;
}

/**
 * Answer with `value` as JSON: `Content-Type: application/json; charset=utf-8`, `Content-Length`,
 * `Cache-Control: no-store`. When the head is already out (an error after streaming began), the
 * response is only ended.
 */
export function sendJson(res: JsonResponse, status: number, value: unknown, options: SendJsonOptions = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify(value) + (options.newline === false ? '' : '\n');
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...options.headers,
  });
  res.end(options.head ? undefined : body);
}

/** Why a JSON body was refused: larger than allowed, not JSON, or sent without a JSON Content-Type. */
export type JsonBodyProblem = 'too-large' | 'not-json' | 'not-json-type';

export class JsonBodyError extends Error {
  constructor(
    readonly problem: JsonBodyProblem,
    message: string,
  ) {
    super(message);
    this.name = 'JsonBodyError';
  }
}

export interface ReadJsonBodyOptions {
  /** Refuse a non-empty body whose Content-Type is not application/json (problem 'not-json-type'). */
  requireJsonType?: boolean | undefined;
}

/**
 * Read and parse a JSON request body of at most `maxBytes`: a declared or actual size beyond it is
 * refused before more is buffered (the rest is drained, so the connection can answer), an empty
 * body is `{}`. Throws JsonBodyError.
 */
export async function readJsonBody(
  req: IncomingMessage,
  maxBytes: number,
  options: ReadJsonBodyOptions = {},
): Promise<unknown> {
  const tooLarge = (): JsonBodyError => {
    req.resume();
    return new JsonBodyError('too-large', `the body is larger than ${maxBytes} bytes`);
  };
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  if (size === 0) return {};
  if (options.requireJsonType && !/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    throw new JsonBodyError('not-json-type', 'send Content-Type: application/json');
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new JsonBodyError('not-json', 'the body is not valid JSON');
  }
}
