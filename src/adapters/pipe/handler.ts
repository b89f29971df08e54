/**
 * createPipeHandler: the piping-server compatible rendezvous (docs/pipe.md) as one
 * `(req, res) => void` for http and http2 (compat API). All state lives in the returned instance:
 * pending pipes (a sender or receivers waiting for the others), active transfers, spectators.
 */
import type { TLSSocket } from 'node:tls';
import { IncomingMessage } from 'node:http';
import { DirectBody, directBodyEligible } from '../../core/direct-body.js';
import { sendJson } from '../../core/http-json.js';
import { mallocFirstTraffic } from '../../core/malloc.js';
import type { Logger } from '../../core/logger.js';
import {
  asReq,
  asRes,
  forceHttp10StatusLine,
  header,
  hostOf,
  sendPipeError,
  type PipeRequest,
  type PipeResponse,
  type Req,
  type Res,
} from './http.js';
import { collectForwardHeaders, type ForwardHeaders } from './headers.js';
import { isMultipart } from './multipart.js';
import { receiverDisposition } from './disposition.js';
import { resolvePipeOptions, type PipeLimits, type PipeOptions } from './options.js';
import type { PipeHealth } from '../../wire/pipe/health.js';
import { isReservedPath, servePage, serveReserved } from './reserved.js';
import { SenderMessages } from './sender-messages.js';
import { SpectatorHub, type PipeSnapshot } from './spectators.js';
import { isTargetError, parseReceiverCount, parseTarget, queryFlag, type PipeTarget } from '../../wire/pipe/target.js';
import { Transfer, type TransferOutcome } from './transfer.js';
import type { PageContext } from './pages/page.js';

export const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, OPTIONS';

/** Counters of one handler (for /health, /api/status and metrics). */
export type PipeStats = {
  pending: number;
  active: number;
  spectators: number;
  transfersCompleted: number;
  transfersFailed: number;
  bytesTransferred: number;
};

export type { PipeHealth };

/** One pipe as it is now. */
export interface PipeNow {
  readonly path: string;
  readonly state: 'waiting' | 'streaming';
  /** Clock time its first party arrived (waiting) or its transfer started (streaming). */
  readonly since: number;
  readonly bytes: number;
  /** The sender's Content-Length, when it gave one. */
  readonly total: number | undefined;
  readonly senders: number;
  /** Receivers connected (streaming: still reading) and how many the pipe waits for (`?n=`). */
  readonly receivers: number;
  readonly expected: number;
}

/** The mountable handler, with its lifecycle and counters. */
export interface PipeHandler {
  (req: PipeRequest, res: PipeResponse): void;
  /**
   * Graceful stop: new requests and waiting peers get 503 at once; streaming transfers get
   * `closeGraceMs` to finish, then are cut; spectators are closed last.
   */
  close(): Promise<void>;
  stats(): PipeStats;
  /** Every pipe now: those streaming and those waiting for their peers (the console's list). */
  pipes(): PipeNow[];
  health(): PipeHealth;
  readonly limits: PipeLimits;
  /** Logs to `logger` from now on (the server passes its own when the caller gave none). */
  useLogger(logger: Logger): void;
}

interface PendingSender {
  readonly req: Req;
  readonly res: Res;
  readonly messages: SenderMessages;
  readonly forward: ForwardHeaders;
  readonly direct: DirectBody | undefined;
  readonly onClose: () => void;
}

interface PendingReceiver {
  readonly req: Req;
  readonly res: Res;
  readonly query: URLSearchParams;
  readonly onClose: () => void;
}

interface PendingPipe {
  readonly path: string;
  readonly n: number;
  /** When its first party arrived (clock time). */
  readonly since: number;
  sender: PendingSender | undefined;
  readonly receivers: PendingReceiver[];
  timer: unknown;
}

