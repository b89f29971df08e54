export * from './types.js';
export { openStore, type OpenStoreOptions } from './open.js';
export { KyselyStore } from './kysely-store.js';
export { parseDbUrl, resolveDbUrl, type StoreTarget } from './url.js';
export { MIGRATIONS, LATEST_MIGRATION, migrate } from './migrations.js';
export * from './limits.js';
export { SqlWorkstationStore, type TiflisWorkstationRecord } from './tiflis-workstations.js';
