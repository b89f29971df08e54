/**
 * localtunnel / pipenet call shape on burrow's client: swap `import localtunnel from 'localtunnel'`
 * (or `import { pipenet } from 'pipenet'`) for this and keep the code:
 *
 *   const tunnel = await localtunnel({ port: 3000, host: 'https://tunnels.example.com' });
 *   tunnel.on('request', (r) => console.log(r.method, r.path));
 *   console.log(tunnel.url);
 *   tunnel.close();
 */
import { LocaltunnelClient, type LocaltunnelOptions } from './client.js';

export { LocaltunnelClient, type LocaltunnelOptions, type LocaltunnelClientEvents } from './client.js';
export {
  DEFAULT_LOCALTUNNEL_SERVER,
  FIRST_SOCKET_TIMEOUT_MS,
  MIN_HEALTHY_SOCKET_MS,
  REHANDSHAKE_AFTER_FAILURES,
} from './client.js';
export { HandshakeError, type LocaltunnelAssignment } from './handshake.js';
export { RequestFramer, type RequestLine } from './request-framer.js';

type Callback = (err: Error | null, tunnel?: LocaltunnelClient) => void;

/**
 * `localtunnel(port | options, [options], [callback])` → Promise<LocaltunnelClient> (or, with a
 * callback, the client at once and the callback once it is open), like localtunnel and pipenet.
 */
export function localtunnel(
  port: number,
  options?: Omit<LocaltunnelOptions, 'port'>,
  callback?: Callback,
): Promise<LocaltunnelClient>;
export function localtunnel(options: LocaltunnelOptions, callback?: Callback): Promise<LocaltunnelClient>;
export function localtunnel(
  arg1: number | LocaltunnelOptions,
  arg2?: Omit<LocaltunnelOptions, 'port'> | Callback,
  arg3?: Callback,
): Promise<LocaltunnelClient> {
  const options: LocaltunnelOptions =
    typeof arg1 === 'object' ? arg1 : { ...(typeof arg2 === 'object' ? arg2 : {}), port: arg1 };
  const callback = typeof arg1 === 'object' ? (typeof arg2 === 'function' ? arg2 : undefined) : arg3;
  let client: LocaltunnelClient;
  try {
    client = new LocaltunnelClient(options);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    callback?.(e);
    return Promise.reject(e);
  }
  const p = client.open();
  if (callback) {
    p.then(
      (c) => callback(null, c),
      (err: Error) => callback(err),
    );
    p.catch(() => {});
  }
  return p;
}

/**
 * pipenet's export name for the same function.
 * @alias
 */
export const pipenet = localtunnel;

export interface OpenLocaltunnelOptions extends LocaltunnelOptions {
  /** Server URL (same as host; what `burrow http --server URL --protocol localtunnel` passes). */
  server?: string;
}

/**
 * For the CLI (`burrow http 3000 --server URL --protocol localtunnel`): open a tunnel through a
 * localtunnel/pipenet/burrow server. Resolves with the open client: `url`, `close()`, events
 * `request`, `reconnecting`, `reconnected`, `error`, `close`.
 */
export function openLocaltunnel(options: OpenLocaltunnelOptions): Promise<LocaltunnelClient> {
  const { server, ...rest } = options;
  const o: LocaltunnelOptions = { ...rest };
  if (server !== undefined && o.host === undefined) o.host = server;
  return new LocaltunnelClient(o).open();
}
