/**
 * The one table of burrow's error codes. Each code maps to an HTTP status, a WebSocket close
 * code, a message and how to fix it. docs/errors.md is checked against this table by a test.
 * Adapters add their rows here (one table for the whole project).
 */
export interface ErrorSpec {
  /** HTTP status used when the error is answered over HTTP. */
  readonly status: number;
  /** WebSocket close code used when the error closes a WebSocket (4000–4999 are burrow's). */
  readonly wsClose: number;
  /** Short human message (may be extended with details at throw time). */
  readonly message: string;
  /** How to fix it, shown in docs/errors.md and in error pages. */
  readonly fix: string;
}

const CORE_ERRORS = {
  BURROW_ERR_INVALID_CONFIG: {
    status: 500,
    wsClose: 1011,
    message: 'Invalid configuration',
    fix: 'Read the listed problems; every flag and environment variable is in docs/configuration.md.',
  },
  BURROW_ERR_TUNNEL_NOT_FOUND: {
    status: 404,
    wsClose: 4404,
    message: 'No tunnel is connected under this name',
    fix: 'Check the URL. If the tunnel is yours, start the client again (burrow http <port>) and use the URL it prints.',
  },
  BURROW_ERR_AGENT_GONE: {
    status: 502,
    wsClose: 1011,
    message: 'The tunnel client is not connected',
    fix: 'The machine running `burrow http` lost its connection. It reconnects by itself; if not, restart it.',
  },
  BURROW_ERR_TUNNEL_RESTARTING: {
    status: 503,
    wsClose: 1013,
    message: 'The tunnel client is restarting',
    fix: 'Retry after the seconds in Retry-After: the tunnel client stopped on purpose and is coming back.',
  },
  BURROW_ERR_PORT_NOT_ALLOWED: {
    status: 403,
    wsClose: 4403,
    message: 'This port of the tunnel is not open to visitors',
    fix: "The tunnel's owner can open it: burrow http <port> --allow-port <this port> (SDK: allowPorts). Only the ports it allows are reachable at <name>-http-<port>.",
  },
  BURROW_ERR_TUNNEL_CLOSED: {
    status: 410,
    wsClose: 4410,
    message: "The server's operator closed this tunnel",
    fix: 'Open it again if you still need it (the operator may have closed it on purpose: ask them); other tunnels of the same client keep running.',
  },
  BURROW_ERR_ORIGIN_REFUSED: {
    status: 502,
    wsClose: 1011,
    message: 'The tunnel client could not reach the local service',
    fix: 'Start the local service on the port the client forwards to, or pass the right port / --local-host.',
  },
  BURROW_ERR_ORIGIN_ERROR: {
    status: 502,
    wsClose: 1011,
    message: 'The local service closed the connection or sent an invalid response',
    fix: 'Check the local service logs; it must speak HTTP/1.1 on the forwarded port (use --local-https for TLS).',
  },
  BURROW_ERR_TIMEOUT: {
    status: 504,
    wsClose: 1011,
    message: 'The local service did not answer in time',
    fix: 'Make the local service answer faster, or raise the server flag --request-timeout.',
  },
  BURROW_ERR_INVALID_NAME: {
    status: 400,
    wsClose: 4400,
    message: 'Invalid tunnel name',
    fix: 'Use 4–63 characters of lowercase a–z, 0–9 and hyphens, not starting or ending with a hyphen.',
  },
  BURROW_ERR_NAME_RESERVED: {
    status: 403,
    wsClose: 4403,
    message: 'This tunnel name is reserved',
    fix: 'Choose another --subdomain; names such as api, admin and www are kept for the server itself.',
  },
  BURROW_ERR_NAME_TAKEN: {
    status: 409,
    wsClose: 4409,
    message: 'This tunnel name is in use by another client',
    fix: 'Choose another --subdomain, or stop the other client first.',
  },
  BURROW_ERR_TUNNEL_LIMIT: {
    status: 429,
    wsClose: 4429,
    message: 'The server has reached its tunnel limit',
    fix: 'Close unused tunnels, or raise the server flag --max-tunnels.',
  },
  BURROW_ERR_STREAM_LIMIT: {
    status: 503,
    wsClose: 1013,
    message: 'This tunnel has too many open connections',
    fix: 'Retry later, or raise the server flag --max-streams-per-tunnel.',
  },
  BURROW_ERR_PROTOCOL: {
    status: 400,
    wsClose: 1002,
    message: 'Protocol error',
    fix: 'The peer sent a frame burrow cannot read: use matching burrow client and server versions.',
  },
  BURROW_ERR_UNSUPPORTED_VERSION: {
    status: 400,
    wsClose: 4426,
    message: 'Unsupported protocol version',
    fix: 'Upgrade the client or the server so that both speak the same protocol version (docs/PROTOCOL.md).',
  },
  BURROW_ERR_FRAME_TOO_LARGE: {
    status: 413,
    wsClose: 1009,
    message: 'Frame larger than the protocol allows',
    fix: 'A bug or a foreign peer: burrow frames are limited by MAX_FRAME_PAYLOAD (docs/PROTOCOL.md).',
  },
  BURROW_ERR_HEADERS_TOO_LARGE: {
    status: 431,
    wsClose: 1009,
    message: 'Request headers too large',
    fix: 'Send fewer or smaller headers (cookies!); the limit is MAX_HEADER_BYTES.',
  },
  BURROW_ERR_HTTP_VERSION: {
    status: 505,
    wsClose: 1002,
    message: 'HTTP version not supported',
    fix: 'Tunnels speak HTTP/1.1 and HTTP/1.0 to visitors (HTTP/2 through a TLS proxy in front); send one of those.',
  },
  BURROW_ERR_TRANSFER_ENCODING: {
    status: 501,
    wsClose: 1002,
    message: 'Transfer-Encoding not supported',
    fix: 'Send the body with Content-Length or Transfer-Encoding: chunked (nothing else, no other codings).',
  },
  BURROW_ERR_METHOD_NOT_ALLOWED: {
    status: 405,
    wsClose: 1008,
    message: 'Method not allowed',
    fix: 'CONNECT is not carried through tunnels; expose the TCP service with `burrow tcp` instead.',
  },
  BURROW_ERR_REQUEST_TIMEOUT: {
    status: 408,
    wsClose: 1008,
    message: 'The request head did not arrive in time',
    fix: 'Send the whole request head (request line and header fields) within HEAD_TIMEOUT_MS of its first byte; a client this slow is cut off to keep slowloris attacks out.',
  },
  BURROW_ERR_CONNECTION_LIMIT: {
    status: 429,
    wsClose: 1013,
    message: 'Too many connections from this address',
    fix: 'Close idle connections (reuse keep-alive ones), or ask the operator to raise --max-connections-per-ip.',
  },
  BURROW_ERR_AGENT_FAULT: {
    status: 502,
    wsClose: 1011,
    message: 'The tunnel client broke the protocol',
    fix: "The machine running the tunnel client sent something burrow cannot use; update it to the server's version. The server log names the fault.",
  },
  BURROW_ERR_INTERNAL: {
    status: 500,
    wsClose: 1011,
    message: 'Something went wrong inside burrow',
    fix: 'A bug in burrow, not in your request or your service: the server log has the details (log line "request handler failed"); please report it with that line.',
  },
  BURROW_ERR_BAD_REQUEST: {
    status: 400,
    wsClose: 1008,
    message: 'Bad request',
    fix: 'Read the message: it names the part of the request that is wrong.',
  },
  BURROW_ERR_UNAUTHORIZED: {
    status: 401,
    wsClose: 4401,
    message: 'Authentication required',
    fix: 'Pass a valid token (--token or BURROW_TOKEN).',
  },
  BURROW_ERR_FORBIDDEN: {
    status: 403,
    wsClose: 4403,
    message: 'Not allowed',
    fix: 'The token is valid but may not do this; ask the server operator for a token that allows it.',
  },
  BURROW_ERR_RATE_LIMITED: {
    status: 429,
    wsClose: 4429,
    message: 'Too many requests',
    fix: 'Wait for the number of seconds in Retry-After, then try again.',
  },
  BURROW_ERR_SHUTTING_DOWN: {
    status: 503,
    wsClose: 1001,
    message: 'The server is shutting down',
    fix: 'Clients reconnect by themselves; retry in a few seconds.',
  },
  BURROW_ERR_HEARTBEAT_TIMEOUT: {
    status: 504,
    wsClose: 4408,
    message: 'The peer stopped answering pings',
    fix: 'A network problem between client and server; the client reconnects by itself.',
  },
  BURROW_ERR_SERVER_UNREACHABLE: {
    status: 502,
    wsClose: 1011,
    message: 'Cannot reach the burrow server',
    fix: 'Check --server (scheme, host and port) and that the server is running.',
  },
  // a cluster's (src/cluster/) answer, in the core table: agents retry a registration refused with it
  BURROW_ERR_CLUSTER_UNAVAILABLE: {
    status: 503,
    wsClose: 1013,
    message: "The cluster's shared registry (Redis) is unreachable: no new names are given out",
    fix: 'Retry in a few seconds (Retry-After). Tunnels already open keep serving; the operator checks Redis (--cluster) and /readyz.',
  },
  BURROW_ERR_SERVER_CERT_UNTRUSTED: {
    status: 502,
    wsClose: 1015,
    message: "The burrow server's TLS certificate is not trusted",
    fix: 'If the server uses a private or staging CA (or a self-signed certificate), pass its CA certificate with --ca FILE (BURROW_CA); --insecure skips the check (testing only). Otherwise the certificate must be valid for the host in --server.',
  },
  BURROW_ERR_STORE: {
    status: 500,
    wsClose: 1011,
    message: 'The database failed',
    fix: 'Check --db (or BURROW_DB): the SQLite folder must be writable, or PostgreSQL reachable with the given URL. The message names the failing step.',
  },
  BURROW_ERR_TOKEN_NOT_FOUND: {
    status: 404,
    wsClose: 4404,
    message: 'No token has this id',
    fix: 'Run `burrow token list` to see the token ids (tok_…); the id is not the secret.',
  },
  BURROW_ERR_NAME_NOT_RESERVED: {
    status: 404,
    wsClose: 4404,
    message: 'This name is not reserved',
    fix: 'Run `burrow name list` to see reserved names; reserve one with `burrow name reserve NAME --token ID`.',
  },
  BURROW_ERR_INVALID_ACCESS_RULE: {
    status: 400,
    wsClose: 4400,
    message: 'Invalid access rule',
    fix: 'Use --basic-auth user:pass, --bearer TOKEN, --allow-ip/--deny-ip 10.0.0.0/8 or 2001:db8::/32, --rate-limit 100/s (s, m or h).',
  },
  BURROW_ERR_TCP_TARGET_NOT_FOUND: {
    status: 404,
    wsClose: 4404,
    message: 'No TCP target under this name',
    fix: 'Check the URL: `burrow tcp` prints its WebSocket access URL; static targets come from the server flag --tcp-target NAME=HOST:PORT.',
  },
  BURROW_ERR_TCP_TARGET_UNREACHABLE: {
    status: 502,
    wsClose: 1011,
    message: 'The server could not connect to the TCP target',
    fix: 'Start the service behind the target (or `burrow tcp`), and check the HOST:PORT given to --tcp-target.',
  },
  BURROW_ERR_TCP_SESSION_ENDED: {
    status: 410,
    wsClose: 4410,
    message: 'This TCP session has ended',
    fix: 'The target closed the connection or the session expired; open a new local connection to start a new session.',
  },
  BURROW_ERR_TCP_SESSION_LIMIT: {
    status: 503,
    wsClose: 1013,
    message: 'The server has too many TCP sessions open',
    fix: 'Retry later, or close idle sessions (they end 1000-closed or after the detached grace).',
  },
  BURROW_ERR_UPGRADE_REQUIRED: {
    status: 426,
    wsClose: 1002,
    message: 'This endpoint speaks WebSocket only',
    fix: 'Connect with a WebSocket client, e.g. `burrow connect ws://HOST/tcp/NAME` or limrun startTcpTunnel.',
  },
  BURROW_ERR_PIPE_REJECTED: {
    status: 400,
    wsClose: 1008,
    message: 'The pipe refused the request',
    fix: 'Read the [ERROR] line: the path is busy or reserved, n differs between peers, or a header is too large (docs/pipe.md).',
  },
  BURROW_ERR_PIPE_TIMEOUT: {
    status: 408,
    wsClose: 4408,
    message: 'The pipe peers did not all connect in time',
    fix: 'Start the sender and every receiver (same path and n) within the pending timeout (5 min by default).',
  },
  BURROW_ERR_PIPE_PATH_TOO_LONG: {
    status: 414,
    wsClose: 1009,
    message: 'Pipe path too long',
    fix: 'Use a pipe path of at most 1024 characters.',
  },
  BURROW_ERR_PIPE_BUSY: {
    status: 429,
    wsClose: 4429,
    message: 'The pipe service is at capacity',
    fix: 'Retry later; the operator can raise the pending/active/spectator caps (docs/pipe.md).',
  },
  BURROW_ERR_PIPE_ABORTED: {
    status: 502,
    wsClose: 1011,
    message: 'The pipe transfer was cut before it completed',
    fix: 'The other side disconnected or the transfer went idle; send again.',
  },

  BURROW_ERR_VISITOR_UNAUTHORIZED: {
    status: 401,
    wsClose: 4401,
    message: 'This tunnel asks visitors to log in',
    fix: 'Enter the user name and password (or bearer token) the tunnel owner gave you.',
  },
  BURROW_ERR_VISITOR_FORBIDDEN: {
    status: 403,
    wsClose: 4403,
    message: 'This tunnel does not accept visitors from your address',
    fix: 'Ask the tunnel owner to allow your network (burrow http --allow-ip …).',
  },
  BURROW_ERR_VISITOR_RATE_LIMITED: {
    status: 429,
    wsClose: 4429,
    message: 'Too many requests to this tunnel',
    fix: 'Wait for the number of seconds in Retry-After, then try again.',
  },
} as const satisfies Record<string, ErrorSpec>;

