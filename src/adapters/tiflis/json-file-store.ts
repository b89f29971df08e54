/**
 * A WorkstationStore in one JSON file: `{"version":1,"workstations":[record…]}`. Read once at
 * open; every change rewrites the file atomically (temporary file + rename), one write at a time.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BurrowError } from '../../core/errors.js';
import { isTiflisWorkstationRecord, type TiflisWorkstationRecord, type WorkstationStore } from './workstation-store.js';

const FILE_VERSION = 1;

export class JsonFileWorkstationStore implements WorkstationStore {
  readonly #records = new Map<string, TiflisWorkstationRecord>();
  #writing: Promise<void> = Promise.resolve();
  #tmpCounter = 0;

  /** Opens (or starts) the file at `path`. Throws BURROW_ERR_STORE when it exists but is not ours. */
  constructor(readonly path: string) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new BurrowError('BURROW_ERR_STORE', `cannot read ${path}`, { cause: err });
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw new BurrowError('BURROW_ERR_STORE', `${path} is not valid JSON`, { cause: err });
    }
    const list = (data as { workstations?: unknown } | null)?.workstations;
    if (!Array.isArray(list)) throw new BurrowError('BURROW_ERR_STORE', `${path} has no "workstations" list`);
    for (const r of list) if (isTiflisWorkstationRecord(r)) this.#records.set(r.tunnel_id, r);
  }

  async get(tunnelId: string): Promise<TiflisWorkstationRecord | undefined> {
    return this.#records.get(tunnelId);
  }

  async put(record: TiflisWorkstationRecord): Promise<void> {
    this.#records.set(record.tunnel_id, { ...record });
    return this.#save();
  }

  async touch(tunnelId: string, at: number = Date.now()): Promise<void> {
    const r = this.#records.get(tunnelId);
    if (!r) return;
    this.#records.set(tunnelId, { ...r, last_seen_at: at });
    return this.#save();
  }

  /** Resolves when every change made so far is on disk. */
  flush(): Promise<void> {
    return this.#writing;
  }

  #save(): Promise<void> {
    const next = this.#writing.catch(() => undefined).then(() => this.#writeNow());
    this.#writing = next;
    return next;
  }

  async #writeNow(): Promise<void> {
    const body = JSON.stringify({ version: FILE_VERSION, workstations: [...this.#records.values()] }, null, 2) + '\n';
    const tmp = `${this.path}.${process.pid}.${++this.#tmpCounter}.tmp`;
    try {
      await mkdir(dirname(this.path), { recursive: true });
      await writeFile(tmp, body, { mode: 0o600 });
      await rename(tmp, this.path);
    } catch (err) {
      throw new BurrowError('BURROW_ERR_STORE', `cannot write ${this.path}`, { cause: err });
    }
  }
}
