/**
 * The core's HTTP edge: forwards visitor requests and WebSocket upgrades to a tunnel. Byte-stream
 * tunnels get HTTP/1.1 spoken over their streams by Node's own http client (one pooled keep-alive
 * stream per concurrent request); message tunnels answer through their own handlers.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { BurrowError } from '../../core/errors.js';
import { STATUS_ABANDONED } from '../../core/http1.js';
import { forwardRequestHeaders, forwardResponseHeaders, serializeRequestHead, trailerFields } from './headers.js';
import { type Admission, errorHeaders, type Exchange, mayRetry } from './exchange.js';
import { rejectUpgrade, sendError } from './pages.js';
import type { PortTarget, RegisteredTunnel } from '../registry.js';

/** How long an idle pooled stream is kept for reuse, in ms (below Node's 5 s keep-alive default). */
export const POOLED_STREAM_IDLE_MS = 4_000;
/** Most idle pooled streams kept per tunnel. */
export const MAX_POOLED_STREAMS_PER_TUNNEL = 64;

export interface ProxyOptions {
  /** The request lifecycle both HTTP paths share (hook, visitor rules, 504, retry, records). */
  exchange: Exchange;
  trustProxy: boolean;
  /** Scheme visitors use ('https' behind a TLS proxy with --secure). */
  proto: (req: IncomingMessage) => string;
  clientAddress: (req: IncomingMessage) => string;
}

class TunnelHttpAgent extends http.Agent {
  readonly #tunnel: RegisteredTunnel;
  readonly #target: PortTarget | undefined;
  constructor(tunnel: RegisteredTunnel, target: PortTarget | undefined) {
    super({
      keepAlive: true,
      maxFreeSockets: MAX_POOLED_STREAMS_PER_TUNNEL,
      timeout: POOLED_STREAM_IDLE_MS,
      scheduling: 'lifo',
    });
    this.#tunnel = tunnel;
    this.#target = target;
  }

  override createConnection(
    options: http.ClientRequestArgs & { burrowRemoteAddress?: string },
    cb?: (err: Error | null, stream: Duplex) => void,
  ): undefined {
    if (!cb) throw new Error('TunnelHttpAgent.createConnection needs a callback');
    const tunnel = this.#tunnel;
    if (!tunnel.openStream) {
      cb(new BurrowError('BURROW_ERR_AGENT_GONE', 'this tunnel cannot carry streams'), undefined as unknown as Duplex);
      return undefined;
    }
    tunnel.openStream({ remoteAddress: options.burrowRemoteAddress ?? '', kind: 'http', target: this.#target }).then(
      (s) => cb(null, s),
      (err: Error) => cb(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

export class TunnelProxy {
  /** Pooled streams per tunnel, one pool per local port reached (the tunnel's own: key ''). */
  readonly #agents = new WeakMap<RegisteredTunnel, Map<string, TunnelHttpAgent>>();
  readonly #opts: ProxyOptions;

  constructor(options: ProxyOptions) {
    this.#opts = options;
  }

  /** Drop pooled streams of a closed tunnel. */
  forget(tunnel: RegisteredTunnel): void {
    for (const a of this.#agents.get(tunnel)?.values() ?? []) a.destroy();
    this.#agents.delete(tunnel);
  }

  #agentFor(tunnel: RegisteredTunnel, target: PortTarget | undefined): TunnelHttpAgent {
    let pools = this.#agents.get(tunnel);
    if (!pools) {
      pools = new Map();
      this.#agents.set(tunnel, pools);
    }
    const key = target ? `${target.port}/${target.tls ? 'https' : 'http'}` : '';
    let a = pools.get(key);
    if (!a) {
      a = new TunnelHttpAgent(tunnel, target);
      pools.set(key, a);
    }
    return a;
  }

  /** A visitor request for the tunnel (or for `target`, another local port of its agent's machine). */
  handleRequest(tunnel: RegisteredTunnel, req: IncomingMessage, res: ServerResponse, target?: PortTarget): void {
    const remoteAddress = this.#announce(tunnel, req);
    // no pause() before the access check: an unread request buffers by itself until forwarded
    this.#admit(tunnel, req, remoteAddress, (err, headers) => {
      if (err) sendError(req, res, err, headers);
      else this.#dispatch(tunnel, req, res, remoteAddress, target);
    });
  }

  /** Tell the onRequest hook; returns the visitor's address. */
  #announce(tunnel: RegisteredTunnel, req: IncomingMessage): string {
    const remoteAddress = this.#opts.clientAddress(req);
    this.#opts.exchange.announce(tunnel, {
      host: req.headers.host ?? '',
      path: req.url ?? '/',
      method: req.method ?? 'GET',
      remoteAddress,
      headers: () => req.headers,
    });
    return remoteAddress;
  }

