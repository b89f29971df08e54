/**
 * A Duplex that Node's http.Agent can pool as if it were a net.Socket: the few socket methods the
 * agent and the http client call (setKeepAlive, setNoDelay, ref/unref, setTimeout, address),
 * written once for every stream burrow runs HTTP over (a mux stream, a localtunnel pool lease).
 *
 * ref()/unref() are how the agent marks a socket busy / idle in its free pool: `idle` says which,
 * and `onIdle` hears of each move to idle. setTimeout behaves as net.Socket's: activity (touch())
 * pushes the deadline back, and setTimeout(0, cb) removes cb (Node's http client calls it on every
 * reuse of a pooled socket, so adding there would pile up listeners).
 */
import { Duplex, type DuplexOptions } from 'node:stream';

export interface AgentSocketOptions extends DuplexOptions {
  /** Called each time the socket goes idle in an http.Agent's free pool (unref()). */
  onIdle?: () => void;
}

export class AgentSocket extends Duplex {
  #idle = false;
  #timeoutMs = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #onIdle: (() => void) | undefined;
  bytesRead = 0;
  bytesWritten = 0;

  constructor(options: AgentSocketOptions) {
    const { onIdle, ...duplex } = options;
    super(duplex);
    this.#onIdle = onIdle;
    this.once('close', () => {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = undefined;
    });
  }

  /** True while the socket sits in an http.Agent's free pool. */
  get idle(): boolean {
    return this.#idle;
  }

  setKeepAlive(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  ref(): this {
    this.#idle = false;
    return this;
  }
  unref(): this {
    if (!this.#idle) {
      this.#idle = true;
      this.#onIdle?.();
    }
    return this;
  }
  setTimeout(ms: number, cb?: () => void): this {
    this.#timeoutMs = ms;
    if (cb) {
      if (ms === 0) this.removeListener('timeout', cb);
      else this.once('timeout', cb);
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (ms > 0 && !this.destroyed) {
      this.#timer = setTimeout(() => this.emit('timeout'), ms);
      this.#timer.unref();
    }
    return this;
  }
  address(): Record<string, never> {
    return {};
  }

  /** Bytes moved: push the timeout back, as a net.Socket does on each read and write. */
  touch(): void {
    if (this.#timer && this.#timeoutMs > 0) this.#timer.refresh();
  }
}
