/**
 * The sender's response: streamed `text/plain` `[INFO] …` lines. HTTP/1.0 senders get the same
 * lines in one body with a Content-Length once the transfer ends (they cannot read chunked).
 */
import { TEXT_HEADERS, endWithLength, type Res } from './http.js';

export class SenderMessages {
  readonly #buffered: string[] = [];
  #opened = false;
  #finished = false;

  readonly #res: Res;
  readonly #http10: boolean;
  readonly #headers: Record<string, string>;
  /** `closeConnection`: the head says `Connection: close` (the body is read past Node's parser). */
  constructor(res: Res, http10: boolean, closeConnection = false) {
    this.#res = res;
    this.#http10 = http10;
    this.#headers = closeConnection ? { ...TEXT_HEADERS, Connection: 'close' } : { ...TEXT_HEADERS };
  }

  get ended(): boolean {
    return this.#finished || this.#res.writableEnded;
  }

  /** Sends the 200 head (buffered for HTTP/1.0). */
  open(): void {
    if (this.#opened) return;
    this.#opened = true;
    if (!this.#http10) this.#res.writeHead(200, this.#headers);
  }

  info(line: string): void {
    this.#write(`[INFO] ${line}\n`);
  }

  /** Ends the response with a last line (`[INFO] …` or `[ERROR] …`). */
  end(line: string, kind: 'INFO' | 'ERROR' = 'INFO'): void {
    if (this.ended) return;
    this.#finished = true;
    const text = `[${kind}] ${line}\n`;
    if (this.#http10) {
      this.#buffered.push(text);
      endWithLength(this.#res, 200, { ...TEXT_HEADERS }, this.#buffered.join(''));
    } else {
      this.open();
      this.#res.end(text);
    }
  }

  /**
   * Runs `cb` once the last line went out (or the response closed): cutting the sender's upload
   * before that would lose the line that says why.
   */
  afterEnd(cb: () => void): void {
    if (this.#res.writableFinished || this.#res.destroyed) return cb();
    let called = false;
    const once = (): void => {
      if (called) return;
      called = true;
      cb();
    };
    this.#res.once('finish', once);
    this.#res.once('close', once);
  }

  /** Fails with a status when no head went out yet (HTTP/1.0), else with an `[ERROR]` line. */
  fail(status: number, message: string): void {
    if (this.ended) return;
    if (this.#http10 || !this.#opened) {
      this.#finished = true;
      endWithLength(this.#res, status, this.#headers, `${this.#buffered.join('')}[ERROR] ${message}\n`);
      return;
    }
    this.end(message, 'ERROR');
  }

  #write(text: string): void {
    if (this.ended) return;
    if (this.#http10) this.#buffered.push(text);
    else {
      this.open();
      this.#res.write(text);
    }
  }
}
