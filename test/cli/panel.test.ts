/**
 * The live status panel (issue 20), driven in a real pseudo-terminal (python3's pty module) and
 * read as a terminal shows it (@xterm/headless interprets the cursor moves): `burrow start` and
 * `burrow http` show the session, the public URL and the inspector URL, and after real requests the
 * counters and the last-requests list change — redrawn in place, not scrolled. With NO_COLOR the
 * panel has no colours; through a pipe the output stays plain lines. Ctrl-C stops it (exit 0) and
 * gives the cursor back.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import xterm from '@xterm/headless';
import { renderUnicodeCompact } from 'uqr';
import { cliArgs, runCli, type CliProcess } from '../helpers/cli.js';
import { closeHttp, request, startOrigin, startServer } from '../helpers/harness.js';
import { freePort } from '../helpers/net.js';
import { waitUntil } from '../helpers/wait.js';
import type { BurrowServer } from '../../src/app/server.js';

const COLS = 120;
const ROWS = 40;
/** How long a screen may take to show what is awaited, on a loaded machine. */
const SCREEN_WAIT_MS = 30_000;
const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * A pseudo-terminal from python3's pty module: the child gets the terminal (COLS × ROWS, set before it
 * starts) as stdin, stdout and stderr; everything it writes is copied to our stdout at once, our stdin
 * is typed into it (Ctrl-C → SIGINT), and the exit status is the child's.
 */
const PTY_PY = `
import os, pty, select, struct, sys, fcntl, termios
cols, rows = int(sys.argv[1]), int(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.execv(sys.argv[3], sys.argv[3:])
watch = [fd, 0]
while True:
    ready = select.select(watch, [], [])[0]
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if not data:
            break
        view = memoryview(data)
        while view:
            view = view[os.write(1, view):]
    if 0 in ready:
        data = os.read(0, 1024)
        if data:
            os.write(fd, data)
        else:
            watch = [fd]
status = os.waitpid(pid, 0)[1]
sys.exit(os.waitstatus_to_exitcode(status))
`;

const NO_PTY =
  spawnSync('python3', ['-c', 'import pty, termios, fcntl']).status === 0
    ? undefined
    : 'python3 with its pty module is missing';

/** A CLI command in a pseudo-terminal of COLS × ROWS, its screen as a terminal shows it. */
interface Pty {
  child: ChildProcessWithoutNullStreams;
  /** Everything written to the terminal, escape sequences included. */
  raw: () => string;
  /** The terminal's lines (scrollback included), trailing blanks cut. */
  screen: () => string[];
  waitFor: (what: string, test: (screen: string) => boolean) => Promise<void>;
  exited: Promise<number | null>;
}

