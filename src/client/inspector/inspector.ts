/**
 * The local request inspector: startInspector() serves a page and a JSON API (server.ts) over an
 * in-memory store of the last requests (exchange.ts), which taps on tunnel streams fill in
 * (tap.ts). openTunnel({ inspect }) starts one per tunnel; `burrow start` shares one between its
 * tunnels by passing the same Inspector. Nothing is written to disk.
 */
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { BurrowError } from '../../core/errors.js';
import { describeTarget, type LocalTarget } from '../burrow/local-target.js';
import { loadInspectorAssets } from './assets.js';
import { ExchangeStore, type RecordedExchange } from './exchange.js';
import {
  DEFAULT_INSPECT_BODY_BYTES,
  DEFAULT_INSPECT_HOST,
  DEFAULT_INSPECT_KEEP,
  DEFAULT_INSPECT_PORT,
  INSPECT_PORT_TRIES,
  MAX_INSPECT_KEEP,
  MAX_INSPECT_TOTAL_BYTES,
} from './limits.js';
import { LiveFeed } from './live.js';
import { replay, type ReplayEdits } from './replay.js';
import { handleInspector } from './server.js';
import { HttpTap } from './tap.js';
import { summaryOf, type ExchangeSummary } from './views.js';

export interface InspectOptions {
  /** Address to listen on (default 127.0.0.1). Anything but loopback needs `auth`. */
  host?: string;
  /**
   * Port (default 4040, or the next free one of the following INSPECT_PORT_TRIES, then any free
   * port). A port given here must be free; 0 picks any.
   */
  port?: number;
  /** The last N requests kept (default DEFAULT_INSPECT_KEEP = 500). */
  keep?: number;
  /** Bytes kept of each body (default DEFAULT_INSPECT_BODY_BYTES = 1 MiB). */
  bodyLimit?: number;
  /** Bytes all kept requests may hold together (default MAX_INSPECT_TOTAL_BYTES = 256 MiB). */
  maxBytes?: number;
  /** `user:pass` for HTTP Basic auth on the page and API (required off loopback). */
  auth?: string;
}

/** Where a tapped stream comes from, for the record. */
export interface TapInfo {
  /** The tunnel's name. */
  tunnel?: string;
  /** The visitor's address, when the server said it. */
  remoteAddress?: string;
}

export interface InspectorEvents {
  /** A request came through a tapped stream (no response yet). */
  request: [ExchangeSummary];
  /** Its response ended: method, path, status, durationMs … (for a status panel). */
  exchange: [ExchangeSummary];
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|::ffff:127\.\d+\.\d+\.\d+)$/i;

export class Inspector extends EventEmitter<InspectorEvents> {
  readonly store: ExchangeStore;
  readonly #server: http.Server;
  readonly #live: LiveFeed;
  readonly #targets = new Map<string, LocalTarget>();
  #closing: Promise<void> | undefined;

  /** @internal use startInspector() */
  constructor(store: ExchangeStore, server: http.Server, live: LiveFeed) {
    super();
    this.store = store;
    this.#server = server;
    this.#live = live;
    store.on('add', (ex) => {
      if (this.listenerCount('request') > 0) this.emit('request', summaryOf(ex));
    });
    store.on('done', (ex) => {
      if (this.listenerCount('exchange') > 0) this.emit('exchange', summaryOf(ex));
    });
  }

  /** The address it listens on. */
  get address(): { host: string; port: number } {
    const a = this.#server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** The page's URL, e.g. http://127.0.0.1:4040. */
  get url(): string {
    const { host, port } = this.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /**
   * Record what passes between a tunnel stream (the visitor's side) and its connection to the local
   * service. It only listens: call it before piping the two together, and the bytes flow as before.
   */
  tap(visitor: Duplex, local: Duplex, target: LocalTarget, info: TapInfo = {}): void {
    const described = describeTarget(target);
    if (!this.#targets.has(described)) this.#targets.set(described, target);
    const tap = new HttpTap(this.store, {
      target: described,
      ...(info.tunnel ? { tunnel: info.tunnel } : {}),
      ...(info.remoteAddress ? { remoteAddress: info.remoteAddress } : {}),
    });
    visitor.on('data', (c: Buffer) => tap.fromClient(c));
    local.on('data', (c: Buffer) => tap.fromServer(c));
    local.once('close', () => tap.end());
  }

  /** Send a kept request again to its local service (edited or not); resolves with the new record. */
  replay(id: number, edits: ReplayEdits = {}): Promise<RecordedExchange> {
    const ex = this.store.get(id);
    if (!ex) return Promise.reject(new BurrowError('BURROW_ERR_BAD_REQUEST', `no request ${id} is kept`));
    return this.#replay(ex, edits);
  }

  #replay(ex: RecordedExchange, edits: ReplayEdits): Promise<RecordedExchange> {
    const target = this.#targets.get(ex.origin.target);
    if (!target)
      return Promise.reject(new BurrowError('BURROW_ERR_BAD_REQUEST', `no local service ${ex.origin.target}`));
    return replay(this.store, ex, edits, target);
  }

  /** Stop serving (open pages are disconnected) and forget every request. */
  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      this.#live.close();
      this.#server.closeAllConnections();
      await new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.store.clear();
    })());
  }

  /** @internal the request handler's view of this inspector. */
  static serve(o: InspectOptions): {
    server: http.Server;
    store: ExchangeStore;
    live: LiveFeed;
    bind: (i: Inspector) => void;
  } {
    const store = new ExchangeStore({
      keep: o.keep ?? DEFAULT_INSPECT_KEEP,
      bodyLimit: o.bodyLimit ?? DEFAULT_INSPECT_BODY_BYTES,
      maxBytes: o.maxBytes ?? MAX_INSPECT_TOTAL_BYTES,
    });
    const live = new LiveFeed(store);
    const assets = loadInspectorAssets();
    let inspector: Inspector | undefined;
    let hosts: Set<string> | undefined;
    const server = http.createServer((req, res) => {
      void handleInspector(
        {
          store,
          live,
          assets,
          auth: o.auth,
          hosts: () => hosts,
          replay: (ex, edits) => inspector!.#replay(ex, edits),
        },
        req,
        res,
      );
    });
    server.on('listening', () => {
      const { port } = server.address() as AddressInfo;
      const host = o.host ?? DEFAULT_INSPECT_HOST;
      // on loopback without a password, only its own names (a rebinding page's Host is refused)
      hosts =
        o.auth !== undefined
          ? undefined
          : new Set(
              [host.includes(':') ? `[${host}]` : host, '127.0.0.1', 'localhost', '[::1]'].map(
                (h) => `${h.toLowerCase()}:${port}`,
              ),
            );
    });
    return { server, store, live, bind: (i) => (inspector = i) };
  }
}

