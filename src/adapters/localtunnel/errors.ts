/**
 * The localtunnel edge's own error codes, added to the one table (src/core/errors.ts, docs/errors.md). Every file
 * of this edge that throws one of them imports this module, so the rows exist before they are used.
 */
import { registerErrors, type ErrorSpec } from '../../core/errors.js';

const LOCALTUNNEL_ERRORS = {
  BURROW_ERR_LOCALTUNNEL_NO_PORT: {
    status: 503,
    wsClose: 1013,
    message: 'No free TCP port for a localtunnel socket pool',
    fix: "Widen the server's localtunnel port range (or close idle tunnels), or run with --tunnel-port N so every pool shares one port.",
  },
} as const satisfies Record<string, ErrorSpec>;
registerErrors(LOCALTUNNEL_ERRORS);

type LocaltunnelErrorsRows = typeof LOCALTUNNEL_ERRORS;

declare module '../../core/errors.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging adds this edge's codes
  interface ErrorTable extends LocaltunnelErrorsRows {}
}
