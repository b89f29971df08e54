/**
 * The cheat sheet (issue 16): `burrow pipe help-cheatsheet` prints what `GET /api/v1/pipe/help`
 * serves, and every curl line of it runs against a live `burrow pipe serve`, with the tools it
 * names (tar, gpg, openssl, curl); ffmpeg and nc are small stand-ins on PATH.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { once } from 'node:events';
import { cheatSheetRecipes } from '../../../src/app/pipe.js';
import { freePort, readAll } from '../../helpers/net.js';
import { waitUntil } from '../../helpers/wait.js';
import { fetchText, open, startPipe, type TestPipe } from './helpers.js';
import { runPipeCli } from './cli-run.js';

/** How long the curl+nc recipe test waits for its echo (the chain is four processes and two pipes). */
const ECHO_WAIT_MS = 20_000;

const TOOLS = ['curl', 'tar', 'gpg', 'openssl'];
const missing = TOOLS.filter((t) => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
});
const skip = missing.length ? `not installed: ${missing.join(', ')}` : false;

const NC = `#!${process.execPath}
// nc stand-in: "nc HOST PORT" connects, "nc -l PORT" accepts one connection; stdin/stdout both ways
const net = require('net');
const a = process.argv.slice(2);
const fs = require('fs');
// Node makes fd 1 non-blocking once stdin is read, so a full pipe (the curl after us reading slowly,
// under load) answers EAGAIN: wait and write the rest, reading nothing more meanwhile (as nc blocks)
const put = (c, done) => {
  try {
    const n = fs.writeSync(1, c);
    if (n < c.length) put(c.subarray(n), done);
    else done();
  } catch (e) {
    if (e.code !== 'EAGAIN') process.exit(1);
    setTimeout(put, 2, c, done);
  }
};
// like nc: the peer's end closes stdout (so the curl after it finishes), and we exit once both ends closed
const join = (s) => {
  process.stdin.pipe(s);
  s.on('data', (c) => {
    s.pause();
    put(c, () => s.resume());
  });
  s.on('end', () => fs.closeSync(1));
  s.on('close', () => process.exit(0));
  s.on('error', () => process.exit(1));
};
if (a[0] === '-l') {
  const srv = net.createServer({ allowHalfOpen: true }, (s) => { srv.close(); join(s); });
  srv.listen(Number(a[1]), '127.0.0.1');
} else join(net.connect({ host: a[0] === 'localhost' ? '127.0.0.1' : a[0], port: Number(a[1]), allowHalfOpen: true }));
`;

