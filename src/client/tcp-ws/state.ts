import type { Logger } from '../../core/logger.js';

/** Same names and values as limrun's `startTcpTunnel`. */
export type TunnelConnectionState = 'connecting' | 'connected' | 'disconnected' | 'reconnecting';
export type TunnelConnectionStateCallback = (state: TunnelConnectionState) => void;

/** The tunnel's connection state and its listeners (a throwing listener is logged, not fatal). */
export class ConnectionStateTracker {
  #state: TunnelConnectionState;
  readonly #callbacks = new Set<TunnelConnectionStateCallback>();
  readonly #logger: Logger;

  constructor(initial: TunnelConnectionState, logger: Logger) {
    this.#state = initial;
    this.#logger = logger;
  }

  get state(): TunnelConnectionState {
    return this.#state;
  }

  set(state: TunnelConnectionState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#logger.debug({ state }, 'tcp tunnel state');
    for (const cb of [...this.#callbacks]) {
      try {
        cb(state);
      } catch (err) {
        this.#logger.error(
          { err: err instanceof Error ? err.message : String(err) },
          'connection state callback threw',
        );
      }
    }
  }

  subscribe(cb: TunnelConnectionStateCallback): () => void {
    this.#callbacks.add(cb);
    return () => {
      this.#callbacks.delete(cb);
    };
  }
}
