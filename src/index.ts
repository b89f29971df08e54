/** burrow's client SDK. */
export {
  openTunnel,
  Tunnel,
  type OpenTunnelOptions,
  type TunnelEvents,
  DEFAULT_SERVER_URL,
} from './client/burrow/open-tunnel.js';
export {
  openTunnels,
  TunnelGroup,
  type OpenTunnelsOptions,
  type TunnelEntry,
  type GroupMember,
  type TunnelGroupEvents,
} from './client/burrow/open-tunnels.js';
export { AgentConnection, type AgentOptions, type TunnelSpec } from './client/burrow/agent.js';
export { parseLocalTarget, type LocalTarget } from './client/burrow/local-target.js';
export {
  startInspector,
  Inspector,
  type InspectOptions,
  type InspectorEvents,
  type TapInfo,
} from './client/inspector/inspector.js';
export type { ExchangeSummary, ExchangeDetail, BodyView } from './client/inspector/views.js';
export type { ReplayEdits } from './client/inspector/replay.js';
export { BurrowError, ERROR_CODES, type ErrorCode } from './core/errors.js';
export { VERSION } from './version.js';
export { exposeTcp, TcpTunnel, type ExposeTcpOptions } from './client/burrow/expose-tcp.js';
/** @deprecated since 0.2: use exposeTcp (the same function). */
export { exposeTcp as openTcpTunnel } from './client/burrow/expose-tcp.js';
/** @deprecated since 0.2: use ExposeTcpOptions. */
export type { ExposeTcpOptions as OpenTcpTunnelOptions } from './client/burrow/expose-tcp.js';
export {
  localtunnel,
  pipenet,
  openLocaltunnel,
  LocaltunnelClient,
  type LocaltunnelOptions,
} from './client/localtunnel/index.js';
export { connectTcp, startTcpTunnel, type ConnectTcpOptions } from './client/tcp-ws/tcp-tunnel.js';
export type {
  BurrowTcpTunnel,
  TcpTunnelOptions,
  TunnelConnectionState,
  TunnelMode,
} from './client/tcp-ws/tcp-tunnel.js';
export { pipe } from './app/pipe.js';
