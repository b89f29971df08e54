import { describe, it } from 'node:test';
import { openStore } from '../../src/store/open.js';
import { storeConformance } from './conformance.js';
import { PG_SKIP, PG_URL, dropSchema, uniqueSchema } from './helpers.js';

if (PG_SKIP) {
  void describe('Store conformance: PostgreSQL', () => {
    void it('runs against PostgreSQL', { skip: PG_SKIP }, () => {});
  });
} else {
  const main = uniqueSchema();
  const schemas = [main];
  storeConformance({
    name: 'PostgreSQL (own schema per run)',
    open: () => openStore(PG_URL, { schema: main }),
    openFresh: (migrateTo) => {
      const schema = uniqueSchema();
      schemas.push(schema);
      return openStore(PG_URL, { schema, ...(migrateTo ? { migrateTo } : {}) });
    },
    reopenFresh: () => openStore(PG_URL, { schema: schemas.at(-1)! }),
    cleanup: async () => {
      for (const s of schemas) await dropSchema(s);
    },
  });
}
