/**
 * Automatic-TLS certificates and the ACME account key in the server's database (PostgreSQL or SQLite),
 * so every node of a cluster serves the certificates any node obtained, and a restart (or a new
 * machine on the same database) issues nothing new. composeServer uses it unless --acme-dir is given.
 */
import type { CertificateStore } from '../server/tls/store.js';
import type { Store } from '../store/types.js';

export function databaseCertificates(store: Store, now: () => number = Date.now): CertificateStore {
  return {
    where: 'database',
    readAccountKey: () => store.getAcmeAccountKey(),
    writeAccountKey: (pem) => store.setAcmeAccountKey(pem, now()),
    list: async () => (await store.listAcmeCertificates()).map(({ name, cert, key }) => ({ name, cert, key })),
    write: (c) => store.putAcmeCertificate({ name: c.name, cert: c.cert, key: c.key, updatedAt: now() }),
  };
}
