import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonFileWorkstationStore, MemoryWorkstationStore, hashKey } from '../../../src/adapters/tiflis/index.js';
import { isBurrowError } from '../../../src/core/errors.js';
import { startHarness, openWorkstation, TestClient, connectMsg, AUTH_KEY } from './helpers.js';

void describe('tiflis tunnel ids survive a restart', () => {
  void test('re-register with previous_tunnel_id after the server restarts over the same JSON file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-tiflis-'));
    const file = join(dir, 'tiflis-workstations.json');
    try {
      const h1 = await startHarness({ store: new JsonFileWorkstationStore(file) });
      const first = await openWorkstation(h1);
      await first.ws.close();
      await h1.close();

      const stored = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(stored.workstations.length, 1);
      assert.equal(stored.workstations[0].tunnel_id, first.tunnelId);
      assert.equal(stored.workstations[0].auth_key_hash, hashKey(AUTH_KEY));
      assert.equal(readFileSync(file, 'utf8').includes(AUTH_KEY), false, 'the auth key itself is not stored');

      // A new adapter (new process in real life) over a new store object reading the same file.
      const h2 = await startHarness({ store: new JsonFileWorkstationStore(file) });
      try {
        // Known but not back yet: WORKSTATION_OFFLINE, not TUNNEL_NOT_FOUND.
        const early = await TestClient.open(h2.wsUrl);
        assert.equal(
          (await early.request(connectMsg(first.tunnelId, 'early'), 'error')).payload.code,
          'WORKSTATION_OFFLINE',
        );
        await early.close();

        const again = await openWorkstation(h2, { reconnect: true, previous_tunnel_id: first.tunnelId });
        assert.equal(again.tunnelId, first.tunnelId);
        assert.equal(again.reply.payload.restored, true);
        const d = await TestClient.open(h2.wsUrl);
        assert.equal(
          (await d.request(connectMsg(first.tunnelId, 'dev'), 'connected')).payload.tunnel_id,
          first.tunnelId,
        );
        await Promise.all([d.close(), again.ws.close()]);
      } finally {
        await h2.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void test('an unknown previous_tunnel_id is reclaimed when well-formed, replaced when not', async () => {
    const h = await startHarness({ store: new MemoryWorkstationStore() });
    try {
      const reclaimed = await openWorkstation(h, { reconnect: true, previous_tunnel_id: 'Z6q62aKz-F96' });
      assert.equal(reclaimed.tunnelId, 'Z6q62aKz-F96');
      assert.equal(reclaimed.reply.payload.restored, true);
      const fresh = await openWorkstation(h, { reconnect: true, previous_tunnel_id: 'bad id/../x' });
      assert.notEqual(fresh.tunnelId, 'bad id/../x');
      assert.equal('restored' in fresh.reply.payload, false);
      await Promise.all([reclaimed.ws.close(), fresh.ws.close()]);
    } finally {
      await h.close();
    }
  });

  void test('a store failure answers REGISTRATION_FAILED and keeps the socket open', async () => {
    const failing = new MemoryWorkstationStore();
    failing.put = () => Promise.reject(new Error('disk full'));
    const h = await startHarness({ store: failing });
    try {
      const ws = await TestClient.open(h.wsUrl);
      ws.send({
        type: 'workstation.register',
        payload: { api_key: 'test-registration-key-0123456789abcdef', name: 'n', auth_key: AUTH_KEY },
      });
      const err = await ws.next('error');
      assert.equal(err.payload.code, 'REGISTRATION_FAILED');
      assert.equal(ws.ws.readyState, ws.ws.OPEN);
      await ws.close();
    } finally {
      await h.close();
    }
  });

  void test('JsonFileWorkstationStore: touch, reload, and a clear error for a foreign file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-tiflis-'));
    try {
      const file = join(dir, 'sub', 'ws.json');
      const s1 = new JsonFileWorkstationStore(file);
      await s1.put({ tunnel_id: 't1', name: 'n', auth_key_hash: hashKey(AUTH_KEY), created_at: 1, last_seen_at: 2 });
      await s1.touch('t1', 99);
      await s1.touch('unknown', 5);
      const s2 = new JsonFileWorkstationStore(file);
      assert.deepEqual(await s2.get('t1'), {
        tunnel_id: 't1',
        name: 'n',
        auth_key_hash: hashKey(AUTH_KEY),
        created_at: 1,
        last_seen_at: 99,
      });
      assert.equal(await s2.get('unknown'), undefined);

      const bad = join(dir, 'bad.json');
      writeFileSync(bad, 'not json');
      assert.throws(
        () => new JsonFileWorkstationStore(bad),
        (e: unknown) => isBurrowError(e) && e.code === 'BURROW_ERR_STORE',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
