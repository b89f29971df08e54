/**
 * The page's live feed: one Server-Sent Events stream per open page. Changes are coalesced (one
 * update per request per LIVE_FLUSH_MS) and written without waiting: a page that reads slower than
 * the tunnel runs misses updates (past MAX_LIVE_QUEUE_BYTES queued) and is told to reload the list
 * once it has caught up (`event: resync`). The tunnel never waits for a page.
 */
import type { ServerResponse } from 'node:http';
import type { RecordedExchange, ExchangeStore } from './exchange.js';
import { LIVE_FLUSH_MS, LIVE_KEEPALIVE_MS, MAX_LIVE_QUEUE_BYTES } from './limits.js';
import { summaryOf } from './views.js';

interface Client {
  res: ServerResponse;
  behind: boolean;
}

export class LiveFeed {
  readonly #store: ExchangeStore;
  readonly #clients = new Set<Client>();
  readonly #dirty = new Set<RecordedExchange>();
  #removed: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #keepalive: NodeJS.Timeout;
  readonly #onChange = (ex: RecordedExchange): void => {
    if (this.#clients.size === 0) return;
    this.#dirty.add(ex);
    this.#schedule();
  };
  readonly #onRemove = (ids: number[]): void => {
    if (this.#clients.size === 0) return;
    for (const id of ids) this.#removed.push(id);
    this.#schedule();
  };
  readonly #onClear = (): void => {
    this.#dirty.clear();
    this.#removed = [];
    this.#send('clear', '{}');
  };

  constructor(store: ExchangeStore) {
    this.#store = store;
    this.#keepalive = setInterval(() => {
      for (const c of this.#clients) if (!c.behind) c.res.write(': keep-alive\n\n');
    }, LIVE_KEEPALIVE_MS);
    this.#keepalive.unref();
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Start a page's stream (the caller checked auth and the client limit). */
  add(res: ServerResponse, headers: Record<string, string>): void {
    res.writeHead(200, {
      ...headers,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    const c: Client = { res, behind: false };
    if (this.#clients.size === 0) this.#listen(true);
    this.#clients.add(c);
    res.on('drain', () => {
      if (!c.behind) return;
      c.behind = false;
      res.write('event: resync\ndata: {}\n\n');
    });
    res.on('close', () => {
      if (this.#clients.delete(c) && this.#clients.size === 0) this.#listen(false);
    });
    res.write('event: hello\ndata: {}\n\n');
  }

  /** The store is listened to only while a page is open: with none, recording costs no update work. */
  #listen(on: boolean): void {
    const s = this.#store;
    if (on) {
      s.on('add', this.#onChange).on('update', this.#onChange).on('remove', this.#onRemove).on('clear', this.#onClear);
    } else {
      s.off('add', this.#onChange)
        .off('update', this.#onChange)
        .off('remove', this.#onRemove)
        .off('clear', this.#onClear);
      this.#dirty.clear();
      this.#removed = [];
    }
  }

  close(): void {
    if (this.#clients.size) this.#listen(false);
    clearInterval(this.#keepalive);
    clearTimeout(this.#timer);
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => this.#flush(), LIVE_FLUSH_MS);
  }

  #flush(): void {
    this.#timer = undefined;
    if (this.#removed.length) {
      this.#send('remove', JSON.stringify(this.#removed));
      this.#removed = [];
    }
    if (this.#dirty.size) {
      const list = [...this.#dirty].map(summaryOf);
      this.#dirty.clear();
      this.#send('requests', JSON.stringify(list));
    }
  }

  #send(event: string, data: string): void {
    const text = `event: ${event}\ndata: ${data}\n\n`;
    for (const c of this.#clients) {
      if (c.behind) continue;
      if (c.res.writableLength > MAX_LIVE_QUEUE_BYTES) {
        c.behind = true; // dropped: a resync follows the drain
        continue;
      }
      c.res.write(text);
    }
  }
}
