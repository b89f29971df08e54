/** The web console's named limits (docs/console.md, "Limits"). */

/** Where the console lives on the server's own host. */
export const CONSOLE_PATH = '/admin';
/** The session cookie's name (HttpOnly, SameSite=Strict, Path=/admin, Secure over HTTPS). */
export const SESSION_COOKIE = 'burrow_console';

/** A session unused this long is signed out. */
export const SESSION_IDLE_MS = 30 * 60_000;
/** A session ends this long after sign-in, however busy. */
export const SESSION_ABSOLUTE_MS = 12 * 60 * 60_000;
/** Sessions held at once; signing in beyond this ends the oldest. */
export const MAX_SESSIONS = 256;
/** Random bytes in a session id and in a CSRF token (base64url in the cookie and the header). */
export const SESSION_ID_BYTES = 32;

/** Largest sign-in body (a JSON object with the token). */
export const SIGN_IN_MAX_BODY_BYTES = 4096;

/** How often the live view samples the server and pushes to open consoles. */
export const SAMPLE_INTERVAL_MS = 1000;
/** How much history the overview charts keep (and send to a console that connects). */
export const HISTORY_MS = 15 * 60_000;
/** Live event streams open at once (all sessions together). */
export const MAX_EVENT_STREAMS = 32;
/** Tunnels listed in one live update (the busiest first when there are more). */
export const MAX_LIVE_TUNNELS = 500;
/** Most items in flight (pipe transfers, TCP sessions) one live update lists. */
export const MAX_LIVE_IN_FLIGHT = 500;
/** An event stream with this much unread is skipped for updates until its console reads again. */
export const SLOW_STREAM_BYTES = 1 << 20;