type CoreErrors = typeof CORE_ERRORS;

/**
 * The one table's type: the core's rows, and each edge's rows declared where the edge lives
 * (`declare module '…/core/errors.js' { interface ErrorTable extends TheirRows {} }`, next to the
 * registerErrors() call that adds them at run time).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging: edges extend it
export interface ErrorTable extends CoreErrors {}

export type ErrorCode = Extract<keyof ErrorTable, string>;

/** Every code burrow answers with: the core's, and those the loaded edges registered. */
export const ERROR_CODES: Readonly<Record<ErrorCode, ErrorSpec>> = { ...CORE_ERRORS } as Record<ErrorCode, ErrorSpec>;

/**
 * Add an edge's own codes to the one table (call it at the top of the edge's errors.ts, which every
 * file of the edge that throws one of them imports). A code registered twice with another row is
 * a bug and throws.
 */
export function registerErrors<T extends Readonly<Record<string, ErrorSpec>>>(rows: T): T {
  const table = ERROR_CODES as Record<string, ErrorSpec>;
  const entries = Object.entries(rows);
  for (const [code, spec] of entries) {
    if (!code.startsWith('BURROW_ERR_')) throw new Error(`error code ${code} must start with BURROW_ERR_`);
    const had = table[code];
    if (had && had !== spec) throw new Error(`error code ${code} is registered twice`);
  }
  for (const [code, spec] of entries) table[code] = spec; // all or nothing
  return rows;
}

