/**
 * Where tiflis tunnel ids live between server restarts. Small on purpose: the lead backs it with
 * the SQL store; the in-memory and JSON-file versions here serve tests and single-process servers.
 */

/** One workstation's stable identity. Timestamps are milliseconds since the epoch. */
export interface TiflisWorkstationRecord {
  readonly tunnel_id: string;
  readonly name: string;
  /** SHA-256 (hex) of the workstation's auth_key; the key itself is never stored. */
  readonly auth_key_hash: string;
  readonly created_at: number;
  readonly last_seen_at: number;
}

export interface WorkstationStore {
  get(tunnelId: string): Promise<TiflisWorkstationRecord | undefined>;
  /** Insert or replace the record with this tunnel_id. */
  put(record: TiflisWorkstationRecord): Promise<void>;
  /** Set last_seen_at (default now); no-op for unknown ids. */
  touch(tunnelId: string, at?: number): Promise<void>;
}

/** Keeps records in a Map: ids survive a new adapter over the same store object, not a new process. */
export class MemoryWorkstationStore implements WorkstationStore {
  readonly #records = new Map<string, TiflisWorkstationRecord>();

  async get(tunnelId: string): Promise<TiflisWorkstationRecord | undefined> {
    return this.#records.get(tunnelId);
  }

  async put(record: TiflisWorkstationRecord): Promise<void> {
    this.#records.set(record.tunnel_id, { ...record });
  }

  async touch(tunnelId: string, at: number = Date.now()): Promise<void> {
    const r = this.#records.get(tunnelId);
    if (r) this.#records.set(tunnelId, { ...r, last_seen_at: at });
  }
}

export function isTiflisWorkstationRecord(v: unknown): v is TiflisWorkstationRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.tunnel_id === 'string' &&
    typeof r.name === 'string' &&
    typeof r.auth_key_hash === 'string' &&
    typeof r.created_at === 'number' &&
    typeof r.last_seen_at === 'number'
  );
}
