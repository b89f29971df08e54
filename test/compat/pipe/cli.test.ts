import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runPipeCli as runCli, startServeCli } from './cli-run.js';

const run = (args: string[], input?: Buffer) => runCli(args, input ? { input } : {});

void describe('burrow pipe CLI', () => {
  let stop: () => Promise<void>;
  let url = '';
  let dir = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'burrow-pipe-cli-'));
    ({ url, stop } = await startServeCli());
  });
  after(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  void test('send a file, receive it to a file; only the summary line when not a terminal; progress prints JSON lines', async () => {
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
    assert.match(s.stderr, /^sent 3\.0 MiB in \d+\.\d s \(\d+(\.\d)? [KMG]?i?B\/s\)\n$/);
    assert.match(r.stderr, /^received 3\.0 MiB in \d+\.\d s \(\d+(\.\d)? [KMG]?i?B\/s\)\n$/);
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
    const r1 = run(['receive', 'cli-n', '-n', '2', '-q', '--server', url]);
    const r2 = run(['receive', 'cli-n', '-n', '2', '--server', url]);
    const s = run(['send', 'cli-n', '-', '-n', '2', '--server', `${url}/`], Buffer.from('from stdin\n'));
    const [a, b, c] = await Promise.all([r1.done, r2.done, s.done]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(a.stdout.toString(), 'from stdin\n');
    assert.equal(a.stderr, '', '-q prints nothing, not even the summary');
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
