export { createServer, type BurrowServer } from '../server/server.js';
export type { ServerOptions, ServerConfig } from '../server/config.js';
export type { ServerAdapter, ServerContext } from '../server/adapter.js';
export type { ServerHooks, TunnelInfo, RequestInfo } from '../server/hooks.js';
export {
  MemoryTunnelRegistry,
  type Tunnel,
  type TunnelRegistry,
  type StreamInfo,
  type TunnelStats,
} from '../server/registry.js';
export { AGENT_PATH } from '../wire/mux/paths.js';
export { BurrowError, ERROR_CODES, type ErrorCode } from '../core/errors.js';
export { composeServer, type ComposeOptions, type ComposedServer } from './compose.js';
export type { AgentAdmission, AgentPrincipal, VisitorAccess } from '../server/admission.js';
export { createLocaltunnelAdapter } from '../adapters/localtunnel/index.js';
export {
  createLimrunAdapter,
  createRegistryTcpResolver,
  createStaticTcpResolver,
  parseTcpTargetSpec,
  type LimrunAdapterOptions,
  type TcpTarget,
  type TcpTargetResolver,
} from '../adapters/tcp-ws/index.js';
export { createTunelyAdapter } from '../adapters/tunely/index.js';
export { createTiflisAdapter } from '../adapters/tiflis/index.js';
export { createPipeAdapter } from './pipe.js';
export { Accounts } from '../auth/accounts.js';
