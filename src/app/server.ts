export { createServer, type BurrowServer } from '../server/server.js';
export type { ServerOptions, ServerConfig } from '../server/config.js';
export type { ServerAdapter, ServerContext } from '../server/adapter.js';
export type { ServerHooks, TunnelInfo, RequestInfo } from '../server/hooks.js';
export {
  MemoryTunnelRegistry,
  type RegisteredTunnel,
  type TunnelRegistry,
  type StreamInfo,
  type TunnelStats,
} from '../server/registry.js';
/** @deprecated since 0.2: use RegisteredTunnel (the SDK's `Tunnel` is the client side). */
export type { RegisteredTunnel as Tunnel } from '../server/registry.js';
export { AGENT_PATH } from '../wire/mux/paths.js';
export { BurrowError, ERROR_CODES, type ErrorCode } from '../core/errors.js';
export { composeServer, type ComposeOptions, type ComposedServer } from './compose.js';
/** What `burrow server` does once it listens, for a server embedded in your own process (docs/deployment.md). */
export { keepHeapHeadroom } from '../core/heap-headroom.js';
export type { AgentAdmission, AgentPrincipal, VisitorAccess } from '../server/admission.js';
export { createLocaltunnelAdapter } from '../adapters/localtunnel/index.js';
export {
  createTcpWsAdapter,
  createRegistryTcpResolver,
  createStaticTcpResolver,
  parseTcpTargetSpec,
  type TcpWsAdapterOptions,
  type TcpTarget,
  type TcpTargetResolver,
} from '../adapters/tcp-ws/index.js';
/** @deprecated since 0.2: use createTcpWsAdapter (the same function; limrun compatibility is a property of it). */
export { createTcpWsAdapter as createLimrunAdapter } from '../adapters/tcp-ws/index.js';
/** @deprecated since 0.2: use TcpWsAdapterOptions. */
export type { TcpWsAdapterOptions as LimrunAdapterOptions } from '../adapters/tcp-ws/index.js';
export { createTunelyAdapter } from '../adapters/tunely/index.js';
export { createTiflisAdapter } from '../adapters/tiflis/index.js';
export { createPipeAdapter } from '../adapters/pipe/adapter.js';
export { Accounts } from '../auth/accounts.js';
