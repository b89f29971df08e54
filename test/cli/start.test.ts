/**
 * `burrow start` (issue 20): the tunnels of a config file over ONE agent connection — two HTTP
 * tunnels and a TCP one, each reached for real through the server — a named subset, every problem
 * of a bad file with its line (exit 2), and `burrow config init` writing a file `burrow config check`
 * passes. Real CLI processes, a real server, real sockets.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliArgs, runCli, type CliProcess } from '../helpers/cli.js';
import { closeHttp, request, startOrigin, startServer } from '../helpers/harness.js';
import { readAll } from '../helpers/net.js';
import { waitUntil } from '../helpers/wait.js';
import { randomRange } from '../e2e/tcp-expose/helpers.js';
import type { BurrowServer } from '../../src/app/server.js';

/** The agent token the file reads from the environment: it must never be printed. */
const TOKEN = 'start-test-token-Zq81xV';

let server: BurrowServer;
let serverUrl = '';
let serverPort = 0;
let web: http.Server;
let api: http.Server;
let echo: net.Server;
let dir = '';
let file = '';
const running: CliProcess[] = [];

/** Run a CLI command to its end (bounded): exit code, stdout, stderr. */
function runToEnd(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, cliArgs(...args), {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const bound = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(bound);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Start `burrow start --json …` and wait for one ready event per expected tunnel. */
async function start(names: string[], expected: string[]): Promise<{ cli: CliProcess; ready: Map<string, Event> }> {
  const cli = runCli(['start', '--json', '--config', file, ...names], { START_TEST_TOKEN: TOKEN, NO_COLOR: '1' });
  running.push(cli);
  const ready = new Map<string, Event>();
  for (const name of expected) {
    const line = await cli.nextLine((l) => l.includes('"event":"ready"') && l.includes(`"tunnel":"${name}"`), 30_000);
    ready.set(name, JSON.parse(line) as Event);
  }
  return { cli, ready };
}

interface Event {
  event: string;
  tunnel: string;
  kind: string;
  url: string;
  name: string;
  tcpAddress?: string;
  inspector?: string;
}

async function stop(cli: CliProcess): Promise<void> {
  cli.child.kill('SIGINT');
  assert.equal(await cli.exited, 0, cli.stderr());
}

async function status(): Promise<{ agents: number; tunnels: number }> {
  const r = await request(serverPort, `127.0.0.1:${serverPort}`, '/api/status');
  return JSON.parse(r.body.toString()) as { agents: number; tunnels: number };
}

void describe('burrow start', () => {
  before(async () => {
    const range = randomRange(20);
    const s = await startServer({ tcpPorts: `${range.from}-${range.to}` });
    [server, serverUrl, serverPort] = [s.server, s.url, s.port];
    const w = await startOrigin((req, res) => res.end(`web says ${req.method} ${req.url}`));
    const a = await startOrigin((req, res) => res.end(`api says ${req.method} ${req.url}`));
    web = w.server;
    api = a.server;
    echo = net.createServer((sock) => sock.pipe(sock)).listen(0, '127.0.0.1');
    await new Promise((r) => echo.once('listening', r));
    const echoPort = (echo.address() as net.AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'burrow-start-'));
    file = join(dir, 'burrow.yml');
    writeFileSync(
      file,
      [
        '# three tunnels, one connection',
        `server: ${serverUrl}`,
        'token: ${START_TEST_TOKEN}',
        'tunnels:',
        `  web: { http: ${w.port}, local-host: 127.0.0.1 }`,
        `  api: { http: "http://127.0.0.1:${a.port}", subdomain: start-test-api }`,
        `  db:  { tcp: ${echoPort}, local-host: 127.0.0.1 }`,
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    for (const c of running) c.child.kill('SIGKILL');
    await server?.close();
    if (web) await closeHttp(web);
    if (api) await closeHttp(api);
    echo?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  void it('opens the 2 http and 1 tcp tunnels of the file over one agent connection, each working', async () => {
    const { cli, ready } = await start([], ['web', 'api', 'db']);
    const [w, a, d] = [ready.get('web')!, ready.get('api')!, ready.get('db')!];
    assert.equal(w.kind, 'http');
    assert.equal(a.kind, 'http');
    assert.equal(d.kind, 'tcp');
    assert.equal(a.name, 'start-test-api', 'the subdomain key reached the server');
    assert.match(
      w.inspector ?? '',
      /^http:\/\/127\.0\.0\.1:\d+$/,
      'the inspector is on by default, as for burrow http',
    );

    // real requests through the two public URLs reach the two origins
    const viaWeb = await request(serverPort, new URL(w.url).host, '/hello?x=1');
    assert.equal(viaWeb.status, 200);
    assert.equal(viaWeb.body.toString(), 'web says GET /hello?x=1');
    const viaApi = await request(serverPort, new URL(a.url).host, '/v1', { method: 'POST', body: 'x' });
    assert.equal(viaApi.body.toString(), 'api says POST /v1');

    // a real TCP connection through the public port reaches the echo service
    const port = Number(new URL(d.tcpAddress!).port);
    const sock = net.connect(port, '127.0.0.1');
    const got = readAll(sock);
    sock.end('ping through the file');
    assert.equal((await got).toString(), 'ping through the file');

    // one agent carries the three tunnels
    const s = await status();
    assert.equal(s.agents, 1, 'one agent connection');
    assert.equal(s.tunnels, 3);

    // --json: one line per event, the file's token nowhere
    for (const line of cli.lines) assert.doesNotThrow(() => JSON.parse(line), line);
    await stop(cli);
    assert.ok(!cli.lines.join('\n').includes(TOKEN) && !cli.stderr().includes(TOKEN), 'the token is never printed');
    await waitUntil(async () => (await status()).agents === 0, { what: 'the agent gone after the stop' });
  });

  void it('starts only the tunnels named on the command line', async () => {
    const { cli, ready } = await start(['db', 'web'], ['web', 'db']);
    assert.deepEqual([...ready.keys()].sort(), ['db', 'web']);
    const s = await status();
    assert.equal(s.agents, 1);
    assert.equal(s.tunnels, 2, 'api was not opened');
    assert.ok(!cli.lines.some((l) => l.includes('"tunnel":"api"')));
    await stop(cli);

    const typo = await runToEnd(['start', '--config', file, 'wbe'], { START_TEST_TOKEN: TOKEN });
    assert.equal(typo.code, 2, typo.stderr);
    assert.match(typo.stderr, /^error: .*no tunnel "wbe" \(did you mean "web"\?\)/m);
    assert.match(typo.stderr, /^fix: .*web, api, db/m);
  });

  void it('reports every problem of a bad file with its line and exits 2, connecting nothing', async () => {
    const bad = join(dir, 'bad.yml');
    writeFileSync(
      bad,
      [
        `server: ${serverUrl}`, // 1
        'tokn: abc', // 2: unknown top-level key
        'tunnels:', // 3
        '  web: { http: 3000, subdomian: myapp }', // 4: unknown key, did you mean
        '  api: { http: 99999 }', // 5: not a port
        '  db: { tcp: 5432, remote-port: 70000 }', // 6: the flag's own parser refuses it
        '  env: { http: "${START_TEST_UNSET_VARIABLE}" }', // 7: unset variable
        '  both: { http: 1, tcp: 2 }', // 8: two kinds
        '  auth: { http: 3000, basic-auth: nocolon, local-https: maybe }', // 9: two bad values
        '',
      ].join('\n'),
    );
    const before = await status();
    const r = await runToEnd(['start', '--config', bad]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '', 'nothing started');
    const problem = (line: number, text: RegExp): void =>
      assert.ok(
        r.stderr.split('\n').some((l) => l.startsWith(`${bad}:${line}:`) && text.test(l)),
        `line ${line} ${text} in:\n${r.stderr}`,
      );
    problem(2, /unknown key "tokn" \(did you mean "token"\?\)/);
    problem(4, /tunnels\.web: unknown key "subdomian" for an http tunnel \(did you mean "subdomain"\?\)/);
    problem(5, /tunnels\.api: .*99999.*1–65535/);
    problem(6, /tunnels\.db\.remote-port: "70000": expected an integer from 1 to 65535/);
    problem(7, /START_TEST_UNSET_VARIABLE is not set/);
    problem(8, /tunnels\.both: one kind per tunnel/);
    problem(9, /tunnels\.auth\.local-https: takes true or false/);
    problem(9, /tunnels\.auth: .*(basic|user:pass|password)/i);
    assert.match(r.stderr, /^error: .*bad\.yml has 8 problems \(listed above\)$/m);
    assert.match(r.stderr, /^code: BURROW_ERR_INVALID_CONFIG$/m);
    const after = await status();
    assert.deepEqual([after.agents, after.tunnels], [before.agents, before.tunnels], 'no agent connected');

    // the same through `burrow config check`
    const c = await runToEnd(['config', 'check', '--config', bad]);
    assert.equal(c.code, 2);
    assert.equal(c.stderr, r.stderr);
  });

  void it('examples/burrow.yml passes burrow config check', async () => {
    const example = new URL('../../examples/burrow.yml', import.meta.url).pathname;
    const r = await runToEnd(['config', 'check', '--config', example], { BURROW_SERVER: '', BURROW_TOKEN: '' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /OK, 5 tunnels/);
  });

  void it('burrow config init writes a commented file that burrow config check passes', async () => {
    const home = mkdtempSync(join(tmpdir(), 'burrow-init-'));
    try {
      const f = join(home, 'burrow.yml');
      // the file's name from BURROW_CONFIG, as every flag's variable
      const init = await runToEnd(['config', 'init'], { BURROW_CONFIG: f });
      assert.equal(init.code, 0, init.stderr);
      assert.match(init.stdout, /wrote .*burrow\.yml/);
      const text = readFileSync(f, 'utf8');
      assert.match(text, /^# /m, 'commented');
      const check = await runToEnd(['config', 'check', '--config', f], { BURROW_TOKEN: '' });
      assert.equal(check.code, 0, check.stderr);
      assert.ok(check.stdout.startsWith(`${f}: OK, 1 tunnel\n  web: http 3000\n`), check.stdout);
      // it does not overwrite a file without --force
      const again = await runToEnd(['config', 'init', '--config', f]);
      assert.equal(again.code, 2);
      assert.match(again.stderr, /^error: .*burrow\.yml exists already/m);
      assert.match(again.stderr, /--force/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
