/**
 * A requested stop is a success: SIGINT (Ctrl-C) and SIGTERM end every long-running command with
 * exit 0 after closing cleanly (issue 15), also while it is still connecting.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/net.js';
import { waitUntil } from '../helpers/wait.js';
import { NOT_BUILT, startCli, type Running } from './dist.js';

let server: Running;
let url = '';
let target: Server;
let targetPort = 0;

async function stopsCleanly(run: Running, signal: NodeJS.Signals, ready: RegExp): Promise<void> {
  await waitUntil(() => ready.test(run.stdout() + run.stderr()), {
    timeoutMs: 15_000,
    what: `${ready} (stdout: ${run.stdout()} stderr: ${run.stderr()})`,
  });
  run.child.kill(signal);
  const r = await run.ended;
  assert.equal(r.signal, null, `ended by the signal itself or killed at its bound: ${r.stderr}`);
  assert.equal(r.code, 0, `exit status after ${signal}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^error:/m);
}

void describe('signals', { skip: NOT_BUILT }, () => {
  before(async () => {
    target = createServer((s) => s.end()).listen(0, '127.0.0.1');
    await new Promise((r) => target.once('listening', r));
    targetPort = (target.address() as { port: number }).port;
    const port = await freePort();
    server = startCli(
      [
        'server',
        '--port',
        String(port),
        '--address',
        '127.0.0.1',
        '--db',
        'sqlite::memory:',
        '--log-level',
        'warn',
        '--tcp-target',
        `t=127.0.0.1:${targetPort}`,
      ],
      { boundMs: 120_000 },
    );
    url = `http://127.0.0.1:${port}`;
    await waitUntil(() => server.stderr().includes('listening on'), { timeoutMs: 20_000, what: 'the server' });
  });
  after(() => {
    server?.child.kill('SIGKILL');
    target?.close();
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    void it(`burrow http: ${signal} → exit 0`, () =>
      stopsCleanly(startCli(['http', '3000', '--server', url]), signal, /Forwarding/));
    void it(`burrow tcp: ${signal} → exit 0`, () =>
      stopsCleanly(startCli(['tcp', '22', '--server', url, '--no-public-port']), signal, /Forwarding/));
    void it(`burrow connect: ${signal} → exit 0`, () =>
      stopsCleanly(startCli(['connect', `${url.replace('http:', 'ws:')}/tcp/t`]), signal, /Listening on/));
  }

  void it('burrow http --port 3000 (the localtunnel habit) works as burrow http 3000', () =>
    stopsCleanly(
      startCli(['http', '--port', '3000', '--server', url.replace('http://', '')]),
      'SIGINT',
      /Forwarding .* -> http:\/\/localhost:3000/,
    ));

  void it('burrow http while still connecting (server down): SIGINT → exit 0', async () => {
    const down = await freePort();
    await stopsCleanly(
      startCli(['http', '3000', '--server', `127.0.0.1:${down}`, '--connect-timeout', '0']),
      'SIGINT',
      /attempt 1 failed/,
    );
  });

  void it('burrow server: SIGTERM drains and exits 0', async () => {
    const port = await freePort();
    const s = startCli(['server', '--port', String(port), '--address', '127.0.0.1', '--db', 'sqlite::memory:']);
    await stopsCleanly(s, 'SIGTERM', /listening on/);
  });
});
