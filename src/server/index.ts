export { createServer, type BurrowServer } from './server.js';
export type { ServerOptions, ServerConfig } from './config.js';
export type { ServerAdapter, ServerContext } from './adapter.js';
export type { ServerHooks, TunnelInfo, RequestInfo } from './hooks.js';
export { MemoryTunnelRegistry, type Tunnel, type TunnelRegistry, type StreamInfo, type TunnelStats } from './registry.js';
export { AGENT_PATH } from './agent-endpoint.js';
export { BurrowError, ERROR_CODES, type ErrorCode } from '../core/errors.js';
