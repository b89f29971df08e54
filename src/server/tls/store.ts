/**
 * The ACME directory (--acme-dir): the account key and one certificate (chain + key) per name, as
 * PEM files a person can read with openssl (a wildcard `*.<domain>` as `_wildcard.<domain>`). Private keys are written 0600 in a 0700 folder, by
 * write-then-rename (a crash never leaves half a key). Nothing here logs key material.
 */
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface StoredCertificate {
  /** The host name the certificate is for. */
  readonly name: string;
  /** PEM chain, leaf first. */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
}

const NAME_RE = /^(\*\.)?[a-z0-9.-]+$/;
/** A wildcard `*.<domain>` is kept as `_wildcard.<domain>.crt` (no `*` in file names). */
const WILDCARD_FILE_PREFIX = '_wildcard.';

const fileOf = (name: string): string => name.replace(/^\*\./, WILDCARD_FILE_PREFIX);
const nameOf = (file: string): string =>
  file.startsWith(WILDCARD_FILE_PREFIX) ? `*.${file.slice(WILDCARD_FILE_PREFIX.length)}` : file;

/**
 * Where certificates and the ACME account key are kept: a directory (CertificateDirectory, one node)
 * or the server's database (app/acme-store.ts: every node of a cluster serves the same ones).
 */
export interface CertificateStore {
  /** For logs: the folder, or `database`. */
  readonly where: string;
  readAccountKey(): Promise<string | undefined>;
  writeAccountKey(pem: string): Promise<void>;
  list(): Promise<StoredCertificate[]>;
  write(c: StoredCertificate): Promise<void>;
}

export class CertificateDirectory implements CertificateStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  get where(): string {
    return this.dir;
  }

  get #certs(): string {
    return join(this.dir, 'certificates');
  }

  /** The account key (PEM), or undefined when none was saved yet. */
  async readAccountKey(): Promise<string | undefined> {
    return readOptional(join(this.dir, 'account.key'));
  }

  async writeAccountKey(pem: string): Promise<void> {
    await this.#ensure();
    await writeSecret(join(this.dir, 'account.key'), pem);
  }

  /** Every stored certificate (a pair missing one half is skipped). */
  async list(): Promise<StoredCertificate[]> {
    let files: string[];
    try {
      files = await readdir(this.#certs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: StoredCertificate[] = [];
    for (const f of files) {
      if (!f.endsWith('.crt')) continue;
      const name = nameOf(f.slice(0, -'.crt'.length));
      const found = await this.read(name);
      if (found) out.push(found);
    }
    return out;
  }

  async read(name: string): Promise<StoredCertificate | undefined> {
    checkName(name);
    const cert = await readOptional(join(this.#certs, `${fileOf(name)}.crt`));
    const key = await readOptional(join(this.#certs, `${fileOf(name)}.key`));
    return cert && key ? { name, cert, key } : undefined;
  }

  /** Save a certificate: the key first, so a .crt on disk always has its key beside it. */
  async write(c: StoredCertificate): Promise<void> {
    checkName(c.name);
    await this.#ensure();
    await writeSecret(join(this.#certs, `${fileOf(c.name)}.key`), c.key);
    await writeSecret(join(this.#certs, `${fileOf(c.name)}.crt`), c.cert, 0o644);
  }

  async #ensure(): Promise<void> {
    await mkdir(this.#certs, { recursive: true, mode: 0o700 });
  }
}

function checkName(name: string): void {
  // names come from the gate (own host or a registry name), never raw SNI: this is a second lock
  if (!NAME_RE.test(name) || name.includes('..')) throw new Error(`not a host name: ${JSON.stringify(name)}`);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function writeSecret(path: string, data: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, path);
}
