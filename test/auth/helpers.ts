import { openStore } from '../../src/store/open.js';
import type { KyselyStore } from '../../src/store/kysely-store.js';
import { PG_URL, dropSchema, uniqueSchema } from '../store/helpers.js';

export interface TestBackend {
  name: string;
  open(): Promise<{ store: KyselyStore; cleanup: () => Promise<void> }>;
}

/** SQLite in memory always; PostgreSQL (own schema, dropped afterwards) when BURROW_TEST_DATABASE_URL is set. */
export const BACKENDS: TestBackend[] = [
  {
    name: 'SQLite',
    open: async () => {
      const store = await openStore('sqlite::memory:');
      return { store, cleanup: () => store.close() };
    },
  },
  ...(PG_URL
    ? [
        {
          name: 'PostgreSQL',
          open: async () => {
            const schema = uniqueSchema();
            const store = await openStore(PG_URL, { schema });
            return {
              store,
              cleanup: async () => {
                await store.close();
                await dropSchema(schema);
              },
            };
          },
        },
      ]
    : []),
];
