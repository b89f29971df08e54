/** tiflis compatibility: workstations and devices relayed through burrow (docs/tiflis.md). */
export { createTiflisAdapter, toWebSocketBase, type TiflisAdapter, type TiflisAdapterOptions } from './adapter.js';
export { registrationKeyProblem, validateRegistrationKey, hashKey } from './keys.js';
export { MemoryWorkstationStore, type TiflisWorkstationRecord, type WorkstationStore } from './workstation-store.js';
export { JsonFileWorkstationStore } from './json-file-store.js';
export { TIFLIS_ERROR_CODES, type TiflisErrorCode } from './wire.js';
export * from './limits.js';
