import type { Socket } from 'node:net';
import { clientKey } from '../../core/client-key.js';
import { normaliseAddress } from '../host.js';

/**
 * Counts the open visitor connections of each client address (IPv6 per /64) and refuses one over
 * the cap, so a single client cannot hold every socket the server has (slowloris and friends).
 * Memory is one map entry per address with a connection open.
 */
export class ConnectionCap {
  readonly #max: number;
  readonly #open = new Map<string, number>();
  /** Addresses refused since they last fell below the cap (one log line each, not one per connection). */
  readonly #refusing = new Set<string>();
  readonly #onRefused: (key: string, first: boolean) => void;

  /** max 0 = no cap. onRefused runs for each refused connection; `first` once per episode. */
  constructor(max: number, onRefused: (key: string, first: boolean) => void) {
    this.#max = max;
    this.#onRefused = onRefused;
  }

  /** Count a new connection; false (and the caller destroys it) when its address is at the cap. */
  admit(socket: Socket): boolean {
    if (this.#max === 0) return true;
    const key = clientKey(normaliseAddress(socket.remoteAddress ?? ''));
    const n = this.#open.get(key) ?? 0;
    if (n >= this.#max) {
      const first = !this.#refusing.has(key);
      this.#refusing.add(key);
      this.#onRefused(key, first);
      return false;
    }
    this.#open.set(key, n + 1);
    socket.once('close', () => {
      const left = (this.#open.get(key) ?? 1) - 1;
      if (left > 0) this.#open.set(key, left);
      else this.#open.delete(key);
      if (left < this.#max) this.#refusing.delete(key);
    });
    return true;
  }
}