/** The one error class. `code` indexes ERROR_CODES; `detail` is extra context for humans. */
export class BurrowError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly wsClose: number;
  readonly fix: string;
  readonly detail: string | undefined;

  /** `options.fix` replaces the code's generic fix when the thrower knows the situation better. */
  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; fix?: string | undefined }) {
    const spec: ErrorSpec = ERROR_CODES[code];
    super(detail ? `${spec.message}: ${detail}` : spec.message, options);
    this.name = 'BurrowError';
    this.code = code;
    this.status = spec.status;
    this.wsClose = spec.wsClose;
    this.fix = options?.fix ?? spec.fix;
    this.detail = detail;
  }

  toJSON(): { code: ErrorCode; message: string; fix: string } {
    return { code: this.code, message: this.message, fix: this.fix };
  }
}

export function isBurrowError(err: unknown): err is BurrowError {
  return err instanceof BurrowError;
}

/** BURROW_ERR_RATE_LIMITED with the number of seconds to wait (send it as Retry-After). */
export class RateLimitedError extends BurrowError {
  readonly retryAfter: number;
  constructor(retryAfterSeconds: number, detail?: string) {
    super('BURROW_ERR_RATE_LIMITED', detail ?? `try again in ${retryAfterSeconds} s`);
    this.retryAfter = retryAfterSeconds;
  }
}
