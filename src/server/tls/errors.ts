/**
 * Automatic TLS's own error codes, added to the one table (src/core/errors.ts, docs/errors.md). Every
 * file of src/server/tls that throws one of them imports this module.
 */
import { registerErrors, type ErrorSpec } from '../../core/errors.js';

const TLS_ERRORS = {
  BURROW_ERR_ACME_NAME_REFUSED: {
    status: 421,
    wsClose: 1008,
    message: 'No certificate is issued for this name: it is neither the server host nor a live or reserved tunnel',
    fix: 'Open the tunnel first (burrow http <port> --name <name>), then visit https://<name>.<domain>; the certificate is obtained at the first visit.',
  },
  BURROW_ERR_ACME_RATE_LIMITED: {
    status: 429,
    wsClose: 1013,
    message: 'Too many new certificates this hour; this name waits for the next free slot',
    fix: 'Visit again later. The limit (ACME_MAX_ISSUANCES_PER_HOUR in src/server/tls/limits.ts) protects the CA rate limits; a wildcard certificate or certificate files avoid it.',
  },
  BURROW_ERR_ACME_FAILED: {
    status: 502,
    wsClose: 1011,
    message: 'The certificate could not be obtained from the ACME server',
    fix: "Check the server log line 'acme: issuance failed': the DNS record of the name must point at this server, port 80 (--http-port) must be reachable from the internet, and --acme-directory must be right. The name is tried again after ACME_RETRY_AFTER_FAILURE_MS.",
  },
} as const satisfies Record<string, ErrorSpec>;
registerErrors(TLS_ERRORS);

type TlsErrorsRows = typeof TLS_ERRORS;

declare module '../../core/errors.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging adds this folder's codes
  interface ErrorTable extends TlsErrorsRows {}
}
