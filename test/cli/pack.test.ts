/**
 * The package as a user installs it (issue 15): `npm pack`, install the tarball into an empty folder
 * with `--omit=optional` (no SQLite compiled), then `burrow --version`, `burrow http` against a test
 * server, the README's SDK snippet, and `burrow server` naming the missing driver. Prints the install
 * time and the `--version` start time. Skipped, saying why, when npm cannot install (offline).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { freePort } from '../helpers/net.js';
import { waitUntil } from '../helpers/wait.js';
import { assertCleanFailure, NOT_BUILT, ROOT, startCli, type Running } from './dist.js';

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** A fresh install of the runtime dependencies from the registry: generous, it is the network. */
const INSTALL_TIMEOUT_MS = 180_000;

const dir = mkdtempSync(join(tmpdir(), 'burrow-pack-'));
const app = join(dir, 'app');
let installed: string | undefined; // the reason to skip, when the install failed
let server: Running;
let serverUrl = '';

function bin(): string {
  return join(app, 'node_modules', '.bin', 'burrow');
}

function runInstalled(
  args: string[],
  boundMs = 15_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const child = spawn(bin(), args, { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const bound = setTimeout(() => child.kill('SIGKILL'), boundMs);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(bound);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    }),
  );
}

void describe('the packed package', { skip: NOT_BUILT, timeout: INSTALL_TIMEOUT_MS + 60_000 }, () => {
  before(async () => {
    await run(NPM, ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, timeout: 60_000 });
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack made no tarball');
    assert.match(tarball, /^burrow-tunnel-/);
    const started = performance.now();
    try {
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
      await run(
        NPM,
        [
          'install',
          '--omit=optional',
          '--prefer-offline',
          '--no-audit',
          '--no-fund',
          '--ignore-scripts',
          join(dir, tarball),
        ],
        { cwd: app, timeout: INSTALL_TIMEOUT_MS },
      );
      console.log(`# npm install --omit=optional of the tarball: ${Math.round(performance.now() - started)} ms`);
    } catch (err) {
      installed = `npm could not install the tarball (offline?): ${(err as Error).message.split('\n')[0]}`;
      return;
    }
    const port = await freePort();
    server = startCli(
      ['server', '--port', String(port), '--address', '127.0.0.1', '--db', 'sqlite::memory:', '--log-level', 'warn'],
      { boundMs: INSTALL_TIMEOUT_MS },
    );
    serverUrl = `http://127.0.0.1:${port}`;
    await waitUntil(() => server.stderr().includes('listening on'), { timeoutMs: 20_000, what: 'the test server' });
  });
  after(() => {
    server?.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  void it('installs without the database drivers and says its version quickly', async (t) => {
    if (installed) return t.skip(installed);
    assert.equal(existsSync(join(app, 'node_modules', 'better-sqlite3')), false, 'better-sqlite3 was installed');
    assert.equal(existsSync(join(app, 'node_modules', 'pg')), false, 'pg was installed');
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const r = await runInstalled(['--version']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^\d+\.\d+\.\d+/);
      best = Math.min(best, r.ms);
    }
    console.log(`# burrow --version from the install: ${Math.round(best)} ms (best of 3)`);
  });

  void it('burrow http reaches a test server and stops with exit 0', async (t) => {
    if (installed) return t.skip(installed);
    const child = spawn(bin(), ['http', '3000', '--server', serverUrl, '--json'], {
      cwd: app,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await waitUntil(() => out.includes('"event":"ready"'), { timeoutMs: 15_000, what: `ready (stderr: ${err})` });
    child.kill('SIGINT');
    assert.equal(await exited, 0, err);
  });

  void it("the README's SDK snippet runs from the installed package", async (t) => {
    if (installed) return t.skip(installed);
    const snippet = join(app, 'snippet.mjs');
    writeFileSync(
      snippet,
      [
        "import { openTunnel } from 'burrow-tunnel';",
        "import { createServer } from 'burrow-tunnel/server';",
        "import { pipe } from 'burrow-tunnel/pipe';",
        "if (typeof createServer !== 'function' || typeof pipe !== 'object') throw new Error('exports');",
        `const tunnel = await openTunnel({ port: 3000, server: '${serverUrl}', subdomain: 'my-app' });`,
        'console.log(tunnel.url);',
        'tunnel.close();',
        'await tunnel.whenClosed();',
      ].join('\n'),
    );
    const { stdout } = await run(process.execPath, [snippet], { cwd: app, timeout: 15_000 });
    assert.match(stdout, /^http:\/\/my-app\.localhost:\d+/);
  });

  void it('burrow server without the SQLite driver names the package to install', async (t) => {
    if (installed) return t.skip(installed);
    const r = await runInstalled(['server', '--port', '0', '--db', 'sqlite::memory:']);
    assertCleanFailure(r, 1, /BURROW_ERR_STORE/, 'no better-sqlite3');
    assert.match(r.stderr, /better-sqlite3/);
  });
});
