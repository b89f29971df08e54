/** Automatic TLS options (ServerOptions.acme) → a validated AcmeConfig; problems are collected, not thrown. */
import { DEFAULT_ACME_DIR, DEFAULT_ACME_HTTP_PORT, LETS_ENCRYPT_PRODUCTION, LETS_ENCRYPT_STAGING } from './limits.js';
import { CertificateDirectory, type CertificateStore } from './store.js';

export interface AcmeOptions {
  /** The account's contact e-mail (the CA writes about expiring certificates and policy changes). */
  email: string;
  /** The ACME directory URL (default: Let's Encrypt production). */
  directoryUrl?: string;
  /** Use Let's Encrypt's staging directory (untrusted certificates; for trying a setup). */
  staging?: boolean;
  /** Folder for the account key and certificates (default ./data/acme). */
  dir?: string;
  /** Plain HTTP port: HTTP-01 challenges, everything else redirected to HTTPS (default 80; 0 = any free port). */
  httpPort?: number;
  /** PEM CA certificate(s) to trust for the ACME directory's own HTTPS (a private CA; tests with pebble). */
  directoryCa?: string | Buffer;
  /**
   * A command that sets and clears `_acme-challenge.<domain>` TXT records (see dns-hook.ts): with it,
   * tunnel names are served from one wildcard `*.<domain>` certificate obtained through DNS-01.
   */
  dnsHook?: string;
  /**
   * Keep certificates and the account key here instead of in `dir` (composeServer passes the
   * database unless --acme-dir is given, so every node of a cluster shares them).
   */
  store?: CertificateStore;
  /** Clock for expiry and renewal decisions (tests inject one; default Date.now). */
  now?: () => number;
}

export interface AcmeConfig {
  readonly email: string;
  readonly directoryUrl: string;
  readonly dir: string;
  readonly httpPort: number;
  readonly directoryCa: string | Buffer | undefined;
  readonly dnsHook: string | undefined;
  /** Where certificates are kept (a CertificateDirectory on `dir` unless a store was given). */
  readonly store: CertificateStore;
  readonly now: () => number;
}

const KEYS = new Set(['email', 'directoryUrl', 'staging', 'dir', 'httpPort', 'directoryCa', 'dnsHook', 'store', 'now']);
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Validate `o`, pushing each problem (named by its flag) onto `problems`. */
export function resolveAcmeConfig(o: AcmeOptions, problems: string[]): AcmeConfig {
  for (const k of Object.keys(o)) if (!KEYS.has(k)) problems.push(`unknown acme option "${k}"`);
  if (typeof o.email !== 'string' || !EMAIL_RE.test(o.email)) {
    problems.push(
      `--acme needs --acme-email with a valid address, the CA's contact for the account (got ${JSON.stringify(o.email ?? '')})`,
    );
  }
  let directoryUrl = o.staging ? LETS_ENCRYPT_STAGING : LETS_ENCRYPT_PRODUCTION;
  if (o.directoryUrl !== undefined) {
    if (o.staging) problems.push('--acme-directory and --acme-staging exclude each other: pass one');
    try {
      const u = new URL(o.directoryUrl);
      if (u.protocol !== 'https:') problems.push(`--acme-directory must be an https:// URL (got "${o.directoryUrl}")`);
      directoryUrl = o.directoryUrl;
    } catch {
      problems.push(`--acme-directory "${o.directoryUrl}" is not a URL`);
    }
  }
  const httpPort = o.httpPort ?? DEFAULT_ACME_HTTP_PORT;
  if (!Number.isInteger(httpPort) || httpPort < 0 || httpPort > 65535) {
    problems.push(`--http-port must be an integer from 0 to 65535 (got ${JSON.stringify(o.httpPort)})`);
  }
  const dir = o.dir ?? DEFAULT_ACME_DIR;
  if (typeof dir !== 'string' || !dir) problems.push('--acme-dir must name a folder');
  if (o.dnsHook !== undefined && (typeof o.dnsHook !== 'string' || !o.dnsHook.trim())) {
    problems.push('--acme-dns-hook must be a command (it is run as `CMD set|clear RECORD VALUE`)');
  }
  return {
    email: o.email,
    directoryUrl,
    dir,
    httpPort,
    directoryCa: o.directoryCa,
    dnsHook: o.dnsHook?.trim() || undefined,
    store: o.store ?? new CertificateDirectory(dir),
    now: o.now ?? Date.now,
  };
}
