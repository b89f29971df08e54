/** tunely compatibility: real `tunely connect` agents served by burrow (docs/tunely.md). */
export { createTunelyAdapter, type TunelyAdapter, type TunelyAdapterOptions } from './adapter.js';
export {
  tunelyVerifierFromTokens,
  staticTokenVerifier,
  staticTokenId,
  type TunelyIdentity,
  type TunelyTokenVerifier,
  type TunelyVerifyInfo,
} from './verify.js';
export {
  CONNECTION_EXISTS_PHRASE,
  FORCE_CLOSE_REASON,
  TUNELY_AUTH_ERROR_CODES,
  type TunelyAuthErrorCode,
} from './wire.js';
export * from './limits.js';