void describe('the pipe cheat sheet', { skip }, () => {
  let p: TestPipe;
  let dir = '';
  let inputs = '';
  let bin = '';
  const file = randomBytes(300_000);
  const video = randomBytes(100_000);
  const ran = new Set<string>();

  before(async () => {
    p = await startPipe();
    dir = mkdtempSync(join(tmpdir(), 'burrow-cheatsheet-'));
    inputs = join(dir, 'inputs');
    bin = join(dir, 'bin');
    mkdirSync(join(inputs, 'mydir', 'sub'), { recursive: true });
    mkdirSync(bin);
    writeFileSync(join(inputs, 'myfile'), file);
    writeFileSync(join(inputs, 'input.webm'), video);
    writeFileSync(join(inputs, 'mydir', 'a.txt'), 'first\n');
    writeFileSync(join(inputs, 'mydir', 'sub', 'b.bin'), file.subarray(0, 1000));
    writeFileSync(
      join(bin, 'ffmpeg'),
      '#!/bin/sh\n# ffmpeg stand-in: "encodes" input.webm to stdout\ncat input.webm\n',
    );
    writeFileSync(join(bin, 'nc'), NC);
    chmodSync(join(bin, 'ffmpeg'), 0o755);
    chmodSync(join(bin, 'nc'), 0o755);
  });
  after(async () => {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let n = 0;
  /** Runs one sheet line with bash in a fresh folder (with the inputs for senders); resolves with its output. */
  function sh(line: string, withInputs: boolean): { done: Promise<{ code: number; stdout: Buffer; cwd: string }> } {
    const cwd = join(dir, `run-${n++}`);
    if (withInputs) cpSync(inputs, cwd, { recursive: true });
    else mkdirSync(cwd);
    mkdirSync(join(cwd, '.gnupg'), { mode: 0o700 });
    ran.add(line);
    const child = spawn('bash', ['-c', `set -o pipefail; ${line}`], {
      cwd,
      stdio: ['ignore', 'pipe', 'ignore'], // curl's meter on stderr is noise here
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, GNUPGHOME: join(cwd, '.gnupg') },
    });
    const stdout = readAll(child.stdout);
    return {
      done: once(child, 'close').then(async ([code]) => ({ code: code as number, stdout: await stdout, cwd })),
    };
  }

  const recipes = () => cheatSheetRecipes(p.url, { targetPort: echoPort, localPort });
  let echoPort = 0;
  let localPort = 0;
  const runnable = (lines: readonly string[]) => lines.filter((l) => !l.startsWith('#') && l.includes('curl'));
  const recipe = (title: RegExp) => {
    const r = recipes().find((x) => title.test(x.title));
    assert.ok(r, `no recipe ${String(title)}`);
    return runnable(r.lines);
  };

  void test('help-cheatsheet prints what GET /api/v1/pipe/help serves', async () => {
    const [cli, served] = await Promise.all([
      runPipeCli(['help-cheatsheet', '--server', `${p.url}/api/v1/pipe`]).done,
      fetchText(`${p.url}/api/v1/pipe/help`),
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(served.status, 200);
    assert.equal(served.headers['content-type'], 'text/plain');
    assert.equal(served.text.replace(/ \(burrow [^)]+\)/, ''), cli.stdout.toString().replace(/ \(burrow [^)]+\)/, ''));
    for (const topic of [
      'curl -T myfile',
      '?n=3',
      '?progress',
      '?video',
      'noscript',
      'tar czf',
      'gpg -c',
      'openssl enc',
      'forward-tcp',
    ])
      assert.ok(served.text.includes(topic), `the sheet covers ${topic}`);
  });

  // first: a transfer that ended on mypath stays visible to late watchers for 30 s (docs/pipe.md)
  void test('progress and video lines run beside a transfer; the noscript page answers', async () => {
    const [watch] = recipe(/^Watch a transfer/);
    const w = sh(watch!, false);
    await waitUntil(() => p.handler.stats().spectators === 1, {
      what: `the watcher (${watch} ${JSON.stringify(p.handler.stats())})`,
    });
    const recv = open(`${p.url}/mypath`);
    await fetchText(`${p.url}/mypath`, { method: 'PUT', body: 'watched' });
    assert.equal((await recv.reply).text, 'watched');
    const wr = await w.done;
    assert.equal(wr.code, 0);
    assert.match(wr.stdout.toString(), /event: done\ndata: \{"state":"complete"/);

    const [live] = recipe(/^Live video/);
    const v = sh(live!, true);
    const player = await open(`${p.url}/live?video`).reply; // a player (not a browser) gets the raw stream
    assert.equal((await v.done).code, 0);
    assert.ok(player.body.equals(video));

    const noscript = await fetchText(`${p.url}/noscript?path=mypath`);
    assert.equal(noscript.status, 200);
  });

  void test('send/receive, text, fan-out, tar, gpg, openssl: every curl line runs and the bytes arrive', async () => {
    const [send, recv] = recipe(/^Send a file/);
    const a = await Promise.all([sh(send!, true).done, sh(recv!, false).done]);
    assert.deepEqual(
      a.map((r) => r.code),
      [0, 0],
    );
    assert.ok(readFileSync(join(a[1].cwd, 'myfile')).equals(file));

    const [tsend, trecv] = recipe(/^Send text/);
    const t = await Promise.all([sh(tsend!, true).done, sh(trecv!, false).done]);
    assert.equal(t[1].stdout.toString(), 'hello!\n');

    const [fsend, frecv] = recipe(/^Fan out/);
    const f = await Promise.all([sh(fsend!, true).done, ...[1, 2, 3].map(() => sh(frecv!, false).done)]);
    assert.ok(f.every((r) => r.code === 0));
    for (const r of f.slice(1)) assert.ok(readFileSync(join(r.cwd, 'myfile')).equals(file));

    const [dsend, drecv] = recipe(/^A folder/);
    const d = await Promise.all([sh(dsend!, true).done, sh(drecv!, false).done]);
    assert.deepEqual(
      d.map((r) => r.code),
      [0, 0],
    );
    assert.equal(readFileSync(join(d[1].cwd, 'mydir', 'a.txt'), 'utf8'), 'first\n');
    assert.ok(readFileSync(join(d[1].cwd, 'mydir', 'sub', 'b.bin')).equals(file.subarray(0, 1000)));

    for (const title of [/with gpg/, /with openssl/]) {
      const [esend, erecv] = recipe(title);
      const e = await Promise.all([sh(esend!, true).done, sh(erecv!, false).done]);
      assert.deepEqual(
        e.map((r) => r.code),
        [0, 0],
        String(title),
      );
      assert.ok(readFileSync(join(e[1].cwd, 'myfile')).equals(file), String(title));
    }
  });

  void test('forward-tcp with curl and nc only: a connection goes through both plain lines', async () => {
    const echo = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s)).listen(0, '127.0.0.1');
    await once(echo, 'listening');
    echoPort = (echo.address() as net.AddressInfo).port;
    localPort = await freePort();
    try {
      const [targetSide, listenSide] = recipe(/curl and nc only/);
      const t = sh(targetSide!, false);
      const l = sh(listenSide!, false);
      const data = randomBytes(100_000);
      let got: Buffer | undefined;
      await waitUntil(
        async () => {
          const s = net.connect({ port: localPort, host: '127.0.0.1', allowHalfOpen: true });
          try {
            await once(s, 'connect');
          } catch {
            return false;
          }
          // as an interactive client (SSH) does: send, read the whole echo, then close (a half-close
          // right after sending can end a one-shot nc before the echo is back, under load)
          const chunks: Buffer[] = [];
          let n = 0;
          const echoed = new Promise<void>((resolve) => {
            s.on('data', (c: Buffer) => {
              chunks.push(c);
              n += c.length;
              if (n >= data.length) resolve();
            });
            s.on('close', () => resolve());
          });
          s.write(data);
          // bounded: a chain that never delivers fails the length check below instead of hanging
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([echoed, new Promise<void>((resolve) => (timer = setTimeout(resolve, ECHO_WAIT_MS)))]);
          clearTimeout(timer);
          got = Buffer.concat(chunks);
          s.end();
          return true;
        },
        { what: 'the nc -l side to listen' },
      );
      assert.ok(got!.equals(data), `${got!.length} of ${data.length}`);
      const [tr, lr] = await Promise.all([t.done, l.done]);
      assert.deepEqual([tr.code, lr.code], [0, 0]);
    } finally {
      echo.close();
    }
  });

  void test('every curl line of the sheet was run', () => {
    const all = recipes().flatMap((r) => runnable(r.lines));
    assert.deepEqual(
      all.filter((l) => !ran.has(l)),
      [],
    );
  });
});
