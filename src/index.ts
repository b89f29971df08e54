/** burrow's client SDK. */
export {
  openTunnel,
  Tunnel,
  type OpenTunnelOptions,
  type TunnelEvents,
  DEFAULT_SERVER_URL,
} from './client/open-tunnel.js';
export { AgentConnection, type AgentOptions, type TunnelSpec } from './client/agent.js';
export { parseLocalTarget, type LocalTarget } from './client/local-target.js';
export { BurrowError, ERROR_CODES, type ErrorCode } from './core/errors.js';
export { VERSION } from './version.js';
export { openTcpTunnel, TcpTunnel, type OpenTcpTunnelOptions } from './client/open-tcp.js';
export {
  localtunnel,
  pipenet,
  openLocaltunnel,
  LocaltunnelClient,
  type LocaltunnelOptions,
} from './client/localtunnel/index.js';
export { startTcpTunnel } from './client/tcp-tunnel.js';
export type { BurrowTcpTunnel, TcpTunnelOptions, TunnelConnectionState, TunnelMode } from './client/tcp-tunnel.js';
export { pipe } from './pipe/index.js';
