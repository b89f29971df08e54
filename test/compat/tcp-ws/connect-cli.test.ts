/** `burrow connect`: the command's logic in-process (runConnect) and the real CLI as a child process. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { runConnect, type ConnectOptions } from '../../../src/cli/commands/connect.js';
import { dial, echo, mountAdapter, readBytes, startTarget } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';
import { cliArgs } from '../../helpers/cli.js';

const TOKEN = 'cli-token';

async function setup(t: import('node:test').TestContext) {
  const target = await startTarget((s) => {
    s.write('SSH-2.0-fake\r\n'); // server speaks first, like sshd
    echo(s);
  });
  const m = await mountAdapter({ targets: [{ name: 'ssh', host: '127.0.0.1', port: target.port, token: TOKEN }] });
  t.after(async () => {
    await m.close();
    await target.close();
  });
  return { target, m, url: `ws://127.0.0.1:${m.port}/tcp/ssh` };
}

const base: ConnectOptions = {
  localPort: 0,
  localAddress: '127.0.0.1',
  mode: 'singleton',
  token: TOKEN,
  logLevel: 'none',
};

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return () => text;
}

void test('connect --stdio (in-process): stdin/stdout carry one connection; EOF ends it with exit code 0', async (t) => {
  const { url, m } = await setup(t);
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = collect(stdout);
  const err = collect(stderr);
  const handle = await runConnect(url, { ...base, stdio: true }, { stdin, stdout, stderr });
  await waitUntil(() => out() === 'SSH-2.0-fake\r\n');
  stdin.write('hello');
  await waitUntil(() => out().endsWith('hello'));
  stdin.end();
  assert.equal(await handle.done, 0);
  assert.match(err(), /state: connected/, 'state changes go to stderr, never into the data stream');
  await waitUntil(() => m.adapter.stats().tcpSessions === 0);
});

void test('connect --json (in-process): ready line with the local address, then state changes', async (t) => {
  const { url } = await setup(t);
  const stdout = new PassThrough();
  const out = collect(stdout);
  for (const mode of ['singleton', 'multiplexed'] as const) {
    const handle = await runConnect(
      url,
      { ...base, mode, json: true },
      { stdin: new PassThrough(), stdout, stderr: new PassThrough() },
    );
    const ready = JSON.parse(out().trim().split('\n').at(-1)!) as {
      event: string;
      port: number;
      address: string;
      mode: string;
    };
    assert.equal(ready.event, 'ready');
    assert.equal(ready.mode, mode);
    assert.equal(ready.address, '127.0.0.1');
    assert.doesNotMatch(out(), new RegExp(TOKEN), 'the token is never printed');
    const sock = await dial(ready.port);
    assert.equal((await readBytes(sock, 14)).toString(), 'SSH-2.0-fake\r\n');
    sock.destroy();
    handle.close();
    assert.equal(await handle.done, 0);
  }
  assert.match(out(), /"event":"state","state":"connected"/);
});

void test('connect --stdio with a bad token fails at once, before carrying anything', async (t) => {
  const { url } = await setup(t);
  await assert.rejects(
    runConnect(
      url,
      { ...base, token: 'wrong', stdio: true },
      { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() },
    ),
    (err: Error & { code?: string }) => err.code === 'BURROW_ERR_FORBIDDEN' && /token was refused/.test(err.message),
  );
});

void test('burrow connect --stdio as a child process (an SSH ProxyCommand)', { timeout: 60_000 }, async (t) => {
  const { url } = await setup(t);
  const child = spawn(process.execPath, cliArgs('connect', url, '--stdio'), {
    env: { ...process.env, BURROW_TOKEN: TOKEN },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  t.after(() => child.kill());
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  await waitUntil(() => out.startsWith('SSH-2.0-fake\r\n') || child.exitCode !== null);
  assert.equal(out, 'SSH-2.0-fake\r\n', err);
  child.stdin.write('ping');
  await waitUntil(() => out.endsWith('ping'));
  child.stdin.end();
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0, err);
});
