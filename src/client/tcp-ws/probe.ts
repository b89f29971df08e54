/**
 * checkTcpTarget(): before `burrow connect` listens, one WebSocket to the target tells whether the
 * server is there, knows the name and takes the token. It asks for multiplexed mode (a burrow
 * server then dials nothing until a connection is opened) and closes with 1000 at once.
 */
import type { IncomingMessage } from 'node:http';
import { BurrowError } from '../../core/errors.js';
import { serverUnreachable } from '../../core/unreachable.js';
import type { TcpTunnelTlsOptions } from './types.js';
import { openTcpWebSocket } from './websocket.js';

/** How long the check waits for the server's answer, in ms. */
export const TCP_PROBE_TIMEOUT_MS = 10_000;
/** The most of a refusal's body read for its error code. */
const MAX_ERROR_BODY_BYTES = 16 * 1024;

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_ERROR_BODY_BYTES) break;
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The server's refusal as a BurrowError whose fix speaks of `burrow connect`'s URL and token. */
function refusal(status: number, body: string, url: URL, tokenGiven: boolean): BurrowError {
  let code: string | undefined;
  let message = '';
  try {
    const j = JSON.parse(body) as { error?: { code?: string; message?: string } };
    code = j.error?.code;
    message = j.error?.message ?? '';
  } catch {
    // not a burrow answer
  }
  const name = decodeURIComponent(url.pathname.split('/').filter(Boolean).at(-1) ?? '');
  if (status === 404)
    return new BurrowError('BURROW_ERR_TCP_TARGET_NOT_FOUND', `no tunnel named "${name}" on ${url.host}`, {
      fix: 'Check the name in the URL: `burrow tcp` prints its WebSocket access URL (it may have reconnected under a new one), or the operator named static targets with --tcp-target.',
    });
  if (status === 401 || (status === 403 && !tokenGiven))
    return new BurrowError('BURROW_ERR_UNAUTHORIZED', `the target "${name}" needs a token`, {
      fix: 'Pass the token `burrow tcp` printed: --token TOKEN or BURROW_TOKEN.',
    });
  if (status === 403)
    return new BurrowError('BURROW_ERR_FORBIDDEN', `the token was refused for the target "${name}"`, {
      fix: 'Use the token `burrow tcp` printed for this name (a new one is printed after it reconnects).',
    });
  if (status === 429) return new BurrowError('BURROW_ERR_RATE_LIMITED', message || `${url.host} answered 429`);
  if (code === undefined)
    return new BurrowError(
      'BURROW_ERR_SERVER_UNREACHABLE',
      `${url.host} answered HTTP ${status}: not a burrow TCP endpoint`,
      { fix: 'Check the URL: burrow prints it as ws(s)://HOST/tcp/NAME (`burrow tcp`).' },
    );
  return new BurrowError('BURROW_ERR_TCP_TARGET_UNREACHABLE', `${url.host} answered HTTP ${status}: ${message}`);
}

/** Resolves when the target accepts a WebSocket with this token; rejects with what was wrong. */
export function checkTcpTarget(
  remoteURL: string,
  token: string,
  options: { tls?: TcpTunnelTlsOptions | undefined; timeoutMs?: number } = {},
): Promise<void> {
  const url = new URL(remoteURL);
  url.searchParams.set('mode', 'multiplexed');
  const { ws } = openTcpWebSocket(url, token, { tls: options.tls });
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new BurrowError('BURROW_ERR_SERVER_UNREACHABLE', `${url.host} did not answer in time`));
    }, options.timeoutMs ?? TCP_PROBE_TIMEOUT_MS);
    let answered = false; // the upgrade was refused: terminate()'s own error is not the reason
    const done = (err?: BurrowError): void => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      answered = true;
      const status = res.statusCode ?? 0;
      readBody(res).then(
        (body) => done(refusal(status, body, url, token !== '')),
        () => done(refusal(status, '', url, token !== '')),
      );
      ws.terminate();
    });
    ws.on('open', () => {
      ws.close(1000, 'probe');
      done();
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      if (answered) return;
      done(serverUnreachable(url, err, 'the URL'));
    });
  });
}
