/**
 * `burrow http`'s inspector flags as a user runs them: the URL printed beside the public one (and in
 * --json's ready event), BURROW_INSPECT read like every flag, --no-inspect, and the refusals that
 * exit 2 before anything connects (a busy --inspect port, a non-loopback address without
 * --inspect-auth).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { runCli } from '../../helpers/cli.js';
import { startOrigin, startServer, closeHttp } from '../../helpers/harness.js';

test('burrow http prints the inspector URL beside the public one; BURROW_INSPECT and --no-inspect', async (t) => {
  const srv = await startServer();
  const origin = await startOrigin((_req, res) => res.end('ok'));
  t.after(async () => {
    await srv.server.close();
    await closeHttp(origin.server);
  });
  const human = runCli(['http', String(origin.port), '--server', srv.url], { BURROW_INSPECT: '127.0.0.1:0' });
  const off = runCli(['http', String(origin.port), '--server', srv.url, '--json', '--no-inspect']);
  const offByEnv = runCli(['http', String(origin.port), '--server', srv.url, '--json'], { BURROW_NO_INSPECT: '1' });
  t.after(async () => {
    for (const c of [human, off, offByEnv]) {
      c.child.kill('SIGINT');
      await c.exited;
    }
  });
  await human.nextLine((l) => l.startsWith('Forwarding '));
  const line = await human.nextLine((l) => l.startsWith('Inspector '));
  const url = /^Inspector\s+(http:\/\/127\.0\.0\.1:\d+)$/.exec(line)?.[1];
  assert.ok(url, `printed: ${line}`);
  const r = await fetch(`${url}/api/requests`);
  assert.equal(r.status, 200);
  assert.deepEqual(((await r.json()) as { requests: unknown[] }).requests, []);

  const ready = JSON.parse(await off.nextLine((l) => l.includes('"ready"'))) as Record<string, unknown>;
  assert.equal(ready['inspector'], undefined, '--no-inspect: no inspector');
  const readyByEnv = JSON.parse(await offByEnv.nextLine((l) => l.includes('"ready"'))) as Record<string, unknown>;
  assert.equal(readyByEnv['inspector'], undefined, 'BURROW_NO_INSPECT=1: no inspector');
});

test('a busy --inspect port and a non-loopback address without --inspect-auth exit 2 with a fix', async (t) => {
  const busy = net.createServer().listen(0, '127.0.0.1');
  await once(busy, 'listening');
  t.after(() => busy.close());
  const port = (busy.address() as net.AddressInfo).port;
  // the server is never reached: both fail before connecting
  const taken = runCli(['http', '3000', '--server', 'http://127.0.0.1:9', '--inspect', `127.0.0.1:${port}`]);
  const open = runCli(['http', '3000', '--server', 'http://127.0.0.1:9', '--inspect', '0.0.0.0:0']);
  assert.equal(await taken.exited, 2, taken.stderr());
  assert.match(taken.stderr(), /inspector cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
  assert.match(taken.stderr(), /--inspect ADDR:PORT, or --no-inspect/);
  assert.equal(await open.exited, 2, open.stderr());
  assert.match(open.stderr(), /without a password/);
  assert.match(open.stderr(), /--inspect-auth user:pass/);
});