function inPty(args: string[], env: Record<string, string | undefined> = {}): Pty {
  const fullEnv: Record<string, string | undefined> = { ...process.env, TERM: 'xterm-256color', ...env };
  for (const [k, v] of Object.entries(fullEnv)) if (v === undefined) delete fullEnv[k];
  const child = spawn('python3', ['-c', PTY_PY, String(COLS), String(ROWS), process.execPath, ...cliArgs(...args)], {
    cwd: ROOT,
    env: fullEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const term = new xterm.Terminal({ cols: COLS, rows: ROWS, scrollback: 1000, allowProposedApi: true });
  let raw = '';
  child.stdout.on('data', (c: Buffer) => {
    raw += c.toString('utf8');
    term.write(c);
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const screen = (): string[] => {
    const b = term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < b.length; i++) lines.push(b.getLine(i)?.translateToString(true) ?? '');
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines;
  };
  return {
    child,
    raw: () => raw,
    screen,
    exited,
    waitFor: (what, test) =>
      waitUntil(() => test(screen().join('\n')), {
        timeoutMs: SCREEN_WAIT_MS,
        what: () => `${what}; the screen at the deadline:\n${screen().join('\n')}`,
        intervalMs: 20,
      }),
  };
}

/** Ctrl-C typed into the terminal: the command stops cleanly (exit 0). */
async function ctrlC(p: Pty): Promise<void> {
  p.child.stdin.write('\x03');
  assert.equal(await p.exited, 0, p.screen().join('\n'));
}

/** The lines of the panel's "Last requests" list. */
function lastRequests(screen: string): string[] {
  return (screen.split('Last requests\n')[1] ?? '').split('\n').filter((l) => l.startsWith('  '));
}

const SGR = /\x1b\[[0-9;]*m/; // eslint-disable-line no-control-regex -- escape sequences are the point

let server: BurrowServer;
let serverUrl = '';
let serverPort = 0;
let origin: http.Server;
let originPort = 0;
let dir = '';
const running: (Pty | CliProcess)[] = [];

void describe('the status panel', { skip: NO_PTY }, () => {
  before(async () => {
    const s = await startServer();
    [server, serverUrl, serverPort] = [s.server, s.url, s.port];
    const o = await startOrigin((req, res) => {
      res.statusCode = req.url === '/missing' ? 404 : req.method === 'POST' ? 201 : 200;
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    [origin, originPort] = [o.server, o.port];
    dir = mkdtempSync(join(tmpdir(), 'burrow-panel-'));
  });
  after(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await server?.close();
    if (origin) await closeHttp(origin);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  void it('burrow start: URLs and inspector, then counters and the last requests after real requests', async () => {
    const file = join(dir, 'panel.yml');
    writeFileSync(
      file,
      [
        `server: ${serverUrl}`,
        'tunnels:',
        `  web: { http: ${originPort}, local-host: 127.0.0.1, subdomain: panel-web }`,
        `  api: { http: ${originPort}, local-host: 127.0.0.1, subdomain: panel-api, inspect: false }`,
        '',
      ].join('\n'),
    );
    const p = inPty(['start', '--config', file], { NO_COLOR: undefined });
    running.push(p);
    const web = `http://panel-web.localhost:${serverPort}`;
    const api = `http://panel-api.localhost:${serverPort}`;
    await p.waitFor('the panel with both URLs', (s) => /Session +online/.test(s) && s.includes(web) && s.includes(api));
    const screen = p.screen().join('\n');
    assert.match(screen, /^Forwarding +web +http:\/\/panel-web\.localhost:\d+ -> http:\/\/127\.0\.0\.1:\d+$/m);
    assert.match(screen, /^ +api +http:\/\/panel-api\.localhost:\d+ -> /m);
    assert.match(screen, /^Inspector +http:\/\/127\.0\.0\.1:\d+$/m, 'the inspector URL');
    assert.match(screen, /^Requests +0 total/m);
    assert.ok(SGR.test(p.raw()), 'colours on a terminal without NO_COLOR');

    // requests through both tunnels: web's counted by its inspector, api's by the server's events
    assert.equal((await request(serverPort, `panel-web.localhost:${serverPort}`, '/first')).status, 200);
    assert.equal(
      (await request(serverPort, `panel-api.localhost:${serverPort}`, '/second', { method: 'POST', body: 'x' })).status,
      201,
    );
    assert.equal((await request(serverPort, `panel-web.localhost:${serverPort}`, '/missing')).status, 404);
    await p.waitFor(
      '3 requests and their 3 connections, closed',
      (s) => /^Requests +3 total/m.test(s) && /^Connections +3 total +0 open/m.test(s),
    );
    const after = p.screen().join('\n');
    const rows = lastRequests(after);
    assert.equal(rows.length, 3, rows.join('\n'));
    assert.match(rows[0]!, /^ {2}GET +\/missing +404 +[\d.]+ ms +web$/, 'newest first');
    assert.match(rows[1]!, /^ {2}POST +\/second +201 +[\d.]+ ms +api$/);
    assert.match(rows[2]!, /^ {2}GET +\/first +200 +[\d.]+ ms +web$/);
    // redrawn in place: one panel on the screen, not one per update
    assert.equal(after.split('Last requests').length - 1, 1, after);

    await ctrlC(p);
    assert.ok(p.raw().endsWith('\x1b[?25h'), 'the cursor is shown again');
    assert.match(p.screen().join('\n'), /Session +closed/);
  });

  void it('burrow http with NO_COLOR: the same panel, no colours', async () => {
    const p = inPty(
      ['http', String(originPort), '--server', serverUrl, '--local-host', '127.0.0.1', '--subdomain', 'panel-nocolor'],
      {
        NO_COLOR: '1',
      },
    );
    running.push(p);
    await p.waitFor('the panel', (s) => /Session +online/.test(s) && /^Inspector +http:\/\/127\.0\.0\.1:\d+$/m.test(s));
    assert.match(p.screen().join('\n'), /^Forwarding +http:\/\/panel-nocolor\.localhost:\d+ -> /m);
    await request(serverPort, `panel-nocolor.localhost:${serverPort}`, '/plain');
    await p.waitFor('the request listed', (s) => lastRequests(s).some((l) => /GET +\/plain +200/.test(l)));
    assert.match(p.screen().join('\n'), /^Requests +1 total/m);
    assert.doesNotMatch(p.raw(), SGR, 'no colour sequence with NO_COLOR');
    await ctrlC(p);
  });

  void it('the session line follows the connection: latency, reconnecting in Ns, online again', async () => {
    // a server of its own, stopped and started again on the same port
    const port = await freePort();
    let own = await startServer({ port });
    const p = inPty(['http', String(originPort), '--server', own.url, '--local-host', '127.0.0.1'], {
      NO_COLOR: '1',
    });
    running.push(p);
    try {
      await p.waitFor('the panel', (s) => /Session +online/.test(s));
      // the first heartbeat PING is answered DEFAULT_PING_INTERVAL_MS (10 s) after connecting
      await p.waitFor('the server latency', (s) => /^Latency +\d+ ms$/m.test(s));
      await own.server.close();
      await p.waitFor('reconnecting', (s) => /^Session +reconnecting in \d+s \(attempt \d+: .+\)/m.test(s));
      own = await startServer({ port });
      await p.waitFor('online again', (s) => /^Session +online$/m.test(s));
      await ctrlC(p);
    } finally {
      await own.server.close();
    }
  });

  void it('through a pipe: plain lines, no panel and no escape sequences', async () => {
    const cli = runCli(
      ['http', String(originPort), '--server', serverUrl, '--local-host', '127.0.0.1', '--print-requests'],
      {
        NO_COLOR: '',
      },
    );
    running.push(cli);
    const ready = await cli.nextLine((l) => l.startsWith('Forwarding '), SCREEN_WAIT_MS);
    const host = new URL(/^Forwarding (\S+)/.exec(ready)![1]!).host;
    await request(serverPort, host, '/piped');
    await cli.nextLine((l) => /^GET \/piped 200 /.test(l), SCREEN_WAIT_MS);
    cli.child.kill('SIGINT');
    assert.equal(await cli.exited, 0, cli.stderr());
    const out = cli.lines.join('\n');
    assert.doesNotMatch(out, /\x1b/, 'no escape sequence in a pipe'); // eslint-disable-line no-control-regex
    assert.doesNotMatch(out, /Last requests|Session/, 'no panel');
    assert.deepEqual(
      cli.lines.map((l) => l.split(' ')[0]),
      ['connecting', 'Forwarding', 'Inspector', 'GET'],
    );
  });

  void it('--qr prints a QR code of the public URL (not with --json)', async () => {
    const args = ['http', String(originPort), '--server', serverUrl, '--local-host', '127.0.0.1', '--qr'];
    const cli = runCli(args);
    running.push(cli);
    const ready = await cli.nextLine((l) => l.startsWith('Forwarding '), SCREEN_WAIT_MS);
    const url = /^Forwarding (\S+)/.exec(ready)![1]!;
    const code = renderUnicodeCompact(url, { border: 1 }).split('\n');
    await cli.nextLine((l) => l === code[code.length - 1], SCREEN_WAIT_MS);
    const at = cli.lines.indexOf(url);
    assert.ok(at > 0, `the URL above its code: ${cli.lines.join('\n')}`);
    assert.deepEqual(cli.lines.slice(at + 1, at + 1 + code.length), code, 'the code of that URL');
    assert.ok(code.length > 10 && code.every((l) => /^[█▀▄ ]+$/.test(l)), 'block characters, two modules a cell');
    cli.child.kill('SIGINT');
    assert.equal(await cli.exited, 0, cli.stderr());

    const json = runCli([...args, '--json']);
    running.push(json);
    await json.nextLine((l) => l.includes('"event":"ready"'), SCREEN_WAIT_MS);
    json.child.kill('SIGINT');
    assert.equal(await json.exited, 0, json.stderr());
    for (const l of json.lines) assert.doesNotThrow(() => JSON.parse(l), `only JSON lines: ${l}`);
  });
});
