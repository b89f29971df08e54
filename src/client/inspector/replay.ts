/**
 * Replay: send a recorded request again to the local service, as it was or edited (method, path,
 * headers, body), straight from this machine (not through the tunnel). The new exchange is recorded
 * by the same tap as tunnel traffic, marked `replayOf`, and resolved once its response is complete.
 */
import type { Duplex } from 'node:stream';
import { BurrowError } from '../../core/errors.js';
import { dialLocal, type LocalTarget } from '../burrow/local-target.js';
import type { RecordedExchange, ExchangeStore, Header } from './exchange.js';
import { REPLAY_TIMEOUT_MS } from './limits.js';
import { HttpTap } from './tap.js';

/** What may be changed before a replay; anything left out is taken from the recorded request. */
export interface ReplayEdits {
  method?: string;
  path?: string;
  /** The whole header list (it replaces the recorded one): [[name, value], …] or {name: value}. */
  headers?: Header[] | Record<string, string>;
  /** The body, as text or (with bodyEncoding 'base64') base64. */
  body?: string;
  bodyEncoding?: 'utf8' | 'base64';
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const TARGET = /^(\/[\x21-\x7e\x80-\uffff]*|\*)$/;
const VALUE = /^[^\0\r\n]*$/;
/** Fields the replay writes itself (framing and the connection's own), never copied. */
const OWN_FIELDS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'expect', 'upgrade']);

function bad(message: string, fix: string): BurrowError {
  return new BurrowError('BURROW_ERR_BAD_REQUEST', message, { fix });
}

/** Check the edits (every problem is a 400 saying how to fix it) and build the request's bytes. */
export function replayRequest(ex: RecordedExchange, edits: ReplayEdits, target: LocalTarget): Buffer {
  if (ex.upgrade !== undefined || ex.method === 'CONNECT')
    throw bad(
      `request ${ex.id} switched protocols (${ex.upgrade ?? 'CONNECT'})`,
      'Only plain HTTP requests can be replayed.',
    );
  const method = edits.method ?? ex.method;
  if (typeof method !== 'string' || !TOKEN.test(method))
    throw bad(`"${String(method)}" is not an HTTP method`, 'Give a method such as GET, POST or PUT (letters only).');
  const path = edits.path ?? ex.path;
  if (typeof path !== 'string' || !TARGET.test(path))
    throw bad(
      `"${String(path)}" is not a request path`,
      'Give a path that starts with "/" and has no spaces, e.g. /api/items?id=1.',
    );
  let headers: Header[];
  if (edits.headers === undefined) headers = ex.requestHeaders;
  else if (Array.isArray(edits.headers)) headers = edits.headers;
  else if (typeof edits.headers === 'object' && edits.headers !== null)
    headers = Object.entries(edits.headers).map(([k, v]) => [k, v]);
  else throw bad('headers must be a list of [name, value] pairs or an object', 'Send "headers": [["Accept", "*/*"]].');
  for (const h of headers) {
    if (
      !Array.isArray(h) ||
      typeof h[0] !== 'string' ||
      typeof h[1] !== 'string' ||
      !TOKEN.test(h[0]) ||
      !VALUE.test(h[1])
    )
      throw bad(
        `bad header ${JSON.stringify(h)}`,
        'Header names are tokens (A-Z, 0-9, -) and values have no line breaks.',
      );
  }
  let body: Buffer;
  if (edits.body !== undefined) {
    if (typeof edits.body !== 'string')
      throw bad('body must be a string', 'Send the body as text, or base64 with "bodyEncoding": "base64".');
    if (edits.bodyEncoding !== undefined && edits.bodyEncoding !== 'utf8' && edits.bodyEncoding !== 'base64')
      throw bad(
        `bodyEncoding "${String(edits.bodyEncoding)}" is not utf8 or base64`,
        'Leave bodyEncoding out for text, or say "base64".',
      );
    body = Buffer.from(edits.body, edits.bodyEncoding === 'base64' ? 'base64' : 'utf8');
  } else {
    if (ex.requestBody.truncated)
      throw bad(
        `request ${ex.id}'s body (${ex.requestBody.size} bytes) was larger than the inspector keeps`,
        'Send the body to replay with the request ("body"), or raise the body limit.',
      );
    body = ex.requestBody.bytes();
  }
  const lines = [`${method} ${path} HTTP/1.1`];
  let host = false;
  for (const [k, v] of headers) {
    const lk = k.toLowerCase();
    if (OWN_FIELDS.has(lk)) continue;
    if (lk === 'host') host = true;
    lines.push(`${k}: ${v}`);
  }
  if (!host) lines.push(`Host: ${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`);
  if (body.length || !['GET', 'HEAD', 'OPTIONS', 'DELETE'].includes(method))
    lines.push(`Content-Length: ${body.length}`);
  lines.push('Connection: close', '', '');
  return Buffer.concat([Buffer.from(lines.join('\r\n'), 'utf8'), body]);
}

/** Send the request to the local service; resolves with the recorded replay once it is over. */
export async function replay(
  store: ExchangeStore,
  ex: RecordedExchange,
  edits: ReplayEdits,
  target: LocalTarget,
): Promise<RecordedExchange> {
  const bytes = replayRequest(ex, edits, target);
  const socket: Duplex = await dialLocal(target);
  let created: RecordedExchange | undefined;
  const tap = new HttpTap(
    {
      begin: (start, origin) => {
        created = store.begin(start, origin);
        return created;
      },
    },
    { ...ex.origin, replayOf: ex.id, remoteAddress: 'replay' },
  );
  return new Promise<RecordedExchange>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined = undefined;
    const settle = (): void => {
      clearTimeout(timer);
      store.off('done', onDone);
      socket.destroy();
      tap.end();
      if (created) resolve(created);
      else reject(new BurrowError('BURROW_ERR_ORIGIN_ERROR', 'the local service closed before the replay was sent'));
    };
    const onDone = (done: RecordedExchange): void => {
      if (done === created) settle();
    };
    store.on('done', onDone);
    timer = setTimeout(settle, REPLAY_TIMEOUT_MS);
    socket.on('data', (c: Buffer) => tap.fromServer(c));
    socket.on('error', () => settle());
    socket.on('close', () => settle());
    tap.fromClient(bytes);
    socket.write(bytes);
  });
}
