import type { TiflisWorkstationRecord, WorkstationStore } from '../adapters/tiflis/workstation-store.js';
import type { Store, WorkstationRecord } from '../store/types.js';

/**
 * The tiflis adapter's WorkstationStore (get/put/touch) backed by the SQL store, so workstation
 * tunnel ids survive restarts in the same database as everything else.
 */
export class SqlWorkstationStore implements WorkstationStore {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  async get(tunnelId: string): Promise<TiflisWorkstationRecord | undefined> {
    const w = await this.#store.getWorkstation(tunnelId);
    return w && toTiflis(w);
  }

  async put(record: TiflisWorkstationRecord): Promise<void> {
    await this.#store.saveWorkstation({
      id: record.tunnel_id,
      name: record.name,
      authKeyHash: record.auth_key_hash,
      createdAt: record.created_at,
      lastSeenAt: record.last_seen_at,
    });
  }

  async touch(tunnelId: string, at: number = Date.now()): Promise<void> {
    await this.#store.touchWorkstation(tunnelId, at);
  }
}

function toTiflis(w: WorkstationRecord): TiflisWorkstationRecord {
  return {
    tunnel_id: w.id,
    name: w.name,
    auth_key_hash: w.authKeyHash,
    created_at: w.createdAt,
    last_seen_at: w.lastSeenAt,
  };
}
