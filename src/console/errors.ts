/**
 * The web console's own error codes, added to the one table (src/core/errors.ts, docs/errors.md).
 * Every console file that throws one of them imports this module.
 */
import { registerErrors, type ErrorSpec } from '../core/errors.js';

const CONSOLE_ERRORS = {
  BURROW_ERR_CONSOLE_SIGNED_OUT: {
    status: 401,
    wsClose: 4401,
    message: 'Not signed in to the admin console',
    fix: 'Sign in again at /admin with the admin token: a session ends after 30 min unused, 12 h after sign-in, at sign-out or when the server restarts.',
  },
  BURROW_ERR_CONSOLE_CSRF: {
    status: 403,
    wsClose: 4403,
    message: "The request did not carry this session's CSRF token",
    fix: 'Reload the console page (it fetches a fresh token). Requests made by other sites or without the token are refused on purpose.',
  },
} as const satisfies Record<string, ErrorSpec>;
registerErrors(CONSOLE_ERRORS);

type ConsoleErrorsRows = typeof CONSOLE_ERRORS;

declare module '../core/errors.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging adds the console's codes
  interface ErrorTable extends ConsoleErrorsRows {}
}
