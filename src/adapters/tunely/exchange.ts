/**
 * One visitor request in flight on a tunely agent: waits for `response` or `stream_start` (with a
 * timeout → 504), then writes the answer to the visitor; stream chunks are written as they come.
 * tunely has no per-stream flow control, so a visitor that falls too far behind is cut rather
 * than buffered without bound (or allowed to stall every other visitor of the agent).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BurrowError } from '../../core/errors.js';
import { asBurrowError, errorBody, sendError } from '../../server/http/pages.js';
import { responseHeadersForVisitor } from './headers.js';
import type { ResponseMessage, StreamChunkMessage, StreamEndMessage, StreamStartMessage } from './wire.js';

export interface TunelyExchangeOptions {
  id: string;
  req: IncomingMessage;
  res: ServerResponse;
  timeoutMs: number;
  maxVisitorBufferedBytes: number;
  /** Called once when the exchange ends, with the status the visitor got (0 when it left first). */
  onDone: (result: { status: number; bytesOut: number; code?: string }) => void;
}

type State = 'waiting' | 'streaming' | 'done';

export class TunelyExchange {
  readonly id: string;
  #state: State = 'waiting';
  #status = 0;
  #bytesOut = 0;
  readonly #o: TunelyExchangeOptions;
  readonly #timer: NodeJS.Timeout;

  constructor(o: TunelyExchangeOptions) {
    this.id = o.id;
    this.#o = o;
    this.#timer = setTimeout(() => {
      this.fail(new BurrowError('BURROW_ERR_TIMEOUT', `the tunely agent did not answer within ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    this.#timer.unref();
    o.res.once('close', () => {
      // The visitor left (or the answer was fully written): nothing more to do either way.
      if (this.#state !== 'done') this.#finish(this.#status);
    });
  }

  get done(): boolean {
    return this.#state === 'done';
  }

  get streaming(): boolean {
    return this.#state === 'streaming';
  }

  /** A whole `response`. */
  response(msg: ResponseMessage): void {
    if (this.#state !== 'waiting') return;
    clearTimeout(this.#timer);
    const { req } = this.#o;
    if (msg.body === null && msg.error !== undefined) {
      // The agent could not reach its target (or timed out): keep its status, explain it clearly.
      const e = new BurrowError(
        msg.status === 504 ? 'BURROW_ERR_TIMEOUT' : 'BURROW_ERR_ORIGIN_ERROR',
        `the tunely agent reported: ${msg.error.slice(0, 500)}`,
      );
      const { type, body } = errorBody(e, (req.headers.accept ?? '').includes('text/html'));
      this.#writeHead(msg.status, [
        ['Content-Type', type],
        ['Content-Length', String(Buffer.byteLength(body))],
        ['Cache-Control', 'no-store'],
        ['X-Burrow-Error', e.code],
      ]);
      this.#end(req.method === 'HEAD' ? undefined : body, e.code);
      return;
    }
    const body = msg.body === null ? undefined : Buffer.from(msg.body, 'utf8');
    const headers = responseHeadersForVisitor(msg.headers);
    const bodyless = req.method === 'HEAD' || msg.status === 204 || msg.status === 304;
    if (!bodyless) headers.push(['Content-Length', String(body?.length ?? 0)]);
    this.#writeHead(msg.status, headers);
    this.#end(bodyless ? undefined : body);
  }

  /** `stream_start`: send the head at once so the visitor sees the stream open. */
  streamStart(msg: StreamStartMessage): void {
    if (this.#state !== 'waiting') return;
    clearTimeout(this.#timer);
    if (!this.#writeHead(msg.status, responseHeadersForVisitor(msg.headers))) return;
    this.#state = 'streaming';
    this.#o.res.flushHeaders();
  }

  /** `stream_chunk`: write at once; cut a visitor that is too far behind. */
  streamChunk(msg: StreamChunkMessage): void {
    if (this.#state !== 'streaming' || msg.data === '') return;
    const { res } = this.#o;
    const buf = Buffer.from(msg.data, 'utf8');
    this.#bytesOut += buf.length;
    const ok = res.write(buf);
    if (!ok && res.writableLength > this.#o.maxVisitorBufferedBytes) {
      this.#finish(this.#status, 'BURROW_ERR_STREAM_LIMIT');
      res.destroy();
    }
  }

  /** `stream_end`: finish the response (cut it when the agent reports an error, so the visitor sees a truncated stream). */
  streamEnd(msg: StreamEndMessage): void {
    if (this.#state !== 'streaming') return;
    if (msg.error !== undefined) {
      this.#finish(this.#status, 'BURROW_ERR_ORIGIN_ERROR');
      this.#o.res.destroy();
      return;
    }
    this.#end(undefined);
  }

  /** The agent went away, timed out, or the request could not be sent. */
  fail(err: unknown): void {
    if (this.#state === 'done') return;
    clearTimeout(this.#timer);
    const e = asBurrowError(err);
    const { req, res } = this.#o;
    if (res.headersSent) {
      this.#finish(this.#status, e.code);
      res.destroy();
      return;
    }
    this.#finish(e.status, e.code);
    sendError(req, res, e);
  }

  #writeHead(status: number, headers: [string, string][]): boolean {
    const { res } = this.#o;
    try {
      res.writeHead(status, headers.flat());
      this.#status = status;
      return true;
    } catch (err) {
      this.fail(
        new BurrowError(
          'BURROW_ERR_ORIGIN_ERROR',
          `the tunely agent sent an unusable response head: ${(err as Error).message}`,
        ),
      );
      return false;
    }
  }

  #end(body: Buffer | string | undefined, code?: string): void {
    if (body !== undefined) this.#bytesOut += Buffer.byteLength(body);
    this.#finish(this.#status, code);
    this.#o.res.end(body);
  }

  #finish(status: number, code?: string): void {
    if (this.#state === 'done') return;
    this.#state = 'done';
    clearTimeout(this.#timer);
    this.#o.onDone({ status, bytesOut: this.#bytesOut, ...(code !== undefined ? { code } : {}) });
  }
}
