/**
 * The SDK's first contact (issue 15): openTunnel() settles — it rejects with the reason (and a fix
 * fitting it) when the server is down, not burrow, or the caller aborts — and reports each attempt.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { openTunnel } from '../../src/client/burrow/open-tunnel.js';
import type { ConnectAttempt, RetryInfo } from '../../src/client/burrow/agent.js';
import { BurrowError } from '../../src/core/errors.js';
import { freePort } from '../helpers/net.js';

const FAST = { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 };

void test('server down: each attempt is reported, then it rejects with the last reason after connectTimeoutMs', async () => {
  const port = await freePort();
  const attempts: ConnectAttempt[] = [];
  const retries: RetryInfo[] = [];
  const started = Date.now();
  await assert.rejects(
    openTunnel({
      port: 3000,
      server: `http://127.0.0.1:${port}`,
      backoff: FAST,
      connectTimeoutMs: 300,
      onConnecting: (a) => attempts.push(a),
      onRetry: (r) => retries.push(r),
    }),
    (err: BurrowError) => {
      assert.equal(err.code, 'BURROW_ERR_SERVER_UNREACHABLE');
      assert.match(err.message, /nothing listens at 127\.0\.0\.1:\d+.*gave up after 0\.3 s/);
      assert.match(err.fix, /Start the burrow server/);
      return true;
    },
  );
  assert.ok(Date.now() - started < 3_000);
  assert.ok(attempts.length >= 2 && attempts[0]!.attempt === 1, `attempts: ${attempts.length}`);
  assert.ok(retries.length >= 1 && retries[0]!.error instanceof BurrowError);
});

void test('a server that is not burrow: rejects at once, saying so', async (t) => {
  const plain = createServer((_req, res) => res.end('hello')).listen(0, '127.0.0.1');
  t.after(() => plain.close());
  await new Promise((r) => plain.once('listening', r));
  const { port } = plain.address() as { port: number };
  await assert.rejects(
    openTunnel({ port: 3000, server: `http://127.0.0.1:${port}`, connectTimeoutMs: 0 }),
    (err: BurrowError) => err.code === 'BURROW_ERR_SERVER_UNREACHABLE' && /not a burrow server/.test(err.message),
  );
});

void test('an aborted first connection rejects with SHUTTING_DOWN', async () => {
  const port = await freePort();
  const ac = new AbortController();
  const p = openTunnel({
    port: 3000,
    server: `http://127.0.0.1:${port}`,
    backoff: FAST,
    connectTimeoutMs: 0,
    signal: ac.signal,
    onRetry: () => ac.abort(),
  });
  await assert.rejects(p, (err: BurrowError) => err.code === 'BURROW_ERR_SHUTTING_DOWN');
});
