/**
 * Which server certificates a client trusts when it reaches a burrow server over https:// or wss://:
 * Node's CA list by default; `ca` replaces it (a private or staging CA, a self-signed server);
 * `rejectUnauthorized: false` trusts any certificate (testing only: anyone on the path can read and
 * change the connection). The CLI's `--ca FILE` and `--insecure` fill it.
 */
export interface TlsTrust {
  /** Certificate authorities (PEM) to trust instead of Node's default list. */
  ca?: string | Buffer | (string | Buffer)[];
  /** false accepts any server certificate (testing only). @default true */
  rejectUnauthorized?: boolean;
}

/** Node's TLS error codes that say the server's certificate is not trusted (not that TLS failed). */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Is `code` a certificate-trust failure (fixed by --ca, or by a certificate for the right name)? */
export function isUntrustedCertificate(code: string | undefined): boolean {
  return code !== undefined && UNTRUSTED.has(code);
}
