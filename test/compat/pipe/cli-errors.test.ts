/**
 * Issue 15's pipe items: every bad input ends with `error:` / `fix:` / `code:` and the documented
 * exit status, never a stack trace; a closed stdout is a normal end; a token reaches a server
 * that requires one (--token and BURROW_TOKEN); a binary body is not dumped on a terminal.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { once } from 'node:events';
import { cliArgs } from '../../helpers/cli.js';
import { freePort } from '../../helpers/net.js';
import { waitUntil } from '../../helpers/wait.js';
import { assertCleanError, runPipeCli, startServeCli } from './cli-run.js';
import { startComposed } from '../../e2e/accounts/helpers.js';

/** Every bad-input command must end within this bound (no hang). */
const BOUND_MS = 15_000;

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

void describe('burrow pipe: bad inputs end cleanly', () => {
  let url = '';
  let stop: () => Promise<void>;
  let dir = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'burrow-pipe-errors-'));
    ({ url, stop } = await startServeCli());
  });
  after(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  void test('server down, missing file, directory, bad -n: error/fix/code, exit 1 or 2, no stack', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const cases: { args: string[]; code: string; exit: number; input?: Buffer }[] = [
      {
        args: ['send', 'p', '-', '--server', down],
        code: 'BURROW_ERR_SERVER_UNREACHABLE',
        exit: 1,
        input: Buffer.from('x'),
      },
      { args: ['receive', 'p', '--server', down], code: 'BURROW_ERR_SERVER_UNREACHABLE', exit: 1 },
      { args: ['progress', 'p', '--server', down], code: 'BURROW_ERR_SERVER_UNREACHABLE', exit: 1 },
      { args: ['send', 'p', join(dir, 'nope.bin'), '--server', url], code: 'BURROW_ERR_INVALID_CONFIG', exit: 2 },
      { args: ['send', 'p', dir, '--server', url], code: 'BURROW_ERR_INVALID_CONFIG', exit: 2 },
      { args: ['send', 'p', '-n', 'many', '--server', url], code: 'BURROW_ERR_INVALID_CONFIG', exit: 2 },
    ];
    const results = await Promise.all(cases.map((c) => runPipeCli(c.args, c.input ? { input: c.input } : {}).done));
    results.forEach((r, i) => {
      const c = cases[i]!;
      assert.equal(r.code, c.exit, `${c.args.join(' ')}: ${r.stderr}`);
      assert.ok(r.ms < BOUND_MS, `${c.args.join(' ')} took ${r.ms} ms`);
      assertCleanError(r.stderr, c.code);
    });
    assert.match(results[3]!.stderr, /no such file/);
    assert.match(results[4]!.stderr, /it is a directory/);
    assert.match(results[4]!.stderr, /^fix: .*tar cz/m);
  });

  void test('forward-tcp: bad flags and a busy port exit 2; an unreachable server is retried with a fix; SIGTERM exits 0', async () => {
    const busy = net.createServer().listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const busyPort = (busy.address() as net.AddressInfo).port;
    const down = `http://127.0.0.1:${await freePort()}`;
    const [both, inUse] = await Promise.all([
      runPipeCli(['forward-tcp', 'u', 'd', '--listen', '1', '--target', 'h:2', '--server', url]).done,
      runPipeCli(['forward-tcp', 'u', 'd', '--listen', `127.0.0.1:${busyPort}`, '--server', url]).done,
    ]);
    busy.close();
    assert.equal(both.code, 2);
    assertCleanError(both.stderr, 'BURROW_ERR_INVALID_CONFIG');
    assert.equal(inUse.code, 2);
    assertCleanError(inUse.stderr, 'BURROW_ERR_INVALID_CONFIG');
    assert.match(inUse.stderr, /the port is in use/);
    const t = runPipeCli(['forward-tcp', 'u', 'd', '--target', '127.0.0.1:9', '--server', down]);
    let err = '';
    t.child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    await waitUntil(() => /retrying in/.test(err), { what: 'a retry line' });
    t.child.kill('SIGTERM');
    const r = await t.done;
    assert.equal(r.code, 0);
    assert.match(err, /Cannot reach the burrow server/);
    assert.match(err, /fix: Check --server/);
    assert.doesNotMatch(err, /^\s+at /m);
  });

  void test('a requested stop (SIGTERM) of a waiting send, receive or progress exits 0 quietly', async () => {
    const cmds = [
      runPipeCli(['send', 'stop-1', '-', '--server', url], { input: Buffer.from('x'), keepStdin: true }),
      runPipeCli(['receive', 'stop-2', '--server', url]),
      runPipeCli(['progress', 'stop-3', '--server', url]),
    ];
    await waitUntil(async () => {
      const h = (await (await fetch(`${url}/api/v1/pipe/health`)).json()) as { pending: number; spectators: number };
      return h.pending === 2 && h.spectators === 1;
    });
    for (const c of cmds) c.child.kill('SIGTERM');
    for (const r of await Promise.all(cmds.map((c) => c.done))) {
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /error:/);
    }
  });

  void test('a busy path: the second sender gets a clean error that says to pick another path', async () => {
    const first = runPipeCli(['send', 'busy-1', '-', '--server', url], { input: Buffer.from('held'), keepStdin: true });
    await waitUntil(async () => {
      const h = (await (await fetch(`${url}/api/v1/pipe/health`)).json()) as { pending: number };
      return h.pending === 1;
    });
    const second = await runPipeCli(['send', 'busy-1', '-', '--server', url], { input: Buffer.from('y') }).done;
    assert.equal(second.code, 1);
    assertCleanError(second.stderr, 'BURROW_ERR_PIPE_REJECTED');
    assert.match(second.stderr, /Another sender has been connected/);
    assert.match(second.stderr, /^fix: .*pick another path/m);
    first.child.kill('SIGTERM');
    await first.done;
  });

  void test('receive | head -c 100: a closed stdout ends quietly with exit 0', async () => {
    const data = randomBytes(8 * 1024 * 1024);
    const send = runPipeCli(['send', 'head-1', '-', '-q', '--server', url], { input: data });
    const recv = runPipeCli(['receive', 'head-1', '--server', url]);
    let got = 0;
    recv.child.stdout!.removeAllListeners('data');
    recv.child.stdout!.on('data', (c: Buffer) => {
      got += c.length;
      if (got >= 100) recv.child.stdout!.destroy(); // the reader goes away, as head does
    });
    const [r, s] = await Promise.all([recv.done, send.done]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    // the sender learns why its transfer stopped, in the one format
    assert.equal(s.code, 1);
    assertCleanError(s.stderr, 'BURROW_ERR_PIPE_REJECTED');
    assert.match(s.stderr, /All receivers aborted/);
  });

  void test(
    'a binary body is refused on a terminal unless -o - is given',
    { skip: !hasScript() && 'no `script` to make a terminal' },
    async () => {
      const bin = join(dir, 'bin.dat');
      writeFileSync(bin, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2, 3]));
      // `script` gives the receiver a terminal for stdout; its output is what the terminal showed
      const onTerminal = (args: string) =>
        onTty(`${process.execPath} ${cliArgs('pipe', 'receive').join(' ')} ${args} --server ${url}`);
      const refused = onTerminal('bin-1');
      const s1 = runPipeCli(['send', 'bin-1', bin, '-q', '--server', url]);
      const r1 = await refused;
      await s1.done;
      assert.equal(r1.code, 2, r1.out);
      assert.match(r1.out, /error: (Invalid configuration: )?the body is binary and standard output is a terminal/);
      assert.match(r1.out, /code: BURROW_ERR_INVALID_CONFIG/);
      const forced = onTerminal('bin-2 -o -');
      const s2 = runPipeCli(['send', 'bin-2', bin, '-q', '--server', url]);
      const r2 = await forced;
      await s2.done;
      assert.equal(r2.code, 0, r2.out);
      assert.doesNotMatch(r2.out, /error:/);
    },
  );
});

