/**
 * `burrow/pipe`: the zero-storage, piping-server compatible streaming service.
 * Mount `createPipeHandler()` in any http/http2 server, or use `createPipeAdapter()` inside
 * burrow's server; `pipe.send` / `pipe.receive` are the client side.
 */
export { createPipeHandler, ALLOWED_METHODS } from './handler.js';
export type { PipeHandler, PipeStats, PipeHealth } from './handler.js';
export type { PipeOptions, PipeLimits, PipeClock } from './options.js';
export { PipeOptionsError } from './options.js';
export { createPipeAdapter } from './adapter.js';
export { registerPipeMetrics } from './metrics.js';
export type { PipeAdapter, PipeAdapterOptions } from './adapter.js';
export { listenPipe } from './serve.js';
export type { PipeListener, PipeListenOptions } from './serve.js';
export { PIPE_API_PREFIX } from './target.js';
export { RESERVED_PATHS } from './reserved.js';
export type { PipeRequest, PipeResponse } from './http.js';
export type { PipeSnapshot, PipeState } from './spectators.js';
export * as limits from './limits.js';
export { pipe, send, receive, watch, health, pipeUrl, pipeUrls } from './sdk.js';
export type {
  PipeClientOptions,
  PipeSendOptions,
  PipeReceiveOptions,
  PipeSendStream,
  PipeReceiveStream,
  PipeResponseInfo,
  PipeUrls,
  PipeWatchEvent,
} from './sdk.js';
