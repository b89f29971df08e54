/**
 * Cluster mode's own error codes, added to the one table (src/core/errors.ts, docs/errors.md).
 */
import { registerErrors, type ErrorSpec } from '../core/errors.js';

const CLUSTER_ERRORS = {
  BURROW_ERR_CLUSTER_UNAVAILABLE: {
    status: 503,
    wsClose: 1013,
    message: "The cluster's shared registry (Redis) is unreachable: no new names are given out",
    fix: 'Retry in a few seconds (Retry-After). Tunnels already open keep serving; the operator checks Redis (--cluster) and /readyz.',
  },
} as const satisfies Record<string, ErrorSpec>;
registerErrors(CLUSTER_ERRORS);

type ClusterErrorsRows = typeof CLUSTER_ERRORS;

declare module '../core/errors.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging adds this folder's codes
  interface ErrorTable extends ClusterErrorsRows {}
}
