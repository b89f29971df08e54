/**
 * The tunely edge's own error codes, added to the one table (src/core/errors.ts, docs/errors.md). Every file
 * of this edge that throws one of them imports this module, so the rows exist before they are used.
 */
import { registerErrors, type ErrorSpec } from '../../core/errors.js';

const TUNELY_ERRORS = {
  BURROW_ERR_TUNELY_AGENT_OFFLINE: {
    status: 503,
    wsClose: 1013,
    message: 'The tunely agent for this tunnel is not connected',
    fix: 'Start (or restart) `tunely connect` with the token bound to this name; it reconnects by itself after a network drop.',
  },
  BURROW_ERR_TUNELY_BINARY_BODY: {
    status: 502,
    wsClose: 1003,
    message: 'tunely tunnels carry text bodies only; this request body is not valid UTF-8',
    fix: "tunely's JSON protocol cannot carry binary bodies intact. Expose the service with `burrow http <port>` instead, which carries any bytes.",
  },
  BURROW_ERR_TUNELY_BODY_TOO_LARGE: {
    status: 413,
    wsClose: 1009,
    message: 'Request body too large for a tunely tunnel',
    fix: 'tunely sends a request body whole inside one JSON message; send a smaller body, raise maxBodyBytes, or use `burrow http <port>`.',
  },
  BURROW_ERR_TUNELY_NO_WEBSOCKET: {
    status: 501,
    wsClose: 1003,
    message: 'tunely tunnels cannot carry WebSocket connections',
    fix: "tunely's protocol has no WebSocket messages. Expose the service with `burrow http <port>` instead.",
  },
} as const satisfies Record<string, ErrorSpec>;
registerErrors(TUNELY_ERRORS);

type TunelyErrorsRows = typeof TUNELY_ERRORS;

declare module '../../core/errors.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging adds this edge's codes
  interface ErrorTable extends TunelyErrorsRows {}
}
