/**
 * One authenticated tunely agent connection: its socket, its requests in flight (by id), and
 * liveness (when it was last heard from). Messages for unknown ids (answers that arrive after a
 * 504 or after the visitor left) are ignored.
 */
import type { WebSocket } from 'ws';
import type { BurrowError } from '../../core/errors.js';
import { CLOSE_HANDSHAKE_GRACE_MS } from '../../core/limits.js';
import type { TunelyExchange } from './exchange.js';
import type { AgentMessage } from './wire.js';

export class TunelyAgent {
  readonly exchanges = new Map<string, TunelyExchange>();
  readonly connectedAt = Date.now();
  closed = false;

  constructor(
    readonly ws: WebSocket,
    readonly tokenId: string,
    readonly name: string,
    readonly address: string,
    readonly clientVersion: string,
  ) {}

  get open(): boolean {
    return !this.closed && this.ws.readyState === this.ws.OPEN;
  }

  send(text: string): boolean {
    if (!this.open) return false;
    this.ws.send(text, (err) => {
      if (err) this.ws.terminate();
    });
    return true;
  }

  /** Route an answer to its request. Returns false for ids that are not (or no longer) pending. */
  dispatch(msg: Exclude<AgentMessage, { type: 'auth' | 'ping' | 'pong' | 'invalid' }>): boolean {
    const ex = this.exchanges.get(msg.id);
    if (!ex) return false;
    switch (msg.type) {
      case 'response':
        ex.response(msg);
        break;
      case 'stream_start':
        ex.streamStart(msg);
        break;
      case 'stream_chunk':
        ex.streamChunk(msg);
        break;
      case 'stream_end':
        ex.streamEnd(msg);
        break;
    }
    if (ex.done) this.exchanges.delete(msg.id);
    return true;
  }

  /** Fail one request (the agent sent something unusable for it). */
  fail(id: string, err: BurrowError): boolean {
    const ex = this.exchanges.get(id);
    if (!ex) return false;
    this.exchanges.delete(id);
    ex.fail(err);
    return true;
  }

  /** Fail every request in flight (the agent is gone): 502 before the head, a cut stream after. */
  failAll(err: BurrowError): void {
    const all = [...this.exchanges.values()];
    this.exchanges.clear();
    for (const ex of all) ex.fail(err);
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
    // An agent that does not answer the close handshake is cut after a moment.
    setTimeout(() => this.ws.terminate(), CLOSE_HANDSHAKE_GRACE_MS).unref();
  }
}
