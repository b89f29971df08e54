export { createTcpWsAdapter, type TcpWsAdapter, type TcpWsAdapterOptions, type TcpWsAdapterStats } from './adapter.js';
export { createRegistryTcpResolver, type RegistryTcpResolverOptions } from './registry-resolver.js';
export {
  createStaticTcpResolver,
  dialTcp,
  isValidTargetName,
  parseTcpTargetSpec,
  tokenAuthorizer,
  type StaticTcpTargetSpec,
  type TcpOpenInfo,
  type TcpTarget,
  type TcpTargetResolver,
} from './targets.js';
export { tokensEqual } from './auth.js';
export * as tcpLimits from '../../wire/tcp-ws/limits.js';
