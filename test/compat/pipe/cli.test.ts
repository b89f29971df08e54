import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';

const DRIVER = new URL('./cli-driver.ts', import.meta.url).pathname;

function run(args: string[], input?: Buffer) {
  const child = spawn(process.execPath, ['--import', 'tsx', DRIVER, 'pipe', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  if (input) child.stdin.end(input);
  else child.stdin.end();
  const done = once(child, 'close').then(([code]) => ({
    code: code as number,
    stdout: Buffer.concat(out),
    stderr: Buffer.concat(err).toString(),
  }));
  return { child, done };
}

void describe('burrow pipe CLI', () => {
  let server: ChildProcess;
  let url = '';
  let dir = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'burrow-pipe-cli-'));
    server = spawn(
      process.execPath,
      ['--import', 'tsx', DRIVER, 'pipe', 'serve', '--port', '0', '--address', '127.0.0.1', '--log-level', 'silent'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let text = '';
    server.stdout!.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      server.stdout!.on('data', (c: string) => {
        text += c;
        const m = /listening on (http:\/\/\S+)/.exec(text);
        if (m) {
          url = m[1]!;
          resolve();
        }
      });
      server.once('exit', () => reject(new Error(`serve exited: ${text}`)));
    });
  });
  after(async () => {
    server.kill('SIGTERM');
    await once(server, 'exit');
    rmSync(dir, { recursive: true, force: true });
  });

  void test('send a file, receive it to a file; quiet when not a terminal; progress prints JSON lines', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const src = join(dir, 'in.bin');
    const dst = join(dir, 'out.bin');
    writeFileSync(src, data);
    const watch = run(['progress', 'cli-x', '--server', url]);
    const recv = run(['receive', 'cli-x', '-o', dst, '--server', url]);
    const send = run(['send', 'cli-x', src, '--server', url]);
    const [r, s, w] = await Promise.all([recv.done, send.done, watch.done]);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s.stderr, '');
    assert.equal(r.stderr, '');
    assert.ok(readFileSync(dst).equals(data));
    assert.equal(w.code, 0, w.stderr);
    const events = w.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; state?: string; bytesTransferred?: number });
    const last = events[events.length - 1]!;
    assert.equal(last.event, 'done');
    assert.equal(last.state, 'complete');
    assert.equal(last.bytesTransferred, data.length);
  });

  void test('stdin to stdout with n=2', async () => {
    const r1 = run(['receive', 'cli-n', '-n', '2', '--server', url]);
    const r2 = run(['receive', 'cli-n', '-n', '2', '--server', url]);
    const s = run(['send', 'cli-n', '-', '-n', '2', '--server', `${url}/`], Buffer.from('from stdin\n'));
    const [a, b, c] = await Promise.all([r1.done, r2.done, s.done]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(a.stdout.toString(), 'from stdin\n');
    assert.equal(b.stdout.toString(), 'from stdin\n');
  });

  void test('url, health, and a typed error with exit code 1', async () => {
    const [u, h, bad] = await Promise.all([
      run(['url', 'my path', '--server', 'https://pipe.example.com', '-n', '3']).done,
      run(['health', '--server', url]).done,
      run(['send', 'help', '-', '--server', url], Buffer.from('x')).done,
    ]);
    assert.equal(u.code, 0);
    assert.match(u.stdout.toString(), /^send: {6}https:\/\/pipe\.example\.com\/api\/v1\/pipe\/my%20path\?n=3$/m);
    assert.match(
      u.stdout.toString(),
      /^curl -T myfile 'https:\/\/pipe\.example\.com\/api\/v1\/pipe\/my%20path\?n=3'$/m,
    );
    assert.equal(h.code, 0);
    assert.equal((JSON.parse(h.stdout.toString()) as { status: string }).status, 'ok');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Cannot send to the reserved path '\/help'/);
    assert.match(bad.stderr, /code: BURROW_ERR_PIPE_REJECTED/);
  });
});