/** Check the options (startInspector does): a problem is an INVALID_CONFIG error saying how to fix it. */
export function checkInspectOptions(o: InspectOptions): void {
  const host = o.host ?? DEFAULT_INSPECT_HOST;
  if (!LOOPBACK.test(host) && o.auth === undefined)
    throw new BurrowError(
      'BURROW_ERR_INVALID_CONFIG',
      `the inspector would listen on ${host}, beyond this machine, without a password`,
      {
        fix: 'Add --inspect-auth user:pass (inspect.auth), or keep the inspector on 127.0.0.1.',
      },
    );
  if (o.auth !== undefined && !/^[^:]+:.+$/.test(o.auth))
    throw new BurrowError('BURROW_ERR_INVALID_CONFIG', 'the inspector password must be given as user:pass', {
      fix: 'Write --inspect-auth me:secret.',
    });
  if (o.keep !== undefined && (!Number.isInteger(o.keep) || o.keep < 1 || o.keep > MAX_INSPECT_KEEP))
    throw new BurrowError('BURROW_ERR_INVALID_CONFIG', `inspect keep ${o.keep} is not 1–${MAX_INSPECT_KEEP}`, {
      fix: `Keep between 1 and ${MAX_INSPECT_KEEP} requests (default ${DEFAULT_INSPECT_KEEP}).`,
    });
  if (o.bodyLimit !== undefined && (!Number.isInteger(o.bodyLimit) || o.bodyLimit < 0))
    throw new BurrowError('BURROW_ERR_INVALID_CONFIG', `inspect bodyLimit ${o.bodyLimit} is not a byte count`, {
      fix: `Give a whole number of bytes (default ${DEFAULT_INSPECT_BODY_BYTES}).`,
    });
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535))
    throw new BurrowError('BURROW_ERR_INVALID_CONFIG', `inspect port ${o.port} is not 0–65535`, {
      fix: 'Give --inspect ADDR:PORT with a port 1–65535 (0: any free port).',
    });
}

async function listen(server: http.Server, host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  server.listen(port, host);
  try {
    await once(server, 'listening');
    return undefined;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
}

/** Start an inspector; resolves once it listens. */
export async function startInspector(options: InspectOptions = {}): Promise<Inspector> {
  checkInspectOptions(options);
  const host = options.host ?? DEFAULT_INSPECT_HOST;
  const { server, store, live, bind } = Inspector.serve(options);
  const ports =
    options.port !== undefined
      ? [options.port]
      : [...Array.from({ length: INSPECT_PORT_TRIES }, (_, k) => DEFAULT_INSPECT_PORT + k), 0];
  let err: NodeJS.ErrnoException | undefined;
  for (const port of ports) {
    err = await listen(server, host, port);
    if (!err) break;
    if (err.code !== 'EADDRINUSE') break;
  }
  if (err) {
    live.close();
    throw new BurrowError(
      'BURROW_ERR_INVALID_CONFIG',
      `the inspector cannot listen on ${host}:${ports[0]} (${err.code ?? err.message})`,
      {
        fix:
          err.code === 'EADDRINUSE'
            ? 'Another program uses that port: give another with --inspect ADDR:PORT, or --no-inspect.'
            : 'Give an address of this machine with --inspect ADDR:PORT, or --no-inspect.',
      },
    );
  }
  const inspector = new Inspector(store, server, live);
  bind(inspector);
  return inspector;
}
