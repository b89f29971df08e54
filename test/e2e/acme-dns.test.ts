/**
 * A wildcard certificate through DNS-01 (--acme-dns-hook, issue 18) against a real ACME server:
 * pebble validates the `_acme-challenge` TXT record on pebble-challtestsrv, and the hook is a shell
 * script that sets and clears it through challtestsrv's management API with curl — as an operator's
 * hook would at their DNS provider. Skipped with a message where pebble or curl is missing.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import tls from 'node:tls';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type BurrowServer } from '../../src/server/server.js';
import { resolveAcmeConfig } from '../../src/server/tls/options.js';
import { runDnsHook } from '../../src/server/tls/dns-hook.js';
import { waitUntil } from '../helpers/wait.js';
import { acmeEvents as events, handshake as tlsHandshake, pebbleMissing, portOf, pebbleSuite } from './acme-pebble.js';

const handshake = (s: BurrowServer, servername: string): Promise<tls.PeerCertificate> =>
  tlsHandshake(s, servername, p.root);

const DOMAIN = 'dns.test';
const missing =
  pebbleMissing() ??
  (spawnSync('sh', ['-c', 'command -v curl']).status === 0
    ? undefined
    : 'curl is not installed (the DNS hook uses it)');
const skip = missing ? { skip: missing } : {};

let hookLog: string;

/** The operator's hook: `hook set|clear RECORD VALUE`, here against challtestsrv's API. */
const HOOK = `#!/bin/sh
set -e
echo "$1 $2" >> "$HOOK_LOG"
[ "$BURROW_ACME_RECORD" = "$2" ] && [ "$BURROW_ACME_VALUE" = "$3" ] || { echo "env and arguments differ" >&2; exit 9; }
case "$1" in
  set) curl -fsS -X POST -d "{\\"host\\":\\"$2.\\",\\"value\\":\\"$3\\"}" "$CTS/set-txt" ;;
  clear) curl -fsS -X POST -d "{\\"host\\":\\"$2.\\"}" "$CTS/clear-txt" ;;
  *) echo "unknown action $1" >&2; exit 2 ;;
esac
`;

const p = pebbleSuite('burrow-acme-dns-', missing, (s) => {
  hookLog = join(s.work, 'hook.log');
  writeFileSync(join(s.work, 'hook.sh'), HOOK);
  chmodSync(join(s.work, 'hook.sh'), 0o755);
  process.env.HOOK_LOG = hookLog;
  process.env.CTS = s.pebble.challengeServer;
});

async function startDnsServer(ctx: TestContext, dir: string, dnsHook = join(p.work, 'hook.sh')): Promise<BurrowServer> {
  const server = createServer({
    port: 0,
    address: '127.0.0.1',
    domains: [DOMAIN],
    logLevel: 'silent',
    processMetrics: false,
    acme: {
      email: 'ops@example.com',
      directoryUrl: p.pebble.directoryUrl,
      directoryCa: p.pebble.directoryCa,
      dir,
      httpPort: 0,
      dnsHook,
    },
  });
  ctx.after(() => server.close());
  await server.listen();
  return server;
}

void test(
  'with --acme-dns-hook, a wildcard *.<domain> is obtained at start through DNS-01 and serves every name under it',
  skip,
  async (ctx) => {
    const dir = join(p.work, 'wildcard');
    const s = await startDnsServer(ctx, dir);
    // ordered at start, before any visit: the hook set the record, then cleared it
    await waitUntil(() => existsSync(join(dir, 'certificates', `_wildcard.${DOMAIN}.crt`)), {
      timeoutMs: 30_000,
      what: 'the wildcard certificate to be stored',
    });
    assert.deepEqual(readFileSync(hookLog, 'utf8').trim().split('\n'), [
      `set _acme-challenge.${DOMAIN}`,
      `clear _acme-challenge.${DOMAIN}`,
    ]);
    // any one-label name (a tunnel, a port-addressed hostname, a name no tunnel holds) gets it: no gate,
    // no per-name order; TLS itself checks that the wildcard matches the name
    const a = await handshake(s, `myapp.${DOMAIN}`);
    assert.equal(a.subject.CN, `*.${DOMAIN}`);
    assert.match(a.subjectaltname ?? '', /DNS:\*\.dns\.test/);
    const b = await handshake(s, `other-http-8080.${DOMAIN}`);
    assert.equal(b.serialNumber, a.serialNumber);
    const e = await events(s);
    assert.equal(e.issued, 1);
    assert.equal(e.refused ?? 0, 0);
    // a name two labels down is not covered by the wildcard: the ordinary gate refuses it
    await assert.rejects(handshake(s, `a.b.${DOMAIN}`));
    assert.equal((await events(s)).refused, 1);

    // a restart loads the stored wildcard: no new order, no hook call
    await s.close();
    const before = readFileSync(hookLog, 'utf8');
    const again = await startDnsServer(ctx, dir);
    assert.equal((await handshake(again, `third.${DOMAIN}`)).serialNumber, a.serialNumber);
    assert.equal((await events(again)).issued ?? 0, 0);
    assert.equal(readFileSync(hookLog, 'utf8'), before);
  },
);

void test(
  'a failing hook fails the order with its exit status and output, and the server goes on',
  skip,
  async (ctx) => {
    const bad = join(p.work, 'bad-hook.sh');
    writeFileSync(bad, '#!/bin/sh\necho "provider said: invalid API token" >&2\nexit 3\n');
    chmodSync(bad, 0o755);
    const s = await startDnsServer(ctx, join(p.work, 'bad'), bad);
    await waitUntil(async () => ((await events(s)).failed ?? 0) === 1, {
      timeoutMs: 30_000,
      what: 'the failed order to be counted',
    });
    await assert.rejects(handshake(s, `myapp.${DOMAIN}`));
    assert.equal(s.shuttingDown, false);
    const r = await fetch(`https://127.0.0.1:${portOf(s)}/healthz`).catch((err: unknown) => err);
    // the server is up (the fetch fails on the certificate, not on a closed port)
    assert.ok(r instanceof Error && !/ECONNREFUSED/.test(String((r as Error & { cause?: unknown }).cause)));
  },
);

void test('--acme-dns-hook must be a command', () => {
  const problems: string[] = [];
  resolveAcmeConfig({ email: 'ops@example.com', dnsHook: '   ' }, problems);
  assert.deepEqual(problems, ['--acme-dns-hook must be a command (it is run as `CMD set|clear RECORD VALUE`)']);
});

void test('the example hooks in examples/acme-dns/ are valid shell', () => {
  for (const f of ['cloudflare.sh', 'route53.sh']) {
    const r = spawnSync('sh', ['-n', join('examples', 'acme-dns', f)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${f}: ${r.stderr}`);
  }
});

void test('a failed hook call says which call, how it failed and the end of its output', async () => {
  await runDnsHook(
    'test "$BURROW_ACME_ACTION $1 $2 $3" = "set set _acme-challenge.x.test v" && true',
    'set',
    '_acme-challenge.x.test',
    'v',
  );
  await assert.rejects(
    runDnsHook('echo "provider said: no" >&2; exit 3', 'clear', '_acme-challenge.x.test', 'v'),
    /^Error: --acme-dns-hook clear _acme-challenge\.x\.test exited with status 3: provider said: no$/,
  );
  await assert.rejects(runDnsHook('sleep 5; true', 'set', 'r', 'v', 200), /did not finish within 200 ms/);
});
