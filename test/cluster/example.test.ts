/**
 * The cluster example (examples/deploy/cluster/) is what docs/cluster.md shows, byte for byte, and
 * its HAProxy configuration is valid and keeps what a cluster needs. haproxy -c runs when HAProxy
 * is installed; the rest always.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { titledCodeBlocks } from '../deploy/parsers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DIR = join(ROOT, 'examples', 'deploy', 'cluster');
const read = (f: string): string => readFileSync(join(DIR, f), 'utf8');

void test('docs/cluster.md shows every file of examples/deploy/cluster byte for byte', () => {
  const blocks = titledCodeBlocks(readFileSync(join(ROOT, 'docs', 'cluster.md'), 'utf8'));
  const files = readdirSync(DIR).sort();
  assert.deepEqual(files, ['docker-compose.yml', 'haproxy.cfg']);
  for (const f of files) assert.equal(blocks.get(`examples/deploy/cluster/${f}`), read(f), f);
});

void test('the compose file runs three nodes with their own id and address, one secret, Redis and PostgreSQL', () => {
  const compose = read('docker-compose.yml');
  for (const n of [1, 2, 3]) {
    assert.match(compose, new RegExp(`BURROW_NODE_ID: node${n}\\n\\s+BURROW_ADVERTISE_URL: http://node${n}:8080`));
  }
  assert.match(compose, /BURROW_CLUSTER: redis:\/\/redis:6379/);
  assert.match(compose, /BURROW_CLUSTER_SECRET: \$\{BURROW_CLUSTER_SECRET:\?/);
  assert.match(compose, /BURROW_DB: postgres:\/\//);
  assert.match(compose, /stop_grace_period:/);
});

void test('haproxy.cfg: valid (haproxy -c), /readyz checks, WebSocket timeouts, redispatch, one request per node connection', (t) => {
  const cfg = read('haproxy.cfg');
  for (const needle of [
    'option httpchk GET /readyz',
    'timeout tunnel 1h',
    'option redispatch',
    'option http-server-close',
    'balance roundrobin',
  ]) {
    assert.ok(cfg.includes(needle), needle);
  }
  if (spawnSync('sh', ['-c', 'command -v haproxy']).status !== 0) {
    t.skip('haproxy is not installed (apt-get install -y haproxy; .ci/run installs it)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'burrow-haproxy-'));
  try {
    const file = join(dir, 'haproxy.cfg');
    // the compose service names resolve only inside Docker's network
    writeFileSync(file, cfg.replace(/node(\d):8080/g, '127.0.0.1:1808$1'));
    const r = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