export function createPipeHandler(options: PipeOptions = {}): PipeHandler {
  const resolved = resolvePipeOptions(options);
  const { clock, version, limits, directBodyMinBytes } = resolved;
  let logger = resolved.logger;
  const pending = new Map<string, PendingPipe>();
  const active = new Map<string, Transfer>();
  const startedAt = clock.now();
  const totals = { completed: 0, failed: 0, bytes: 0 };
  let closed = false;
  let closing: Promise<void> | undefined;
  /** Called when the last active transfer ends during close(). */
  let onIdle: (() => void) | undefined;

  const hub = new SpectatorHub(clock, limits, snapshotOf);

  function snapshotOf(path: string): PipeSnapshot {
    const now = clock.now();
    const base = { path, timestamp: now };
    const t = active.get(path);
    if (t) {
      const elapsed = t.state === 'streaming' ? now - t.startedAt : 0;
      const speed = elapsed > 0 ? Math.round((t.bytes * 1000) / elapsed) : 0;
      const total = t.totalBytes ?? null;
      return {
        ...base,
        state: t.state === 'starting' ? 'waiting' : t.state,
        hasSender: true,
        activeReceivers: t.liveReceivers,
        expectedReceivers: t.receiverCount,
        bytesTransferred: t.bytes,
        totalBytes: total,
        speed,
        eta: total !== null && speed > 0 ? Math.max(0, (total - t.bytes) / speed) : null,
        elapsed,
      };
    }
    const p = pending.get(path);
    return {
      ...base,
      state: p ? 'waiting' : 'idle',
      hasSender: p?.sender !== undefined,
      activeReceivers: p?.receivers.length ?? 0,
      expectedReceivers: p?.n ?? null,
      bytesTransferred: 0,
      totalBytes: null,
      speed: 0,
      eta: null,
      elapsed: 0,
    };
  }

  function pageContext(req: Req, t: PipeTarget): PageContext {
    const proto = header(req, 'x-forwarded-proto');
    const encrypted = (req.socket as TLSSocket | undefined)?.encrypted === true;
    const scheme = proto?.includes('https') || encrypted ? 'https' : 'http';
    return { base: t.base, version, path: t.path, query: t.query, origin: `${scheme}://${hostOf(req) ?? 'localhost'}` };
  }

  function preflight(req: Req, res: Res): void {
    const asked = header(req, 'access-control-request-headers') ?? '';
    res.writeHead(200, {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': ALLOWED_METHODS,
      'Access-Control-Allow-Headers': `Content-Type, Content-Disposition, X-Piping${/\bx-hoody-pipe\b/i.test(asked) ? ', X-Hoody-Pipe' : ''}`,
      ...(header(req, 'access-control-request-private-network') === 'true'
        ? { 'Access-Control-Allow-Private-Network': 'true' }
        : {}),
      'Access-Control-Expose-Headers': 'Access-Control-Allow-Headers',
      'Access-Control-Max-Age': 86400,
      'Content-Length': 0,
    });
    res.end();
  }

  function health(): PipeHealth {
    return {
      status: closed ? 'closing' : 'ok',
      version,
      uptime: Math.floor((clock.now() - startedAt) / 1000),
      pending: pending.size,
      active: active.size,
      spectators: hub.count(),
      limits,
    };
  }

  function establishedError(path: string): string {
    return `Connection on '${path}' has been established already.`;
  }

  /** (Re)starts a pending pipe's eviction timer. */
  function touch(pipe: PendingPipe): void {
    clock.clearTimeout(pipe.timer);
    pipe.timer = clock.setTimeout(() => evict(pipe), limits.pendingTimeoutMs);
  }

  function evict(pipe: PendingPipe): void {
    if (pending.get(pipe.path) !== pipe) return;
    pending.delete(pipe.path);
    const secs = Math.round(limits.pendingTimeoutMs / 1000);
    for (const r of pipe.receivers) {
      r.res.removeListener('close', r.onClose);
      sendPipeError(
        r.res,
        408,
        pipe.sender ? `Not all receivers connected within ${secs} s.` : `No sender connected within ${secs} s.`,
      );
    }
    if (pipe.sender) {
      pipe.sender.res.removeListener('close', pipe.sender.onClose);
      pipe.sender.messages.fail(408, `Not all receivers connected within ${secs} s.`);
      pipe.sender.req.destroy();
    }
    hub.stateChanged(pipe.path);
  }

  function dropIfEmpty(pipe: PendingPipe): void {
    if (pipe.sender === undefined && pipe.receivers.length === 0 && pending.get(pipe.path) === pipe) {
      clock.clearTimeout(pipe.timer);
      pending.delete(pipe.path);
    }
  }

  function newPending(path: string, n: number): PendingPipe {
    const pipe: PendingPipe = { path, n, since: clock.now(), sender: undefined, receivers: [], timer: undefined };
    pending.set(path, pipe);
    return pipe;
  }

  function maybeEstablish(pipe: PendingPipe): void {
    const sender = pipe.sender;
    if (!sender || pipe.receivers.length !== pipe.n) return;
    pending.delete(pipe.path);
    clock.clearTimeout(pipe.timer);
    sender.res.removeListener('close', sender.onClose);
    for (const r of pipe.receivers) r.res.removeListener('close', r.onClose);
    const path = pipe.path;
    const transfer = new Transfer(
      path,
      {
        req: sender.req,
        messages: sender.messages,
        forward: sender.forward,
        ...(sender.direct ? { direct: sender.direct } : {}),
      },
      pipe.receivers.map((r) => {
        const download = queryFlag(r.query, 'download');
        return {
          req: r.req,
          res: r.res,
          disposition: (cd: string | undefined) => receiverDisposition(cd, r.query, path, download),
        };
      }),
      clock,
      limits,
      logger,
      {
        onStreaming: () => hub.stateChanged(path),
        onBytes: () => hub.bytesMoved(path),
        onReceiverGone: () => hub.stateChanged(path),
        onDone: (outcome: TransferOutcome) => {
          const snapshot = snapshotOf(path);
          if (active.get(path) === transfer) active.delete(path);
          if (active.size === 0 && onIdle) queueMicrotask(onIdle);
          totals.bytes += outcome.bytes;
          if (outcome.state === 'complete') totals.completed++;
          else totals.failed++;
          hub.done(
            path,
            { ...snapshot, state: outcome.state },
            {
              state: outcome.state,
              bytesTransferred: outcome.bytes,
              totalBytes: snapshot.totalBytes,
              duration: outcome.durationMs,
              avgSpeed:
                outcome.durationMs > 0 ? Math.round((outcome.bytes * 1000) / outcome.durationMs) : outcome.bytes,
              ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
            },
          );
        },
      },
    );
    active.set(path, transfer);
    mallocFirstTraffic();
    transfer.start();
  }

  /** Would adding one more party to `pipe` start a transfer while the active cap is reached? */
  function activeFullFor(pipe: PendingPipe | undefined, addsSender: boolean): boolean {
    if (!pipe || active.size < limits.maxActivePipes) return false;
    const hasSender = addsSender || pipe.sender !== undefined;
    const receivers = pipe.receivers.length + (addsSender ? 0 : 1);
    return hasSender && receivers === pipe.n;
  }

  function onSender(req: Req, res: Res, t: PipeTarget, method: string, http10: boolean): void {
    if (req.headers['content-range'] !== undefined) {
      return sendPipeError(res, 400, `Content-Range is not supported for now in ${method}`);
    }
    const n = parseReceiverCount(t.query, limits.maxReceivers);
    if (typeof n === 'string') return sendPipeError(res, 400, n);
    const forward = collectForwardHeaders(req, limits.maxHeaderValueBytes);
    if (typeof forward === 'string') return sendPipeError(res, 400, forward);
    if (active.has(t.path)) return sendPipeError(res, 400, establishedError(t.path));
    let pipe = pending.get(t.path);
    if (pipe) {
      if (pipe.sender) return sendPipeError(res, 400, `Another sender has been connected on '${t.path}'.`);
      if (pipe.n !== n) return sendPipeError(res, 400, `The number of receivers should be ${pipe.n} but ${n}.`);
      if (activeFullFor(pipe, true))
        return sendPipeError(res, 429, `Too many active pipes (max ${limits.maxActivePipes}).`);
    } else {
      if (pending.size >= limits.maxPendingPipes) {
        return sendPipeError(res, 429, `Too many pending pipes (max ${limits.maxPendingPipes}).`);
      }
      pipe = newPending(t.path, n);
    }
    // A large upload is read past Node's parser into reused buffers; its connection then closes.
    const direct =
      req instanceof IncomingMessage && !isMultipart(forward.contentType) && directBodyEligible(req, directBodyMinBytes)
        ? new DirectBody(req)
        : undefined;
    const messages = new SenderMessages(res, http10, direct !== undefined);
    messages.open();
    messages.info(`Waiting for ${n} receiver(s) to connect...`);
    if (pipe.receivers.length > 0) messages.info(`${pipe.receivers.length} receiver(s) already connected.`);
    const p = pipe;
    const sender: PendingSender = {
      req,
      res,
      messages,
      forward,
      direct,
      onClose: () => {
        if (p.sender !== sender) return;
        p.sender = undefined;
        dropIfEmpty(p);
        hub.stateChanged(p.path);
      },
    };
    pipe.sender = sender;
    res.once('close', sender.onClose);
    touch(pipe);
    hub.stateChanged(pipe.path);
    maybeEstablish(pipe);
  }

  function onReceiver(req: Req, res: Res, t: PipeTarget): void {
    if (header(req, 'service-worker') === 'script') {
      return sendPipeError(res, 400, 'Service Worker registration is rejected.');
    }
    const wantsHtml = (header(req, 'accept') ?? '').includes('text/html');
    if (queryFlag(t.query, 'progress') === true) {
      if (wantsHtml) return servePage(res, false, 'dashboard', pageContext(req, t));
      const err = hub.attach(t.path, res);
      if (err !== undefined) sendPipeError(res, 429, err);
      return;
    }
    if (queryFlag(t.query, 'video') === true && wantsHtml) return servePage(res, false, 'video', pageContext(req, t));
    const n = parseReceiverCount(t.query, limits.maxReceivers);
    if (typeof n === 'string') return sendPipeError(res, 400, n);
    if (active.has(t.path)) return sendPipeError(res, 400, establishedError(t.path));
    let pipe = pending.get(t.path);
    if (pipe) {
      if (pipe.n !== n) return sendPipeError(res, 400, `The number of receivers should be ${pipe.n} but ${n}.`);
      if (pipe.receivers.length >= pipe.n)
        return sendPipeError(res, 400, 'The number of receivers has reached limits.');
      if (activeFullFor(pipe, false))
        return sendPipeError(res, 429, `Too many active pipes (max ${limits.maxActivePipes}).`);
    } else {
      if (pending.size >= limits.maxPendingPipes) {
        return sendPipeError(res, 429, `Too many pending pipes (max ${limits.maxPendingPipes}).`);
      }
      pipe = newPending(t.path, n);
    }
    const p = pipe;
    const receiver: PendingReceiver = {
      req,
      res,
      query: t.query,
      onClose: () => {
        const i = p.receivers.indexOf(receiver);
        if (i === -1) return;
        p.receivers.splice(i, 1);
        p.sender?.messages.info(`A receiver left (${p.receivers.length}/${p.n}).`);
        dropIfEmpty(p);
        hub.stateChanged(p.path);
      },
    };
    pipe.receivers.push(receiver);
    res.once('close', receiver.onClose);
    pipe.sender?.messages.info(`A receiver connected (${pipe.receivers.length}/${pipe.n}).`);
    touch(pipe);
    hub.stateChanged(pipe.path);
    maybeEstablish(pipe);
  }

  function handle(rawReq: PipeRequest, rawRes: PipeResponse): void {
    const req = asReq(rawReq);
    const res = asRes(rawRes);
    const http10 = req.httpVersion === '1.0';
    if (http10) forceHttp10StatusLine(rawRes);
    const method = (req.method ?? 'GET').toUpperCase();
    if (closed) return sendPipeError(res, 503, 'The pipe service is shutting down.');
    const t = parseTarget(req.url ?? '/', limits.maxPathLength);
    if (isTargetError(t)) return sendPipeError(res, t.status, t.message);
    if (method === 'OPTIONS') return preflight(req, res);
    const get = method === 'GET' || method === 'HEAD';
    if (t.prefixed && t.path === '/health') {
      if (!get) return sendPipeError(res, 405, `Unsupported method: ${method}.`, { Allow: 'GET, HEAD, OPTIONS' });
      // `application/json` without a charset, like the pipe's other answers (text/plain, no charset).
      sendJson(res, 200, health(), {
        head: method === 'HEAD',
        headers: { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' },
      });
      return;
    }
    if (isReservedPath(t.path)) {
      if (get) return serveReserved(res, method === 'HEAD', pageContext(req, t));
      if (method === 'POST' || method === 'PUT') {
        return sendPipeError(res, 400, `Cannot send to the reserved path '${t.path}'. (e.g. '/mypath123')`);
      }
      return sendPipeError(res, 405, `Unsupported method: ${method}.`, { Allow: ALLOWED_METHODS });
    }
    switch (method) {
      case 'POST':
      case 'PUT':
        return onSender(req, res, t, method, http10);
      case 'GET':
        return onReceiver(req, res, t);
      default:
        return sendPipeError(res, 405, `Unsupported method: ${method}.`, { Allow: ALLOWED_METHODS });
    }
  }

  const handler = ((req: PipeRequest, res: PipeResponse) => {
    try {
      handle(req, res);
    } catch (err) {
      logger.error({ err }, 'pipe: request failed');
      const r = asRes(res);
      if (!r.headersSent) sendPipeError(r, 500, 'Internal error.');
      else r.end();
    }
  }) as PipeHandler;

  handler.close = async () => {
    if (closing) return closing;
    closed = true;
    for (const pipe of [...pending.values()]) {
      pending.delete(pipe.path);
      clock.clearTimeout(pipe.timer);
      for (const r of pipe.receivers) {
        r.res.removeListener('close', r.onClose);
        sendPipeError(r.res, 503, 'The pipe service is shutting down.');
      }
      if (pipe.sender) {
        pipe.sender.res.removeListener('close', pipe.sender.onClose);
        pipe.sender.messages.fail(503, 'The pipe service is shutting down.');
      }
    }
    // Streaming transfers get closeGraceMs to finish; the rest are cut (receivers see truncation).
    closing = new Promise<void>((resolve) => {
      const finish = (): void => {
        clock.clearTimeout(graceTimer);
        for (const t of [...active.values()]) t.abort('The pipe service is shutting down.', 503);
        hub.close();
        resolve();
      };
      const graceTimer = active.size === 0 ? undefined : clock.setTimeout(finish, limits.closeGraceMs);
      if (active.size === 0) finish();
      else onIdle = finish;
    });
    return closing;
  };
  handler.stats = () => ({
    pending: pending.size,
    active: active.size,
    spectators: hub.count(),
    transfersCompleted: totals.completed,
    transfersFailed: totals.failed,
    bytesTransferred: totals.bytes + [...active.values()].reduce((s, t) => s + t.bytes, 0),
  });
  handler.pipes = () => [
    ...[...active.values()].map((t): PipeNow => ({
      path: t.path,
      state: 'streaming',
      since: t.startedAt,
      bytes: t.bytes,
      total: t.totalBytes,
      senders: 1,
      receivers: t.liveReceivers,
      expected: t.receiverCount,
    })),
    ...[...pending.values()].map((p): PipeNow => ({
      path: p.path,
      state: 'waiting',
      since: p.since,
      bytes: 0,
      total: undefined,
      senders: p.sender ? 1 : 0,
      receivers: p.receivers.length,
      expected: p.n,
    })),
  ];
  handler.health = health;
  handler.useLogger = (l: Logger) => {
    logger = l;
  };
  Object.defineProperty(handler, 'limits', { value: limits, enumerable: true });
  return handler;
}
