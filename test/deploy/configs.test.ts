/**
 * The deployment examples parse, say what docs/deployment.md says (byte for byte), and keep the
 * properties burrow needs (WebSocket upgrade, no buffering, long timeouts, X-Forwarded-*,
 * non-root, hardening). nginx and systemd-analyze are used when installed; otherwise those
 * checks skip with a message and the structural checks still run.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSignedCert } from '../helpers/tls.js';
import {
  checkCaddyfile,
  checkNginxStructure,
  parseDockerfile,
  parseTomlish,
  parseUnit,
  titledCodeBlocks,
  unitValues,
} from './parsers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DEPLOY = join(ROOT, 'examples', 'deploy');
const read = (name: string): string => readFileSync(join(DEPLOY, name), 'utf8');

/** Server flags the examples may use (the `burrow server` surface). */
const SERVER_FLAGS = new Set([
  '--port',
  '--address',
  '--domain',
  '--secure',
  '--trust-proxy',
  '--public-url',
  '--db',
  '--tunnel-port',
  '--pipe-host',
]);

function commandExists(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function assertNoProblems(problems: string[], what: string): void {
  assert.deepEqual(problems, [], `${what}:\n  ${problems.join('\n  ')}`);
}

function burrowFlags(commandLine: string): string[] {
  return commandLine.split(/\s+/).filter((w) => w.startsWith('--'));
}

void describe('deployment examples', () => {
  void test('docs/deployment.md shows every file in examples/deploy byte for byte', () => {
    const blocks = titledCodeBlocks(readFileSync(join(ROOT, 'docs', 'deployment.md'), 'utf8'));
    // files only: examples/deploy/cluster/ is docs/cluster.md's (test/cluster/example.test.ts)
    const files = readdirSync(DEPLOY, { withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name)
      .sort();
    assert.deepEqual(files, ['Caddyfile', 'Dockerfile', 'burrow.service', 'fly.toml', 'nginx.conf']);
    for (const f of files) {
      const block = blocks.get(`examples/deploy/${f}`);
      assert.ok(block !== undefined, `docs/deployment.md has no block titled examples/deploy/${f}`);
      assert.equal(block, read(f), `docs/deployment.md's copy of ${f} differs from the file`);
    }
    assert.deepEqual([...blocks.keys()].sort(), files.map((f) => `examples/deploy/${f}`).sort(), 'no stale blocks');
  });

  void test('nginx.conf: structure and the settings burrow needs', () => {
    const conf = read('nginx.conf');
    assertNoProblems(checkNginxStructure(conf), 'nginx.conf');
    for (const needle of [
      'server_name example.com *.example.com;',
      'proxy_http_version 1.1;',
      'proxy_set_header Upgrade           $http_upgrade;',
      'proxy_set_header Connection        $connection_upgrade;',
      'proxy_set_header Host              $host;',
      'proxy_set_header X-Forwarded-For   $proxy_add_x_forwarded_for;',
      'proxy_set_header X-Forwarded-Proto $scheme;',
      'proxy_buffering off;',
      'proxy_request_buffering off;',
      'proxy_read_timeout 24h;',
      'client_max_body_size 0;',
      '--trust-proxy',
    ]) {
      assert.ok(conf.includes(needle), `nginx.conf lacks ${needle}`);
    }
  });

  void test('nginx.conf: nginx -t accepts it', (t) => {
    if (!commandExists('nginx')) {
      t.skip('nginx is not installed (apt-get install -y nginx-light): only the structural check ran');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'burrow-nginx-'));
    try {
      // nginx -t loads the certificates: substitute a throwaway self-signed pair, and a private pid file.
      const { cert, key } = selfSignedCert(dir, 'example.com');
      const conf = read('nginx.conf')
        .replace('/etc/letsencrypt/live/example.com/fullchain.pem', cert)
        .replace('/etc/letsencrypt/live/example.com/privkey.pem', key)
        .replace('pid /run/nginx.pid;', `pid ${join(dir, 'nginx.pid')};`);
      writeFileSync(join(dir, 'nginx.conf'), conf);
      const r = spawnSync(
        'nginx',
        ['-t', '-q', '-c', join(dir, 'nginx.conf'), '-p', `${dir}/`, '-e', join(dir, 'error.log')],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, `nginx -t failed:\n${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void test('Caddyfile: balanced braces, known directives, wildcard via DNS-01, streaming', () => {
    const caddy = read('Caddyfile');
    assertNoProblems(checkCaddyfile(caddy), 'Caddyfile');
    assert.match(caddy, /^example\.com, \*\.example\.com \{$/m);
    assert.match(caddy, /^\t\tdns \S+/m, 'wildcard certificates need a dns challenge');
    assert.match(caddy, /^\treverse_proxy 127\.0\.0\.1:8080 \{$/m);
    assert.match(caddy, /^\t\tflush_interval -1$/m);
    // The checker itself rejects what it should.
    assert.notDeepEqual(checkCaddyfile('example.com {\n\treverse_proxi x\n}\n'), []);
    assert.notDeepEqual(checkCaddyfile('example.com {\n\treverse_proxy x {\n}\n'), []);
  });

  void test('burrow.service: systemd unit with the server command, a non-root user and hardening', (t) => {
    const unit = read('burrow.service');
    const { ini, problems } = parseUnit(unit);
    assertNoProblems(problems, 'burrow.service');
    assert.deepEqual([...ini.keys()], ['Unit', 'Service', 'Install']);
    const execStart = unitValues(ini, 'Service', 'ExecStart');
    assert.equal(execStart.length, 1);
    assert.match(execStart[0]!, /^\/usr\/local\/bin\/burrow server --port 8080 /);
    for (const flag of ['--domain', '--trust-proxy', '--secure']) assert.ok(execStart[0]!.includes(flag), flag);
    for (const flag of burrowFlags(execStart[0]!)) assert.ok(SERVER_FLAGS.has(flag), `unknown server flag ${flag}`);
    const user = unitValues(ini, 'Service', 'User')[0];
    assert.ok(user !== undefined && user !== 'root' && user !== '0', 'runs as a non-root user');
    for (const [key, value] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['CapabilityBoundingSet', ''],
      ['Restart', 'on-failure'],
    ] as const) {
      assert.deepEqual(unitValues(ini, 'Service', key), [value], `${key}=${value}`);
    }
    assert.deepEqual(unitValues(ini, 'Install', 'WantedBy'), ['multi-user.target']);
    assert.deepEqual(unitValues(ini, 'Service', 'MemoryDenyWriteExecute'), [], 'V8 needs W+X pages');

    if (!commandExists('systemd-analyze')) {
      t.skip('systemd-analyze is not installed: only the INI checks ran');
      return;
    }
    // verify insists that ExecStart's program exists: point it at a stub, keep every argument.
    const dir = mkdtempSync(join(tmpdir(), 'burrow-unit-'));
    try {
      const stub = join(dir, 'burrow');
      writeFileSync(stub, '#!/bin/sh\n');
      chmodSync(stub, 0o755);
      writeFileSync(
        join(dir, 'burrow.service'),
        unit.replace('ExecStart=/usr/local/bin/burrow ', `ExecStart=${stub} `),
      );
      const r = spawnSync('systemd-analyze', ['verify', join(dir, 'burrow.service')], { encoding: 'utf8' });
      const output = `${r.stdout}${r.stderr}`.trim();
      assert.equal(r.status, 0, `systemd-analyze verify failed:\n${output}`);
      assert.equal(output, '', `systemd-analyze verify warned:\n${output}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void test('Dockerfile: multi-stage from node:20-slim, non-root, an entrypoint', () => {
    const { instructions, problems } = parseDockerfile(read('Dockerfile'));
    assertNoProblems(problems, 'Dockerfile');
    const froms = instructions.filter((i) => i.op === 'FROM');
    assert.equal(froms.length, 2, 'two stages');
    assert.match(froms[0]!.args, /^node:20-slim AS build$/i);
    assert.match(froms[1]!.args, /^node:20-slim$/);
    const finalStage = instructions.slice(instructions.indexOf(froms[1]!));
    assert.ok(
      finalStage.some((i) => i.op === 'COPY' && i.args.startsWith('--from=build ')),
      'copies from the build stage',
    );
    const users = finalStage.filter((i) => i.op === 'USER').map((i) => i.args.trim());
    assert.ok(users.length > 0 && !['root', '0'].includes(users.at(-1)!), 'the final stage runs as a non-root user');
    const start = finalStage.filter((i) => i.op === 'ENTRYPOINT' || i.op === 'CMD');
    assert.ok(start.length > 0, 'CMD or ENTRYPOINT');
    for (const s of start) {
      const argv = JSON.parse(s.args) as unknown;
      assert.ok(Array.isArray(argv) && argv.every((a) => typeof a === 'string'), `${s.op} uses the exec (JSON) form`);
      for (const flag of burrowFlags(argv.join(' '))) assert.ok(SERVER_FLAGS.has(flag), `unknown server flag ${flag}`);
    }
    assert.ok(finalStage.some((i) => i.op === 'EXPOSE' && i.args.trim() === '8080'));
    assert.notDeepEqual(parseDockerfile('FORM node\n').problems, [], 'the checker rejects unknown instructions');
  });

  void test('fly.toml: parses, one internal port matching the image, health check, volume', () => {
    const { tables, problems } = parseTomlish(read('fly.toml'));
    assertNoProblems(problems, 'fly.toml');
    assert.ok((tables.get('')?.get('app') ?? '') !== '', 'app is set');
    const dockerfile = tables.get('build')?.get('dockerfile');
    assert.equal(dockerfile, 'examples/deploy/Dockerfile');
    readFileSync(join(ROOT, dockerfile)); // exists
    const http = tables.get('http_service');
    assert.equal(http?.get('internal_port'), '8080');
    assert.equal(http?.get('force_https'), 'true');
    assert.equal(tables.get('http_service.checks#0')?.get('path'), '/healthz');
    assert.equal(tables.get('mounts#0')?.get('destination'), '/data');
    assert.equal(tables.get('env')?.get('BURROW_TRUST_PROXY'), 'true');
    assert.notDeepEqual(parseTomlish('a = b c\n').problems, [], 'the checker rejects bad values');
  });
});
