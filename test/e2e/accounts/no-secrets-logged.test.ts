/**
 * Issue 6, end to end: "no token ever logged". A composed server logging at trace level goes
 * through token creation, agents with right and wrong tokens, the admin API, revocation and
 * visitors with credentials; no secret may appear in any log line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/core/logger.js';
import { closeHttp } from '../../helpers/harness.js';
import {
  admin,
  ADMIN_TOKEN,
  BACKENDS,
  refusal,
  startComposed,
  startEchoOrigin,
  tunnel,
  visit,
  type Running,
  type TestDb,
} from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

for (const backend of BACKENDS) {
  describe(`no secret reaches the logs (${backend.name})`, { skip: backend.skip }, () => {
    let db: TestDb;
    let srv: Running;
    let origin: { server: http.Server; port: number };
    let logs = '';

    before(async () => {
      db = await backend.create();
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          logs += chunk.toString('utf8');
          cb();
        },
      });
      srv = await startComposed(db.url, { logger: createLogger({ level: 'trace', destination: sink }) });
      origin = await startEchoOrigin();
    });
    after(async () => {
      await srv?.composed.close();
      if (origin) await closeHttp(origin.server);
      await db?.cleanup();
    });

    test('tokens, admin token, visitor passwords and bearer tokens never appear in log lines', async () => {
      const created = await admin(srv.port, 'POST', '/tokens', { label: 'logged?' });
      assert.equal(created.status, 201);
      const { token, secret } = created.json as { token: { id: string }; secret: string };
      const wrong = `brw_${'W'.repeat(40)}`;
      assert.equal((await refusal(tunnel(srv.url, origin.port, { token: wrong }))).code, 'BURROW_ERR_UNAUTHORIZED');
      const t = await tunnel(srv.url, origin.port, {
        token: secret,
        access: { basicAuth: 'hank:VisitorPassw0rd', bearer: 'VisitorBearer123' },
      });
      const auth = `Basic ${Buffer.from('hank:VisitorPassw0rd').toString('base64')}`;
      assert.equal((await visit(srv.port, t, '/', { authorization: auth })).status, 200);
      assert.equal((await visit(srv.port, t, '/', { authorization: 'Bearer VisitorBearer123' })).status, 200);
      assert.equal((await visit(srv.port, t, '/', { authorization: 'Bearer WrongVisitorBearer' })).status, 401);
      assert.equal((await admin(srv.port, 'GET', '/tokens', undefined, 'WrongAdminToken-0123456789')).status, 401);
      const closed = new Promise<void>((r) => t.once('close', () => r()));
      assert.equal((await admin(srv.port, 'POST', `/tokens/${token.id}/revoke`)).status, 200);
      await closed;
      await waitUntil(() => logs.includes('revoked'), { timeoutMs: 3000, what: 'revocation logged' });

      assert.ok(logs.length > 0, 'the server logged something');
      for (const s of [
        secret,
        wrong,
        ADMIN_TOKEN,
        'WrongAdminToken-0123456789',
        'VisitorPassw0rd',
        Buffer.from('hank:VisitorPassw0rd').toString('base64'),
        'VisitorBearer123',
        'WrongVisitorBearer',
      ]) {
        assert.ok(!logs.includes(s), `a secret (${s.slice(0, 6)}…) appears in the logs`);
      }
    });
  });
}
