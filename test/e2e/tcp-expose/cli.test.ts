/** `burrow tcp` as a child process against the composed server (and `burrow connect` to its wsUrl). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, type CliProcess } from '../../helpers/cli.js';
import { waitUntil } from '../../helpers/wait.js';
import { accepts, bindable, dial, readBytes, startComposedTcp, startTarget, type Stack } from './helpers.js';

interface Ready {
  event: 'ready';
  name: string;
  tcpAddress?: string;
  wsUrl: string;
  accessToken: string;
  local: string;
}

async function setup(t: import('node:test').TestContext, range: 'range' | 'none' = 'range') {
  const stack: Stack = await startComposedTcp(range === 'none' ? { range: false } : {});
  const target = await startTarget((s) => {
    s.write('220 banner\r\n'); // server speaks first
    s.pipe(s);
  });
  t.after(async () => {
    await stack.close();
    await target.close();
  });
  return { stack, target };
}

function stop(t: import('node:test').TestContext, p: CliProcess): void {
  t.after(async () => {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });
}

const isReady = (l: string): boolean => l.includes('"event":"ready"');

void test('burrow tcp --json: ready with tcpAddress, wsUrl and token; the public port reaches the service', async (t) => {
  const { stack, target } = await setup(t);
  const p = runCli([
    'tcp',
    String(target.port),
    '--server',
    stack.url,
    '--name',
    'clitcp',
    '--local-host',
    '127.0.0.1',
    '--json',
  ]);
  stop(t, p);
  const ready = JSON.parse(await p.nextLine(isReady)) as Ready;
  assert.equal(ready.name, 'clitcp');
  assert.match(ready.tcpAddress ?? '', /^tcp:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(ready.wsUrl, `ws://127.0.0.1:${stack.port}/tcp/clitcp`);
  assert.ok(ready.accessToken.length >= 32);
  assert.equal(ready.local, `127.0.0.1:${target.port}`);
  const port = Number(new URL(ready.tcpAddress!).port);
  assert.ok(port >= stack.range!.from && port <= stack.range!.to);

  const sock = await dial(port);
  t.after(() => sock.destroy());
  assert.equal((await readBytes(sock, 12)).toString(), '220 banner\r\n');
  sock.write('echo me');
  assert.equal((await readBytes(sock, 7)).toString(), 'echo me');

  // SIGTERM: exit 0, the public port is released.
  p.child.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  let released = false;
  await waitUntil(async () => (released = !(await accepts(port)) && (await bindable(port))), {
    timeoutMs: 5_000,
    what: `port ${port} released`,
  }).catch(() => {});
  assert.ok(released, `port ${port} released after the CLI exited`);
});

void test('burrow tcp --json → burrow connect --json with its wsUrl and token', async (t) => {
  const { stack, target } = await setup(t);
  const p = runCli(['tcp', `127.0.0.1:${target.port}`, '--server', stack.url, '--no-public-port', '--json']);
  stop(t, p);
  const ready = JSON.parse(await p.nextLine(isReady)) as Ready;
  assert.equal(ready.tcpAddress, undefined, '--no-public-port');
  const c = runCli([
    'connect',
    ready.wsUrl,
    '--token',
    ready.accessToken,
    '--local-port',
    '0',
    '--mode',
    'multiplexed',
    '--json',
  ]);
  stop(t, c);
  const cReady = JSON.parse(await c.nextLine(isReady)) as { port: number };
  const sock = await dial(cReady.port);
  t.after(() => sock.destroy());
  sock.write('hi'); // multiplexed mode dials on the first payload
  assert.equal((await readBytes(sock, 14)).toString(), '220 banner\r\nhi');
});

void test('burrow tcp (human): prints Forwarding tcp://… and the WebSocket access', async (t) => {
  const { stack, target } = await setup(t);
  const p = runCli(['tcp', String(target.port), '--server', stack.url, '--local-host', '127.0.0.1']);
  stop(t, p);
  await p.nextLine((l) => l.startsWith('Forwarding tcp://127.0.0.1:'));
  await p.nextLine((l) => l.startsWith(`WebSocket access: ws://127.0.0.1:${stack.port}/tcp/`));
  await p.nextLine((l) => l.includes('burrow connect ws://'));
});

void test('burrow tcp --remote-port outside the range: exit 1 with BURROW_ERR_FORBIDDEN', async (t) => {
  const { stack, target } = await setup(t);
  const p = runCli([
    'tcp',
    String(target.port),
    '--server',
    stack.url,
    '--remote-port',
    String(stack.range!.to + 1),
    '--json',
  ]);
  stop(t, p);
  assert.equal(await p.exited, 1);
  assert.match(p.stderr(), /BURROW_ERR_FORBIDDEN/);
  assert.equal(p.lines.filter(isReady).length, 0);
});

void test('burrow tcp --remote-port inside the range is honoured', async (t) => {
  const { stack, target } = await setup(t);
  let wanted = stack.range!.from + 3;
  while (!(await bindable(wanted))) wanted++;
  const p = runCli([
    'tcp',
    String(target.port),
    '--server',
    stack.url,
    '--local-host',
    '127.0.0.1',
    '--remote-port',
    String(wanted),
    '--json',
  ]);
  stop(t, p);
  const ready = JSON.parse(await p.nextLine(isReady)) as Ready;
  assert.equal(ready.tcpAddress, `tcp://127.0.0.1:${wanted}`);
});

void test('burrow tcp <port> with the default local host (localhost) reaches a service on 127.0.0.1', async (t) => {
  const { stack, target } = await setup(t);
  const p = runCli(['tcp', String(target.port), '--server', stack.url, '--json']);
  stop(t, p);
  const ready = JSON.parse(await p.nextLine(isReady)) as Ready;
  assert.equal(ready.local, `localhost:${target.port}`);
  const sock = await dial(Number(new URL(ready.tcpAddress!).port));
  t.after(() => sock.destroy());
  assert.equal((await readBytes(sock, 12)).toString(), '220 banner\r\n');
});

void test('burrow tcp --json: the server going away → disconnected/reconnecting lines; back → reconnected with an address', async (t) => {
  const { stack, target } = await setup(t);
  const p = runCli(['tcp', String(target.port), '--server', stack.url, '--local-host', '127.0.0.1', '--json']);
  stop(t, p);
  await p.nextLine(isReady);
  await stack.close();
  await p.nextLine((l) => l.includes('"event":"disconnected"'));
  await p.nextLine((l) => l.includes('"event":"reconnecting"'));
  // A new server on the same port (same range).
  const { composeServer } = await import('../../../src/app/compose.js');
  const again = await composeServer({
    port: stack.port,
    address: '127.0.0.1',
    db: 'sqlite::memory:',
    tcpPorts: `${stack.range!.from}-${stack.range!.to}`,
    logLevel: 'silent',
    processMetrics: false,
  });
  await again.listen();
  t.after(() => again.close());
  const line = JSON.parse(await p.nextLine((l) => l.includes('"event":"reconnected"'), 30_000)) as Ready;
  assert.match(line.tcpAddress ?? '', /^tcp:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(line.accessToken, 'the (new) access token is printed');
  const sock = await dial(Number(new URL(line.tcpAddress!).port));
  t.after(() => sock.destroy());
  assert.equal((await readBytes(sock, 12)).toString(), '220 banner\r\n');
});

void test('burrow tcp --no-public-port --remote-port N: refused (exit 2, a usage error), not silently ignored', async (t) => {
  const { stack, target } = await setup(t);
  const p = runCli([
    'tcp',
    String(target.port),
    '--server',
    stack.url,
    '--no-public-port',
    '--remote-port',
    String(stack.range!.from),
    '--json',
  ]);
  stop(t, p);
  assert.equal(await p.exited, 2);
  assert.match(p.stderr(), /BURROW_ERR_INVALID_CONFIG/);
});

void test('burrow tcp (human): a reconnect that changes the token prints the new token', async (t) => {
  const { stack, target } = await setup(t);
  const p = runCli(['tcp', String(target.port), '--server', stack.url, '--local-host', '127.0.0.1']);
  stop(t, p);
  const tokenLine = await p.nextLine((l) => l.startsWith('  token: '));
  await stack.close();
  const { composeServer } = await import('../../../src/app/compose.js');
  const again = await composeServer({
    port: stack.port,
    address: '127.0.0.1',
    db: 'sqlite::memory:',
    tcpPorts: `${stack.range!.from}-${stack.range!.to}`,
    logLevel: 'silent',
    processMetrics: false,
  });
  await again.listen();
  t.after(() => again.close());
  await p.nextLine((l) => l.startsWith('reconnected: tcp://127.0.0.1:'), 30_000);
  const fresh = await p.nextLine((l) => l.startsWith('  new token: '));
  assert.notEqual(fresh.slice('  new token: '.length), tokenLine.slice('  token: '.length));
});