function onTty(cmd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('latin1')));
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

void describe('burrow pipe: a server that requires tokens', () => {
  let dir = '';
  let srv: Awaited<ReturnType<typeof startComposed>>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'burrow-pipe-token-'));
    srv = await startComposed(`sqlite:${join(dir, 'burrow.db')}`);
  });
  after(async () => {
    await srv.composed.close();
    rmSync(dir, { recursive: true, force: true });
  });

  void test('no token: exit 1 with a fix naming --token; --token and BURROW_TOKEN go through', async () => {
    const none = await runPipeCli(['receive', 'tok-0', '--server', srv.url]).done;
    assert.equal(none.code, 1);
    assertCleanError(none.stderr, 'BURROW_ERR_UNAUTHORIZED');
    assert.match(none.stderr, /^fix: .*--token TOKEN or set BURROW_TOKEN/m);

    const { secret } = await srv.composed.accounts.tokens.create({ label: 'cli', scopes: ['pipe'] });
    const recv = runPipeCli(['receive', 'tok-1', '-q', '--server', srv.url], { env: { BURROW_TOKEN: secret } });
    const send = runPipeCli(['send', 'tok-1', '-', '-q', '--server', srv.url, '--token', secret], {
      input: Buffer.from('with a token'),
    });
    const [r, s] = await Promise.all([recv.done, send.done]);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'with a token');
  });
});
