/**
 * One visitor request's life, written once for both HTTP paths — the relay (relay.ts, bytes over a
 * whole-connection stream) and the proxy (proxy.ts, Node's HTTP server and client):
 *
 *   announce  the onRequest hook hears of the request;
 *   admit     the tunnel's visitor rules (basic, bearer, IP, rate limit) let it in or refuse it
 *             (401/403/429 from the error table, with the rule's headers);
 *   forward   the head the origin gets carries X-Forwarded-For/-Proto/-Host (headers.ts);
 *   the 504   no response head within requestTimeoutMs of the request → BURROW_ERR_TIMEOUT;
 *   retry     a request the origin dropped unanswered is sent once more on a fresh stream when it
 *             has no body and its method is safe to send twice (RFC 9112 §9.3.1);
 *   record    metrics (count by status, duration) and the tunnel's completion record.
 *
 * Each path keeps its own mechanics (the relay one timer per connection, the proxy one per
 * request); the rules and what they produce live here.
 */
import { BurrowError, type ErrorCode } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { RETRYABLE_METHODS } from '../../core/http1.js';
import type { VisitorDecision } from '../admission.js';
import type { ServerHooks } from '../hooks.js';
import type { ServerMetrics } from '../metrics.js';
import type { RegisteredTunnel } from '../registry.js';
import { AGENT_GONE_RETRY_AFTER_S } from '../limits.js';
import { agentFault } from './pages.js';

export interface ExchangeOptions {
  logger: Logger;
  metrics: ServerMetrics;
  hooks: ServerHooks;
  /** The 504 rule: a response head must start within this many ms of the request. */
  requestTimeoutMs: number;
}

/** What the onRequest hook is told. Headers are built only when a hook listens. */
export interface Announcement {
  host: string;
  path: string;
  method: string;
  remoteAddress: string;
  headers: () => Record<string, string | string[] | undefined>;
}

/** A visitor rule's verdict: in (perhaps without the Authorization field), or refused with a page. */
export type Admission =
  | { readonly allow: true; readonly stripAuthorization: boolean }
  | { readonly allow: false; readonly error: BurrowError; readonly headers: Record<string, string> };

const PASS: Admission = Object.freeze({ allow: true, stripAuthorization: false });
const PASS_STRIPPED: Admission = Object.freeze({ allow: true, stripAuthorization: true });

/** Status label strings made once (a metrics label per request otherwise allocates one). */
const STATUS_LABELS: readonly string[] = Array.from({ length: 600 }, (_, i) => String(i));

/**
 * The label objects of a protocol's requests (by status) and durations, made once: prom-client's
 * `labels(…)` builds a label object and a bound child per call, which was a tenth of what the server
 * allocated per proxied request (bench/RESULTS.md).
 */
interface ProtocolLabels {
  readonly protocol: { readonly protocol: string };
  readonly byStatus: ({ readonly protocol: string; readonly status: string } | undefined)[];
}
const LABELS = new Map<string, ProtocolLabels>();

function labelsOf(protocol: string): ProtocolLabels {
  let l = LABELS.get(protocol);
  if (l === undefined) LABELS.set(protocol, (l = { protocol: Object.freeze({ protocol }), byStatus: [] }));
  return l;
}

function statusLabels(l: ProtocolLabels, status: number): { readonly protocol: string; readonly status: string } {
  const cached = l.byStatus[status];
  if (cached !== undefined) return cached;
  const made = Object.freeze({ protocol: l.protocol.protocol, status: STATUS_LABELS[status] ?? String(status) });
  if (STATUS_LABELS[status] !== undefined) l.byStatus[status] = made;
  return made;
}

/** Visitors get visitor advice, not the agent-token advice of the same statuses. */
const VISITOR_CODES: Readonly<Record<string, ErrorCode>> = {
  BURROW_ERR_UNAUTHORIZED: 'BURROW_ERR_VISITOR_UNAUTHORIZED',
  BURROW_ERR_FORBIDDEN: 'BURROW_ERR_VISITOR_FORBIDDEN',
  BURROW_ERR_RATE_LIMITED: 'BURROW_ERR_VISITOR_RATE_LIMITED',
};

export class Exchange {
  readonly #o: ExchangeOptions;

  constructor(options: ExchangeOptions) {
    this.#o = options;
  }

  get requestTimeoutMs(): number {
    return this.#o.requestTimeoutMs;
  }

  /** True when an onRequest hook listens (a path may skip building the announcement otherwise). */
  get announces(): boolean {
    return this.#o.hooks.onRequest !== undefined;
  }

  /** Tell the onRequest hook (if any) about a request for this tunnel. */
  announce(tunnel: RegisteredTunnel, a: Announcement): void {
    const hook = this.#o.hooks.onRequest;
    if (!hook) return;
    hook({
      domain: a.host,
      path: a.path,
      method: a.method,
      tunnelId: tunnel.id,
      headers: a.headers(),
      remoteAddress: a.remoteAddress,
    });
  }

