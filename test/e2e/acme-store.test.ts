/**
 * Automatic-TLS certificates in the database (issue 18): `burrow server --acme` without --acme-dir
 * keeps the account key and certificates in its store, so a second node on the same database serves
 * the certificate the first obtained, with no new order. Against pebble (acme-pebble.ts), on SQLite
 * and, where BURROW_TEST_DATABASE_URL is set, on PostgreSQL (a schema of its own).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { composeServer, type ComposedServer } from '../../src/app/compose.js';
import { freePort } from '../helpers/net.js';
import { PG_SKIP, PG_URL, dropSchema, uniqueSchema } from '../store/helpers.js';
import { acmeEvents, handshake as tlsHandshake, pebbleMissing, pebbleSuite } from './acme-pebble.js';

const handshake = (s: ComposedServer, servername: string): Promise<tls.PeerCertificate> =>
  tlsHandshake(s.server, servername, p.root);
const issued = async (s: ComposedServer): Promise<number> => (await acmeEvents(s.server)).issued ?? 0;

const DOMAIN = 'store.test';
const missing = pebbleMissing();

const p = pebbleSuite('burrow-acme-store-', missing);

async function node(db: string, plainPort: number): Promise<ComposedServer> {
  const s = await composeServer({
    port: 0,
    address: '127.0.0.1',
    domains: [DOMAIN],
    logLevel: 'silent',
    processMetrics: false,
    db,
    auth: 'none',
    acme: {
      email: 'ops@example.com',
      directoryUrl: p.pebble.directoryUrl,
      directoryCa: p.pebble.directoryCa,
      httpPort: plainPort,
    },
  });
  await s.listen();
  return s;
}

const pgSchema = uniqueSchema();
const backends: [string, () => string, string | false][] = [
  ['SQLite', () => `sqlite:${join(p.work, 'nodes.db')}`, false],
  [
    'PostgreSQL',
    () => {
      const u = new URL(PG_URL!);
      u.searchParams.set('schema', pgSchema);
      return u.toString();
    },
    PG_SKIP,
  ],
];
test.after(async () => {
  if (!missing && PG_URL) await dropSchema(pgSchema);
});

for (const [name, dbUrl, skipWhy] of backends) {
  void test(
    `${name}: without --acme-dir the certificate is kept in the database; a second node serves it without a new order`,
    { skip: missing ?? skipWhy },
    async (ctx) => {
      const db = dbUrl();
      // the first node obtains the certificate (pebble validates HTTP-01 on its plain port)
      const first = await node(db, p.httpPort);
      ctx.after(() => first.close());
      const cert = await handshake(first, DOMAIN);
      assert.equal(cert.subject.CN, DOMAIN);
      assert.equal(await issued(first), 1);
      assert.equal(existsSync(join(process.cwd(), 'data', 'acme', 'certificates', `${DOMAIN}.crt`)), false);
      // a second node on the same database (another plain port: pebble could not reach it anyway)
      const second = await node(db, await freePort());
      ctx.after(() => second.close());
      assert.equal((await handshake(second, DOMAIN)).serialNumber, cert.serialNumber);
      assert.equal(await issued(second), 0);
    },
  );
}
