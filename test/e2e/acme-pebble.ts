/**
 * A real ACME server for tests: Debian's `pebble`, with `pebble-challtestsrv` as its DNS server (every
 * name resolves to 127.0.0.1), so pebble's HTTP-01 validation reaches burrow's plain HTTP port on
 * loopback. Nothing is mocked: burrow's acme-client talks to pebble, pebble fetches the challenge.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'node:test';
import tls from 'node:tls';
import type { BurrowServer } from '../../src/server/server.js';
import https from 'node:https';
import { join } from 'node:path';
import { freePort } from '../helpers/net.js';
import { selfSignedCert } from '../helpers/tls.js';
import { waitUntil } from '../helpers/wait.js';

export interface Pebble {
  /** The ACME directory URL. */
  readonly directoryUrl: string;
  /** PEM of the certificate pebble's own HTTPS uses (trust it for the directory). */
  readonly directoryCa: string;
  /** pebble-challtestsrv's management API (DNS-01 tests set TXT records there: POST /set-txt, /clear-txt). */
  readonly challengeServer: string;
  /** PEM of the root that signs the certificates pebble issues (trust it in TLS clients). */
  root(): Promise<string>;
  stop(): void;
}

/** Why pebble tests cannot run here, or undefined when they can. */
export function pebbleMissing(): string | undefined {
  for (const bin of ['pebble', 'pebble-challtestsrv']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) {
      return `${bin} is not installed (Debian: apt-get install pebble); the ACME tests are skipped`;
    }
  }
  return undefined;
}

/** Start challtestsrv and pebble; pebble validates HTTP-01 on 127.0.0.1:`httpPort`. */
export async function startPebble(dir: string, httpPort: number): Promise<Pebble> {
  const { cert, key } = selfSignedCert(dir, 'localhost', ['DNS:localhost', 'IP:127.0.0.1']);
  const [acmePort, mgmtPort, dnsPort, ctsMgmtPort, tlsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const children: ChildProcess[] = [];
  const output: string[] = [];
  const run = (cmd: string, args: string[], env: Record<string, string> = {}): void => {
    const c = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    c.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    children.push(c);
  };
  run('pebble-challtestsrv', [
    '-dns01',
    `127.0.0.1:${dnsPort}`,
    '-http01',
    '',
    '-https01',
    '',
    '-tlsalpn01',
    '',
    '-management',
    `127.0.0.1:${ctsMgmtPort}`,
    '-defaultIPv4',
    '127.0.0.1',
    '-defaultIPv6',
    '',
  ]);
  const config = join(dir, 'pebble-config.json');
  writeFileSync(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: cert,
        privateKey: key,
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  run('pebble', ['-config', config, '-dnsserver', `127.0.0.1:${dnsPort}`], {
    PEBBLE_VA_NOSLEEP: '1',
    PEBBLE_WFE_NONCEREJECT: '0',
  });
  const directoryCa = readFileSync(cert, 'utf8');
  const get = (url: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      https
        .get(url, { ca: directoryCa }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  const stop = (): void => {
    for (const c of children) c.kill();
  };
  try {
    await waitUntil(
      () =>
        get(directoryUrl).then(
          (r) => r.status === 200,
          () => false,
        ),
      {
        timeoutMs: 10_000,
        intervalMs: 50,
        what: 'pebble to answer',
      },
    );
  } catch (err) {
    stop();
    throw new Error(`${(err as Error).message}\n${output.join('')}`);
  }
  return {
    directoryUrl,
    directoryCa,
    challengeServer: `http://127.0.0.1:${ctsMgmtPort}`,
    async root() {
      const r = await get(`https://127.0.0.1:${mgmtPort}/roots/0`);
      if (r.status !== 200) throw new Error(`pebble /roots/0 answered ${r.status}`);
      return r.body;
    },
    stop,
  };
}

/** The port a listening test server's HTTPS is on. */
export const portOf = (s: BurrowServer): number => (s.httpServer!.address() as { port: number }).port;

/** A TLS handshake with `servername`, trusting `ca` (pebble's root): the peer certificate, or the error. */
export function handshake(s: BurrowServer, servername: string, ca: string): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port: portOf(s), servername, ca }, () => {
      const cert = sock.getPeerCertificate();
      sock.end();
      resolve(cert);
    });
    sock.on('error', reject);
  });
}

/** burrow_acme_certificates_total by event (issued, renewed, failed, refused, rate_limited). */
export async function acmeEvents(s: BurrowServer): Promise<Record<string, number>> {
  const m = await s.metrics.registry.getSingleMetric('burrow_acme_certificates_total')!.get();
  return Object.fromEntries(m.values.map((v) => [String(v.labels.event), v.value]));
}

/** A test file's pebble: its folder, the port pebble validates HTTP-01 on, and the issuing root. */
export interface PebbleSuite {
  pebble: Pebble;
  root: string;
  work: string;
  httpPort: number;
}

/**
 * One pebble for a test file: started before its tests (unless `missing` says why not), then `ready`
 * (the file's own set-up that needs pebble), stopped after.
 */
export function pebbleSuite(
  prefix: string,
  missing: string | undefined,
  ready?: (s: PebbleSuite) => void,
): PebbleSuite {
  const s = {} as PebbleSuite;
  test.before(async () => {
    if (missing) return;
    s.work = mkdtempSync(join(tmpdir(), prefix));
    s.httpPort = await freePort();
    s.pebble = await startPebble(s.work, s.httpPort);
    s.root = await s.pebble.root();
    ready?.(s);
  });
  test.after(() => {
    if (missing) return;
    s.pebble.stop();
    rmSync(s.work, { recursive: true, force: true });
  });
  return s;
}
