/**
 * A tunely tunnel in the core registry: it answers HTTP itself by turning each visitor request into
 * a JSON `request` for its agent. The tunnel outlives its agent for a grace period (visitors get
 * 503, a reconnecting agent gets the same tunnel back); WebSocket upgrades get a clear 501.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { BurrowError } from '../../core/errors.js';
import type { ServerContext } from '../../server/adapter.js';
import type { RegisteredTunnel, TunnelStats } from '../../server/registry.js';
import type { TunelyAgent } from './agent.js';
import { readTextBody } from './body.js';
import { TunelyExchange } from './exchange.js';
import { requestHeadersForAgent, type VisitorInfo } from './headers.js';
import { requestMessage } from './wire.js';
import './errors.js';

export interface TunelyTunnelLimits {
  requestTimeoutMs: number;
  maxBodyBytes: number;
  maxPendingPerAgent: number;
  maxAgentBufferedBytes: number;
  maxVisitorBufferedBytes: number;
}

export class TunelyTunnel implements RegisteredTunnel {
  readonly id = randomUUID();
  readonly protocol = 'tunely' as const;
  readonly kind = 'http' as const;
  readonly createdAt = Date.now();
  agent: TunelyAgent | undefined;
  /** Releases the name after the offline grace period. */
  offlineTimer: NodeJS.Timeout | undefined;
  readonly #ctx: ServerContext;
  readonly #limits: TunelyTunnelLimits;
  #closed = false;
  #total = 0;
  #requests = 0;
  #bytesIn = 0;
  #bytesOut = 0;

  constructor(
    readonly name: string,
    readonly url: string,
    ctx: ServerContext,
    limits: TunelyTunnelLimits,
    /** The token whose agents may attach (this one and no other: another token is refused, even with force). */
    readonly ownerTokenId: string,
  ) {
    this.#ctx = ctx;
    this.#limits = limits;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Visitors on <name>.<domain> (the core routes them here). */
  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const proto = new URL(this.#ctx.publicUrlFor(this.name, req)).protocol.replace(':', '');
    this.forward(req, res, req.url ?? '/', {
      remoteAddress: this.#ctx.clientAddress(req),
      proto,
      host: req.headers.host ?? '',
    });
  }

  handleUpgrade(_req: IncomingMessage, socket: Duplex): void {
    this.#ctx.metrics.errors.inc({ code: 'BURROW_ERR_TUNELY_NO_WEBSOCKET' });
    this.#ctx.rejectUpgrade(
      socket,
      new BurrowError('BURROW_ERR_TUNELY_NO_WEBSOCKET', `tunnel "${this.name}" is served by a tunely agent`),
    );
  }

  /** Send one visitor request to the agent; `path` is what the agent sees (with the query). */
  forward(req: IncomingMessage, res: ServerResponse, path: string, visitor: VisitorInfo): void {
    const started = process.hrtime.bigint();
    const { metrics } = this.#ctx;
    const refuse = (err: BurrowError): void => {
      metrics.errors.inc({ code: err.code });
      this.#record(err.status, started);
      if (res.headersSent || res.destroyed) return;
      // The rest of an oversized body is not read: close the connection after the answer.
      if (err.code === 'BURROW_ERR_TUNELY_BODY_TOO_LARGE') res.setHeader('Connection', 'close');
      this.#ctx.sendError(req, res, err);
    };
    const offline = (): BurrowError =>
      new BurrowError('BURROW_ERR_TUNELY_AGENT_OFFLINE', `tunnel "${this.name}" has no agent connected right now`);
    const check = (): TunelyAgent | BurrowError => {
      const agent = this.agent;
      if (!agent?.open) return offline();
      if (agent.exchanges.size >= this.#limits.maxPendingPerAgent) {
        return new BurrowError(
          'BURROW_ERR_STREAM_LIMIT',
          `${this.#limits.maxPendingPerAgent} requests in flight on "${this.name}"`,
        );
      }
      if (agent.ws.bufferedAmount > this.#limits.maxAgentBufferedBytes) {
        return new BurrowError(
          'BURROW_ERR_STREAM_LIMIT',
          `the connection to the tunely agent of "${this.name}" is congested`,
        );
      }
      return agent;
    };
    const first = check();
    if (first instanceof BurrowError) {
      req.resume();
      refuse(first);
      return;
    }
    readTextBody(req, this.#limits.maxBodyBytes).then(
      (body) => {
        if (res.destroyed) return;
        const agent = check();
        if (agent instanceof BurrowError) return refuse(agent);
        this.#send(agent, req, res, path, visitor, body, started);
      },
      (err: unknown) => {
        if (err instanceof BurrowError) return refuse(err);
        res.destroy(); // the visitor went away while sending its body
      },
    );
  }

  #send(
    agent: TunelyAgent,
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    visitor: VisitorInfo,
    body: string | null,
    started: bigint,
  ): void {
    const { metrics } = this.#ctx;
    const id = randomUUID();
    const bytesIn = body === null ? 0 : Buffer.byteLength(body);
    this.#total++;
    this.#bytesIn += bytesIn;
    metrics.bytes.inc({ direction: 'in', protocol: 'tunely' }, bytesIn);
    metrics.streamOpened('tunely');
    const ex = new TunelyExchange({
      id,
      req,
      res,
      timeoutMs: this.#limits.requestTimeoutMs,
      maxVisitorBufferedBytes: this.#limits.maxVisitorBufferedBytes,
      onDone: ({ status, bytesOut, code }) => {
        agent.exchanges.delete(id);
        metrics.streamClosed('tunely');
        metrics.bytes.inc({ direction: 'out', protocol: 'tunely' }, bytesOut);
        this.#bytesOut += bytesOut;
        if (code !== undefined) metrics.errors.inc({ code });
        this.#record(status, started);
      },
    });
    agent.exchanges.set(id, ex);
    const sent = agent.send(
      requestMessage({
        id,
        method: (req.method ?? 'GET').toUpperCase(),
        path,
        headers: requestHeadersForAgent(req.rawHeaders, visitor),
        body,
        timeout: this.#limits.requestTimeoutMs / 1000,
      }),
    );
    if (!sent) ex.fail(new BurrowError('BURROW_ERR_AGENT_GONE', `the tunely agent of "${this.name}" disconnected`));
  }

  #record(status: number, started: bigint): void {
    this.#requests++;
    const { metrics } = this.#ctx;
    metrics.requests.inc({ protocol: 'tunely', status: String(status) });
    metrics.requestDuration.observe({ protocol: 'tunely' }, Number(process.hrtime.bigint() - started) / 1e9);
  }

  /** Give the tunnel its (new) agent. */
  attach(agent: TunelyAgent): void {
    if (this.offlineTimer) clearTimeout(this.offlineTimer);
    this.offlineTimer = undefined;
    this.agent = agent;
  }

  /**
   * Forget an agent, by socket identity: a replaced agent's late close must not detach its
   * successor. Its requests in flight fail at once (502). Returns true when it was the tunnel's agent.
   */
  detach(agent: TunelyAgent, err: BurrowError): boolean {
    agent.failAll(err);
    if (this.agent !== agent) return false;
    this.agent = undefined;
    return true;
  }

  stats(): TunnelStats {
    return {
      openStreams: this.agent?.exchanges.size ?? 0,
      totalStreams: this.#total,
      bytesIn: this.#bytesIn,
      bytesOut: this.#bytesOut,
      requests: this.#requests,
      connectedSockets: this.agent?.open ? 1 : 0,
    };
  }

  close(reason?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.offlineTimer) clearTimeout(this.offlineTimer);
    this.offlineTimer = undefined;
    const agent = this.agent;
    if (agent) {
      this.detach(agent, new BurrowError('BURROW_ERR_AGENT_GONE', reason ?? `tunnel "${this.name}" closed`));
      agent.close(1001, (reason ?? 'Tunnel closed').slice(0, 120));
    }
  }
}
