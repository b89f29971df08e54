/**
 * burrow.yml read in-process (issue 20): ${ENV} with defaults and escapes, values through the flags'
 * own parsers (lists, on/off, --no- forms), YAML anchors, every problem with its line and column, the
 * bounds (MAX_TUNNELS_PER_SESSION, MAX_CONFIG_FILE_BYTES), the did-you-mean.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigFileError, loadConfigFile, parseConfigFile } from '../../src/cli/config-file/load.js';
import { MAX_CONFIG_FILE_BYTES } from '../../src/cli/config-file/limits.js';
import { interpolate } from '../../src/cli/config-file/interpolate.js';
import { closest } from '../../src/cli/config-file/suggest.js';
import { MAX_TUNNELS_PER_SESSION } from '../../src/wire/mux/limits.js';

/** The problems of a text as `line:col: message`. */
async function problems(text: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  try {
    await parseConfigFile(text, 'f.yml', { env });
  } catch (err) {
    if (err instanceof ConfigFileError) return err.lines().map((l) => l.replace(/^f\.yml:/, ''));
    throw err;
  }
  assert.fail('no problem found');
}

test('${NAME}, ${NAME:-default} and $${ in values', () => {
  const env = { PORT: '3000', EMPTY: '' };
  assert.deepEqual(interpolate('${PORT}', env), { value: '3000', problems: [] });
  assert.deepEqual(interpolate('x${EMPTY:-8080}y', env), { value: 'x8080y', problems: [] });
  assert.deepEqual(interpolate('${UNSET:-}', env), { value: '', problems: [] });
  assert.deepEqual(interpolate('cost: $${PORT}', env), { value: 'cost: ${PORT}', problems: [] });
  assert.match(interpolate('${UNSET}', env).problems[0]!, /UNSET is not set/);
  assert.match(interpolate('${not a name}', env).problems[0]!, /not a variable reference/);
});

test('did-you-mean finds typos, not unrelated words', () => {
  const keys = ['subdomain', 'basic-auth', 'allow-ip', 'local-https', 'inspect'];
  assert.equal(closest('subdomian', keys), 'subdomain');
  assert.equal(closest('basic_auth', keys), 'basic-auth');
  assert.equal(closest('allowip', keys), 'allow-ip');
  assert.equal(closest('colour', keys), undefined);
});

test('values go through the flags: lists, on/off, the --no- forms, anchors', async () => {
  const ok = await parseConfigFile(
    [
      'server: ${SERVER:-tunnels.example.com:8443}',
      'token: ${TOKEN}',
      'tunnels:',
      '  web:',
      '    http: ${WEB_PORT}',
      '    allow-ip: &nets [10.0.0.0/8, 192.168.0.0/16]',
      '    local-https: true',
      '    inspect: false',
      '  other: { http: 3001, deny-ip: *nets, inspect: true }',
      '  api: { http: "http://127.0.0.1:8000", inspect: "127.0.0.1:0", inspect-keep: 20 }',
      '  db: { tcp: 5432, public-port: false }',
    ].join('\n'),
    'f.yml',
    { env: { TOKEN: 's3cret', WEB_PORT: '3000' } },
  );
  assert.equal(ok.server, 'http://tunnels.example.com:8443');
  assert.equal(ok.token, 's3cret');
  assert.deepEqual(
    ok.tunnels.map((t) => [t.name, t.kind, t.target]),
    [
      ['web', 'http', '3000'],
      ['other', 'http', '3001'],
      ['api', 'http', 'http://127.0.0.1:8000'],
      ['db', 'tcp', '5432'],
    ],
  );
  const [web, other, api, db] = ok.tunnels.map((t) => t.entry.options as Record<string, unknown>);
  assert.deepEqual(web!['access'], { allowIps: ['10.0.0.0/8', '192.168.0.0/16'] });
  assert.equal(web!['localHttps'], true);
  assert.equal(web!['inspect'], undefined, 'inspect: false is --no-inspect');
  assert.deepEqual(other!['access'], { denyIps: ['10.0.0.0/8', '192.168.0.0/16'] });
  assert.deepEqual(other!['inspect'], {}, 'inspect: true is the default inspector');
  assert.deepEqual(api!['inspect'], { host: '127.0.0.1', port: 0, keep: 20 });
  assert.equal(db!['publicPort'], false, 'public-port: false is --no-public-port');
  assert.equal(db!['server'], undefined, 'the connection settings are the group’s');
  assert.equal(db!['token'], undefined);
});

test('each problem has its line and column, YAML errors included', async () => {
  assert.deepEqual(await problems('tunnels:\n  web: { http: 1 }\n  web: { http: 2 }\n'), [
    '3:3: YAML: Map keys must be unique',
  ]);
  assert.deepEqual(await problems('server: 1\n'), ['1:1: no `tunnels:` — the file lists its tunnels under `tunnels:`']);
  assert.deepEqual(await problems('http: 3000\ntunnels: {}\n'), [
    '1:1: unknown key "http" (tunnels go under `tunnels:`, each with a name); the file\'s keys are server, token, tunnels',
    '2:10: `tunnels:` must map names to tunnels, e.g. `web: { http: 3000 }`',
  ]);
  assert.deepEqual(
    await problems('tunnels:\n  web:\n    http: 3000\n    allow-ip: { a: 1 }\n    rate-limit: [1, 2]\n'),
    [
      '4:15: tunnels.web.allow-ip: takes a value, not a mapping',
      '5:17: tunnels.web.rate-limit: takes one value, not a list',
    ],
  );
  assert.deepEqual(await problems('tunnels:\n  db: { tcp: 22, json: true, protocol: burrow }\n'), [
    '2:18: tunnels.db: "json" is not a key of a tunnel: --json is a flag of `burrow start` itself',
    '2:30: tunnels.db: "protocol" is not a key of a tunnel: burrow start speaks burrow\'s own protocol (`burrow http --protocol localtunnel` runs on its own)',
  ]);
});

test(`at most MAX_TUNNELS_PER_SESSION (${MAX_TUNNELS_PER_SESSION}) tunnels; files over MAX_CONFIG_FILE_BYTES are refused`, async () => {
  const many = Array.from({ length: MAX_TUNNELS_PER_SESSION + 1 }, (_, i) => `  t${i}: { tcp: ${1000 + i} }`);
  const p = await problems(`tunnels:\n${many.join('\n')}\n`);
  assert.equal(p.length, 1);
  assert.match(p[0]!, /^2:3: 65 tunnels: one connection carries at most MAX_TUNNELS_PER_SESSION \(64\)$/);

  const dir = mkdtempSync(join(tmpdir(), 'burrow-config-'));
  try {
    const big = join(dir, 'big.yml');
    writeFileSync(big, `# ${'x'.repeat(MAX_CONFIG_FILE_BYTES)}\n`);
    await assert.rejects(loadConfigFile(big), /larger than MAX_CONFIG_FILE_BYTES/);
    await assert.rejects(
      loadConfigFile(join(dir, 'none.yml')),
      /cannot read the config file .*none\.yml: no such file/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