  /**
   * Apply the tunnel's visitor rules. PASS when it has none; the verdict at once when the rules
   * can tell without waiting (IP rules, rate limit, a known credential); a promise only when they
   * must (a stored password's first scrypt check). Refusals are already counted in the error metric.
   */
  admit(
    tunnel: RegisteredTunnel,
    remoteAddress: string,
    authorization: string | readonly string[] | undefined,
  ): Admission | Promise<Admission> {
    if (!tunnel.access) return PASS;
    let d: VisitorDecision | Promise<VisitorDecision>;
    try {
      d = tunnel.access.check({ remoteAddress, authorization });
    } catch (err) {
      return this.#broken(tunnel, err);
    }
    return d instanceof Promise
      ? d.then(
          (v) => this.#admission(v),
          (err: unknown) => this.#broken(tunnel, err),
        )
      : this.#admission(d);
  }

  #admission(d: VisitorDecision): Admission {
    if (d.allow) return d.stripAuthorization ? PASS_STRIPPED : PASS;
    this.#o.metrics.errors.inc({ code: d.code });
    return { allow: false, error: visitorError(d.code, d.message), headers: flatten(d.headers) };
  }

  /** The rules themselves failed (a bug in burrow): refuse, 500, and say so in the log. */
  #broken(tunnel: RegisteredTunnel, err: unknown): Admission {
    const error = new BurrowError(
      'BURROW_ERR_INTERNAL',
      'checking the visitor rules failed; the server log has the details',
    );
    this.#o.metrics.errors.inc({ code: error.code });
    this.#o.logger.error({ tunnel: tunnel.name, err: String(err) }, 'visitor rules check failed');
    return { allow: false, error, headers: {} };
  }

  /** The 504 answer for a request whose response did not start in time. */
  timeout(): BurrowError {
    return new BurrowError('BURROW_ERR_TIMEOUT', `no response within ${this.#o.requestTimeoutMs} ms`);
  }

  /** An error from the stream or the agent, as the visitor sees it (an agent's protocol fault is logged). */
  streamFault(tunnel: RegisteredTunnel, err: unknown): BurrowError {
    return agentFault(err, (agentError) =>
      this.#o.logger.warn({ tunnel: tunnel.name, agentError }, 'protocol error from the tunnel client'),
    );
  }

  /** Count an error burrow answers (or cuts a connection for) and note it at debug level. */
  fail(tunnel: RegisteredTunnel | undefined, e: BurrowError, what: string): void {
    this.#o.metrics.errors.inc({ code: e.code });
    this.#o.logger.debug({ tunnel: tunnel?.name, code: e.code, err: e.message }, what);
  }

  /** A visitor connection the relay took (counted in burrow_relayed_connections_total). */
  relayed(): void {
    this.#o.metrics.relayedConnections.inc();
  }

  /** True when an onResponse hook listens (then the paths count response bytes). */
  get wantsResponses(): boolean {
    return this.#o.hooks.onResponse !== undefined;
  }

  /** A finished request: metrics, the tunnel's completion record, the onResponse hook (access log). */
  record(tunnel: RegisteredTunnel, r: Finished, status: number): void {
    const durationMs = Math.round((performance.now() - r.started) * 10) / 10;
    const m = this.#o.metrics;
    const labels = labelsOf(tunnel.protocol);
    m.requests.inc(statusLabels(labels, status));
    m.requestDuration.observe(labels.protocol, durationMs / 1000);
    tunnel.onRequestComplete?.({ method: r.method, path: r.path, status, durationMs });
    this.#o.hooks.onResponse?.({
      tunnelId: tunnel.id,
      tunnel: tunnel.name,
      method: r.method,
      host: r.host,
      path: r.path,
      status,
      bytes: r.bytes,
      durationMs,
      remoteAddress: r.remoteAddress,
    });
  }
}

/** What a path knows of a request when it ends. `started` is performance.now() at its head. */
export interface Finished {
  readonly method: string;
  readonly host: string;
  readonly path: string;
  readonly remoteAddress: string;
  readonly started: number;
  /** Response bytes sent to the visitor so far. */
  readonly bytes: number;
}

/** May this request be sent again on a fresh stream if the origin drops it unanswered? */
export function mayRetry(method: string, hasBody: boolean, upgrade: boolean): boolean {
  return !hasBody && !upgrade && RETRYABLE_METHODS.has(method);
}

/** Extra response headers an error page carries (a client may come back when the agent is). */
export function errorHeaders(e: BurrowError): Record<string, string> | undefined {
  return e.code === 'BURROW_ERR_AGENT_GONE' ? { 'Retry-After': String(AGENT_GONE_RETRY_AFTER_S) } : undefined;
}

function visitorError(code: string, message: string): BurrowError {
  const err = new BurrowError(VISITOR_CODES[code] ?? 'BURROW_ERR_VISITOR_FORBIDDEN');
  Object.defineProperty(err, 'message', { value: message });
  return err;
}

function flatten(headers: Readonly<Record<string, string | readonly string[]>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = typeof v === 'string' ? v : v.join(', ');
  return out;
}
