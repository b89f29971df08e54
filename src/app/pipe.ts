/**
 * `burrow/pipe`: the zero-storage, piping-server compatible streaming service.
 * Mount `createPipeHandler()` in any http/http2 server, or use `createPipeAdapter()` inside
 * burrow's server; `pipe.send` / `pipe.receive` are the client side.
 */
export { createPipeHandler, ALLOWED_METHODS } from '../adapters/pipe/handler.js';
export type { PipeHandler, PipeStats, PipeHealth } from '../adapters/pipe/handler.js';
export type { PipeOptions, PipeLimits, PipeClock } from '../adapters/pipe/options.js';
export { PipeOptionsError } from '../adapters/pipe/options.js';
export { createPipeAdapter } from '../adapters/pipe/adapter.js';
export type { PipeAdapter, PipeAdapterOptions } from '../adapters/pipe/adapter.js';
export { listenPipe } from '../adapters/pipe/serve.js';
export type { PipeListener, PipeListenOptions } from '../adapters/pipe/serve.js';
export { PIPE_API_PREFIX } from '../wire/pipe/target.js';
export { RESERVED_PATHS } from '../adapters/pipe/reserved.js';
export { cheatSheet, cheatSheetRecipes } from '../adapters/pipe/cheatsheet.js';
export type { CheatSheetRecipe, CheatSheetOptions } from '../adapters/pipe/cheatsheet.js';
export type { PipeRequest, PipeResponse } from '../adapters/pipe/http.js';
export type { PipeSnapshot, PipeState } from '../adapters/pipe/spectators.js';
export * as limits from '../wire/pipe/limits.js';
export { pipe, send, receive, watch, health, pipeUrl, pipeUrls } from '../client/pipe/sdk.js';
export { forwardTcpListen, forwardTcpTarget } from '../client/pipe/forward-tcp.js';
export type { ForwardTcp, ForwardTcpOptions, ForwardEvent } from '../client/pipe/forward-tcp.js';
export type {
  PipeClientOptions,
  PipeSendOptions,
  PipeReceiveOptions,
  PipeSendStream,
  PipeReceiveStream,
  PipeResponseInfo,
  PipeUrls,
  PipeWatchEvent,
} from '../client/pipe/sdk.js';
