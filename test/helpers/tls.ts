/** A throwaway self-signed certificate for tests (openssl, EC P-256, valid one day). */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface CertFiles {
  cert: string;
  key: string;
}

/**
 * Write cert.pem and key.pem into dir for `cn`, naming `altNames` (e.g. "DNS:*.example.com",
 * "IP:127.0.0.1") as subjectAltName. Throws with openssl's message if it fails.
 */
export function selfSignedCert(dir: string, cn: string, altNames: string[] = []): CertFiles {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'];
  args.push('-subj', `/CN=${cn}`, '-keyout', key, '-out', cert);
  if (altNames.length) args.push('-addext', `subjectAltName=${altNames.join(',')}`);
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr || r.error?.message}`);
  return { cert, key };
}