  /** Apply the tunnel's visitor rules (if any), then call done() with a refusal or nothing. */
  #admit(
    tunnel: RegisteredTunnel,
    req: IncomingMessage,
    remoteAddress: string,
    done: (refusal: BurrowError | undefined, headers?: Record<string, string>) => void,
  ): void {
    const apply = (v: Admission): void => {
      if (!v.allow) {
        done(v.error, v.headers);
        return;
      }
      if (v.stripAuthorization) stripAuthorization(req);
      done(undefined);
    };
    const verdict = this.#opts.exchange.admit(tunnel, remoteAddress, req.headers.authorization);
    if (verdict instanceof Promise) void verdict.then(apply);
    else apply(verdict);
  }

  #dispatch(
    tunnel: RegisteredTunnel,
    req: IncomingMessage,
    res: ServerResponse,
    remoteAddress: string,
    target: PortTarget | undefined,
  ): void {
    if (tunnel.handleRequest) {
      tunnel.handleRequest(req, res);
      return;
    }
    this.#forward(tunnel, req, res, remoteAddress, target, false);
  }

  #forward(
    tunnel: RegisteredTunnel,
    req: IncomingMessage,
    res: ServerResponse,
    remoteAddress: string,
    target: PortTarget | undefined,
    isRetry: boolean,
  ): void {
    const started = performance.now();
    const exchange = this.#opts.exchange;
    const headers = forwardRequestHeaders(
      req.rawHeaders,
      {
        remoteAddress,
        proto: this.#opts.proto(req),
        host: req.headers.host ?? '',
        trustProxy: this.#opts.trustProxy,
      },
      'none',
      tunnel.hostHeader,
    );
    const hasBody =
      req.headers['content-length'] !== undefined
        ? req.headers['content-length'] !== '0'
        : req.headers['transfer-encoding'] !== undefined;
    const outReq = http.request({
      agent: this.#agentFor(tunnel, target),
      host: 'tunnel',
      port: 80,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers,
      setHost: false,
      burrowRemoteAddress: remoteAddress,
    } as http.RequestOptions);
    let done = false;
    let responded = false;
    /** Response body bytes to the visitor (counted only for an onResponse hook). */
    let bytes = 0;
    const timer = setTimeout(() => outReq.destroy(exchange.timeout()), exchange.requestTimeoutMs);
    timer.unref();

    const finish = (status: number): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      exchange.record(
        tunnel,
        {
          method: req.method ?? 'GET',
          host: req.headers.host ?? '',
          path: req.url ?? '/',
          remoteAddress,
          started,
          bytes,
        },
        status,
      );
    };

    outReq.on('response', (pres) => {
      responded = true;
      clearTimeout(timer);
      const status = pres.statusCode ?? 502;
      try {
        res.writeHead(status, pres.statusMessage, forwardResponseHeaders(pres.rawHeaders));
      } catch (err) {
        pres.destroy();
        sendError(req, res, new BurrowError('BURROW_ERR_ORIGIN_ERROR', (err as Error).message));
        finish(502);
        return;
      }
      // Streaming responses (no length: chunked, SSE) get their head at once; sized ones go out
      // with their first body bytes (one write instead of two).
      if (pres.headers['content-length'] === undefined) res.flushHeaders();
      // trailers (a chunked body's, or h2's) go on before pipe() ends the response
      pres.once('end', () => {
        if (pres.rawTrailers.length) res.addTrailers(trailerFields(pres.rawTrailers));
      });
      // pipe() with explicit endings: cheaper than pipeline() per request on this hot path.
      pres.pipe(res);
      if (exchange.wantsResponses) pres.on('data', (c: Buffer) => (bytes += c.length));
      pres.once('end', () => finish(status));
      pres.once('error', () => {
        finish(status);
        res.destroy();
      });
      pres.once('aborted', () => {
        finish(status);
        res.destroy();
      });
      res.once('close', () => {
        if (!pres.complete) {
          finish(status);
          pres.destroy();
          outReq.destroy();
        }
      });
    });

    outReq.on('error', (err) => {
      clearTimeout(timer);
      if (responded) {
        res.destroy();
        return;
      }
      // The visitor left first (its close aborted this request): nothing to answer or repeat.
      if (res.destroyed) {
        finish(STATUS_ABANDONED);
        return;
      }
      // A pooled stream the origin closed while idle: retry once on a fresh stream when no body was
      // sent and the method is safe to send twice.
      if (
        outReq.reusedSocket &&
        !isRetry &&
        mayRetry(req.method ?? '', hasBody, false) &&
        !(err instanceof BurrowError)
      ) {
        this.#forward(tunnel, req, res, remoteAddress, target, true);
        return;
      }
      const e = exchange.streamFault(tunnel, err);
      if (!done) exchange.fail(tunnel, e, 'proxy error');
      finish(e.status);
      sendError(req, res, e, errorHeaders(e));
    });

    res.on('close', () => {
      if (!res.writableFinished) outReq.destroy();
    });

    if (hasBody) {
      req.once('end', () => {
        if (req.rawTrailers.length) outReq.addTrailers(trailerFields(req.rawTrailers));
      });
      req.pipe(outReq);
      req.on('error', () => outReq.destroy());
    } else {
      outReq.end();
      req.resume();
    }
  }

  handleUpgrade(
    tunnel: RegisteredTunnel,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    target?: PortTarget,
  ): void {
    const remoteAddress = this.#announce(tunnel, req);
    this.#admit(tunnel, req, remoteAddress, (err, headers) => {
      if (err) rejectUpgrade(socket, err, headers);
      else this.#dispatchUpgrade(tunnel, req, socket, head, remoteAddress, target);
    });
  }

  #dispatchUpgrade(
    tunnel: RegisteredTunnel,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    remoteAddress: string,
    target: PortTarget | undefined,
  ): void {
    if (tunnel.handleUpgrade) {
      tunnel.handleUpgrade(req, socket, head);
      return;
    }
    if (!tunnel.openStream) {
      rejectUpgrade(socket, new BurrowError('BURROW_ERR_BAD_REQUEST', 'this tunnel does not carry WebSocket upgrades'));
      return;
    }
    socket.on('error', () => socket.destroy());
    tunnel.openStream({ remoteAddress, kind: 'upgrade', target }).then(
      (stream) => {
        if (socket.destroyed) {
          stream.destroy();
          return;
        }
        const headers = forwardRequestHeaders(
          req.rawHeaders,
          {
            remoteAddress,
            proto: this.#opts.proto(req),
            host: req.headers.host ?? '',
            trustProxy: this.#opts.trustProxy,
          },
          'upgrade',
          tunnel.hostHeader,
        );
        let answered = false;
        stream.write(serializeRequestHead(req.method ?? 'GET', req.url ?? '/', headers));
        if (head.length) stream.write(head);
        stream.on('data', () => {
          answered = true;
        });
        stream.on('error', (err) => {
          if (!answered) {
            rejectUpgrade(socket, this.#opts.exchange.streamFault(tunnel, err));
          } else socket.destroy();
        });
        socket.on('close', () => stream.destroy());
        stream.on('close', () => {
          if (answered) socket.destroy();
        });
        socket.pipe(stream);
        stream.pipe(socket);
      },
      (err: unknown) => rejectUpgrade(socket, err),
    );
  }
}

/** Remove the tunnel's own credentials so the origin never sees them. */
function stripAuthorization(req: IncomingMessage): void {
  delete req.headers.authorization;
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    if (raw[i]!.toLowerCase() === 'authorization') raw.splice(i, 2);
  }
}
