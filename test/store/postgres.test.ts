import assert from 'node:assert/strict';
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
  void describe('PostgreSQL URL', () => {
    void it('takes ?schema= from the URL, creates the schema and shows it without a password', async () => {
      const schema = uniqueSchema();
      const url = new URL(PG_URL!);
      url.searchParams.set('schema', schema);
      const store = await openStore(url.toString());
      try {
        assert.equal(store.backend, 'postgres');
        assert.ok(store.location.includes(`schema=${schema}`), store.location);
        assert.deepEqual((await store.listTokens()).length, 0);
      } finally {
        await store.close();
        await dropSchema(schema);
      }
    });
  });

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
