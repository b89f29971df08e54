/**
 * The connection relay: the fast path for HTTP/1.1 tunnels. A visitor connection whose first
 * request addresses a tunnel whose streams may carry a whole connection (Tunnel.streamPerConnection:
 * burrow's multiplexed agents) becomes one
 * stream to that tunnel for its whole life, like a TCP proxy that understands just enough HTTP:
 *
 * - request heads are parsed (strictly, see src/core/http1.ts) and re-written with X-Forwarded-* (and the
 *   tunnel's Host), bodies pass through by their framing;
 * - response bytes pass through untouched; ResponseReader only watches where each response ends,
 *   for request logs, metrics, the 504 timer and the 502 page when the agent goes away;
 * - errors the relay answers itself (400/405/408/431/501/505/502/504, from the error table) close
 *   the connection after them.
 *
 * Anything the relay does not carry is handed to Node's HTTP server with the bytes read so far put
 * back (handOff, socket-handoff.ts): the server's own host (API, adapters), unknown tunnels, tunnels
 * with visitor rules, per-request streams (localtunnel pools) or message transports. A later request on the same connection for another host (a proxy in
 * front pooling connections) is routed again once the responses in flight are done: to that
 * tunnel's own stream, or to Node's HTTP server.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { BurrowError } from '../../core/errors.js';
import { forwardedFor, forwardedProto, normaliseAddress } from '../host.js';
import { forwardRequestHeaders, serializeRequestHead } from './headers.js';
import {
  checkPartialHead,
  HttpFramingError,
  RequestReader,
  ResponseReader,
  STATUS_ABANDONED,
  type RequestHead,
  type RequestItem,
} from '../../core/http1.js';
import { errorHeaders, type Admission, type Exchange, type Finished, mayRetry } from './exchange.js';
import { asBurrowError, errorResponseBytes, framingError, headTimeout } from './pages.js';
import type { HandOff } from './socket-handoff.js';
import { samePortTarget, type PortTarget, type RegisteredTunnel } from '../registry.js';
import { RELAY_IDLE_TIMEOUT_MS } from '../limits.js';

const EMPTY: Buffer = Buffer.alloc(0);
/** The verdict for a tunnel without visitor rules. */
const OPEN_DOOR: Admission = Object.freeze({ allow: true, stripAuthorization: false });

export interface RelayOptions {
  /** The request lifecycle both HTTP paths share (hook, visitor rules, 504, retry, records). */
  exchange: Exchange;
  /** A request head must be whole this long after its first byte (HEAD_TIMEOUT_MS by default). */
  headTimeoutMs: number;
  maxHeaderBytes: number;
  trustProxy: boolean;
  /** Visitors reach the server over https (--secure, or TLS served directly). */
  secure: boolean;
  /**
   * The tunnel (and which local port of it) a Host header value addresses, if the relay may carry
   * its requests; undefined hands the connection to Node's HTTP server.
   */
  route(host: string): RelayRoute | undefined;
  /** In-flight request accounting for graceful drain (+1 per request, -1 when it ends). */
  onActive(delta: number): void;
}

/** Where a relayed connection's stream goes: a tunnel, and one of its other local ports or its own. */
export interface RelayRoute {
  readonly tunnel: RegisteredTunnel;
  readonly target?: PortTarget | undefined;
}

interface Pending extends Finished {
  readonly method: string;
  readonly path: string;
  readonly started: number;
  /** Response bytes passed to the visitor (a chunk counts for the oldest request in flight). */
  bytes: number;
  readonly wantsHtml: boolean;
  readonly upgrade: boolean;
  /** The visitor asked to close after this answer (RequestHead.closes). */
  readonly closes: boolean;
  /** The forwarded head, kept while the request can be sent again (no body, nothing answered). */
  readonly retryHead: Buffer | undefined;
  status: number;
}

/** Accepts visitor connections; relays the ones it can carry, hands the rest to Node's HTTP server. */
export class HttpRelay {
  readonly #o: RelayOptions;
  readonly #conns = new Set<RelayConnection>();
  #closing = false;

  constructor(options: RelayOptions) {
    this.#o = options;
  }

  /** Connections being relayed now. */
  get connections(): number {
    return this.#conns.size;
  }

  /**
   * Take a fresh visitor connection: read its first request head, then either relay it or put the
   * bytes back and call handOff(socket, bytes) (which gives it to Node's HTTP server).
   */
  accept(socket: Socket, handOff: HandOff): void {
    if (this.#closing) {
      handOff(socket, EMPTY);
      return;
    }
    let buf: Buffer = EMPTY;
    const cleanup = (): void => {
      socket.removeListener('data', onData);
      socket.removeListener('error', onGone);
      socket.removeListener('end', onGone);
      clearTimeout(deadline);
    };
    // the first head must be whole this soon after connecting, however the bytes trickle in
    const deadline = setTimeout(() => {
      cleanup();
      if (buf.length) this.#refuse(socket, headTimeout(this.#o.headTimeoutMs));
      else socket.destroy();
    }, this.#o.headTimeoutMs);
    const onGone = (): void => {
      cleanup();
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      const first = buf[0]!;
      // not a request line (TLS on the plain port, PROXY protocol, binary junk): Node answers it
      if (first < 0x41 || first > 0x5a) {
        cleanup();
        handOff(socket, buf);
        return;
      }
      const end = buf.indexOf('\r\n\r\n', 0, 'latin1');
      if (end === -1) {
        if (buf.length > this.#o.maxHeaderBytes) {
          cleanup();
          handOff(socket, buf);
          return;
        }
        try {
          checkPartialHead(buf, 0);
        } catch (err) {
          if (!(err instanceof HttpFramingError)) throw err;
          cleanup();
          this.#refuse(socket, framingError(err));
        }
        return;
      }
      cleanup();
      this.#dispatch(socket, buf, end, handOff);
    };
    socket.on('data', onData);
    socket.on('error', onGone);
    socket.on('end', onGone); // closed before a whole head: nothing to answer
  }

  /** Answer a connection that never became a request (from the error table), count it, close. */
  #refuse(socket: Socket, e: BurrowError): void {
    this.#o.exchange.fail(undefined, e, 'visitor connection refused');
    socket.on('error', () => socket.destroy());
    socket.write(errorResponseBytes(e));
    socket.destroySoon();
  }

  /**
   * Route a connection by the request head ending at `end` in buf: relay it to its tunnel, or hand
   * it to Node's HTTP server. A relayed connection whose visitor turns to another host comes back
   * here (a proxy in front pools connections across hosts), so it can move to another tunnel.
   */
  #dispatch(socket: Socket, buf: Buffer, end: number, handOff: HandOff): void {
    const host = hostField(buf.toString('latin1', 0, end));
    const route = host === undefined || this.#closing ? undefined : this.#o.route(host);
    if (!route) {
      handOff(socket, buf);
      return;
    }
    const next = (rest: Buffer): void => this.#dispatch(socket, rest, rest.indexOf('\r\n\r\n', 0, 'latin1'), handOff);
    const conn = new RelayConnection(this.#o, socket, route, host!, next, () => this.#conns.delete(conn));
    this.#conns.add(conn);
    this.#o.exchange.relayed();
    conn.start(buf);
  }

  /** Graceful stop: idle connections close now, busy ones after their responses. */
  shutdown(): void {
    this.#closing = true;
    for (const c of this.#conns) c.shutdown();
  }

  /** Cut every relayed connection (end of the drain). */
  destroyAll(): void {
    for (const c of this.#conns) c.destroy();
  }
}

/** The Host field of a request head (without the request line), or undefined. */
function hostField(head: string): string | undefined {
  let at = 0;
  for (;;) {
    const nl = head.indexOf('\r\n', at);
    if (nl === -1) return undefined;
    at = nl + 2;
    if (head.length - at > 5 && (head.charCodeAt(at) | 0x20) === 0x68 && /^host:/i.test(head.slice(at, at + 5))) {
      const end = head.indexOf('\r\n', at);
      return head.slice(at + 5, end === -1 ? undefined : end).trim();
    }
  }
}

/**
 * Where a relayed connection is in its life. One value; the few facts it does not say (the
 * stream, whether the visitor or the stream is full, whether a retry was spent) sit beside it.
 *
 *   relaying ──head with visitor rules──▶ admitting ──allowed──▶ relaying
 *      │                                     └──refused──▶ finishing
 *      ├──bad framing, head timeout, another host, shutdown, upgrade refused──▶ finishing
 *      ├──101 Switching Protocols──▶ raw
 *      └──(any phase) closed, cut, or handed on──▶ closed
 *
 * finishing: no more is read from the visitor; the responses in flight complete, then `#after`
 * runs (answer an error page, hand the rest to Node's HTTP server, or just close).
 */
type Phase = 'relaying' | 'admitting' | 'finishing' | 'raw' | 'closed';

/** What a finishing connection does once its responses in flight are done. */
type After =
  | {
      readonly kind: 'answer';
      readonly err: unknown;
      readonly page?: PageFor;
      readonly headers?: Record<string, string>;
    }
  | { readonly kind: 'hand-off'; readonly rest: Buffer }
  | { readonly kind: 'close' };

/** Which request an error page answers (for HTML vs JSON and HEAD) when it never reached the origin. */
interface PageFor {
  readonly wantsHtml: boolean;
  readonly method: string;
}

/** A refusal wins over a hand-off (the bytes that failed are not in the rest), a hand-off over a plain close. */
const AFTER_RANK: Readonly<Record<After['kind'], number>> = { answer: 3, 'hand-off': 2, close: 1 };

class RelayConnection {
  readonly #o: RelayOptions;
  readonly #x: Exchange;
  readonly #socket: Socket;
  readonly #tunnel: RegisteredTunnel;
  /** Another local port of the agent's machine (a port-addressed host), or undefined for the tunnel's own. */
  readonly #target: PortTarget | undefined;
  readonly #host: string;
  /** Where the connection goes when its visitor turns to another host (see HttpRelay#dispatch). */
  readonly #next: (rest: Buffer) => void;
  readonly #onGone: () => void;
  readonly #reader: RequestReader;
  readonly #responses: ResponseReader;
  readonly #pending: Pending[] = [];
  readonly #remoteAddress: string;
  readonly #proto: string;
  #phase: Phase = 'relaying';
  #after: After | undefined;
  /** The stream to the origin: undefined before the first request, 'opening' while the agent opens it. */
  #stream: Duplex | 'opening' | undefined;
  /** Bytes for the stream while it is being opened. */
  #queued: Buffer[] = [];
  /** Items read while a head waits for the visitor rules (admitting). */
  #backlog: RequestItem[] = [];
  #retried = false;
  #timer: NodeJS.Timeout | undefined;
  /** Runs from the first byte of a request head until the head is whole (HEAD_TIMEOUT_MS). */
  #headTimer: NodeJS.Timeout | undefined;
  /** The X-Forwarded-* lines appended to plain heads, made for #suffixHost. */
  #suffix: Buffer | undefined;
  #suffixHost = '';
  /** Waiting for the visitor socket / the stream to drain (the other side is paused). */
  #socketFull = false;
  #streamFull = false;

  constructor(
    o: RelayOptions,
    socket: Socket,
    route: RelayRoute,
    host: string,
    next: (rest: Buffer) => void,
    onGone: () => void,
  ) {
    this.#o = o;
    this.#x = o.exchange;
    this.#socket = socket;
    this.#tunnel = route.tunnel;
    this.#target = route.target;
    this.#host = host;
    this.#next = next;
    this.#onGone = onGone;
    this.#reader = new RequestReader(o.maxHeaderBytes);
    this.#responses = new ResponseReader(
      o.maxHeaderBytes,
      {
        onHead: (status, interim) => this.#onResponseHead(status, interim),
        onComplete: () => this.#onResponseComplete(),
        onSwitch: () => this.#onSwitch(),
      },
      () => this.#pending[0],
    );
    this.#remoteAddress = normaliseAddress(socket.remoteAddress ?? '');
    this.#proto = o.secure || (socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  }

  /** The phase, for tests and debugging. */
  get phase(): Phase {
    return this.#phase;
  }

  start(first: Buffer): void {
    const s = this.#socket;
    s.setNoDelay(true);
    s.on('data', this.#onVisitorData);
    s.on('end', this.#onVisitorEnd);
    s.on('error', this.#onVisitorGone);
    s.on('close', this.#onVisitorGone);
    s.on('timeout', this.#onIdle);
    s.setTimeout(RELAY_IDLE_TIMEOUT_MS);
    s.resume(); // paused when it comes from another relay connection (#release)
    this.#onVisitorData(first);
  }

  readonly #onVisitorEnd = (): void => {
    // items still waiting for the visitor rules go first; the half-close follows them (#admitted)
    if (this.#phase === 'admitting') return;
    // the visitor finished sending: the origin sees the same half-close
    if (this.#stream === 'opening') return; // #attach ends it
    if (this.#stream) this.#stream.end();
    else this.destroy();
  };

  readonly #onVisitorGone = (): void => this.destroy();

  /** An idle keep-alive connection closes; a response in progress (SSE) or a switched protocol (WebSocket) may stay quiet. */
  readonly #onIdle = (): void => {
    if (this.#pending.length === 0 && this.#phase !== 'raw' && this.#phase !== 'admitting') this.destroy();
  };

  shutdown(): void {
    this.#finishWith({ kind: 'close' });
    this.#settle();
  }

  destroy(): void {
    if (this.#phase === 'closed') return;
    this.#close();
    if (this.#pending.length) this.#o.onActive(-this.#pending.length);
    this.#pending.length = 0;
    this.#socket.destroy();
    if (this.#stream !== 'opening') this.#stream?.destroy();
    this.#onGone();
  }

  /** Close once everything written has left (FIN, then the socket goes), then let go. */
  #end(): void {
    if (this.#phase === 'closed') return;
    this.#close();
    this.#socket.destroySoon();
    if (this.#stream !== 'opening') this.#stream?.destroy(); // nothing more is owed either way
    this.#onGone();
  }

  /** Enter `closed`: timers stop; nothing that arrives later acts. */
  #close(): void {
    this.#phase = 'closed';
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#headTimer) clearTimeout(this.#headTimer);
  }

  /** Stop reading the visitor and finish the responses in flight; then `after` (or a stronger one already chosen). */
  #finishWith(after: After): void {
    if (this.#phase === 'closed' || this.#phase === 'raw') return;
    if (!this.#after || AFTER_RANK[after.kind] > AFTER_RANK[this.#after.kind]) this.#after = after;
    if (this.#phase === 'finishing') return;
    this.#phase = 'finishing';
    this.#backlog = [];
    this.#socket.removeListener('data', this.#onVisitorData);
    this.#socket.pause();
  }

  readonly #onVisitorData = (chunk: Buffer): void => {
    if (this.#phase === 'closed') return;
    const items = this.#reader.push(chunk);
    if (this.#phase === 'admitting') {
      for (const item of items) this.#backlog.push(item);
      this.#watchHead(items.length > 0);
      return;
    }
    this.#process(items);
  };

  /** Forward what the reader found (heads rewritten, bodies as they are), stopping at a head that must be admitted. */
  #process(items: RequestItem[]): void {
    let out: Buffer[] | undefined;
    let outBytes = 0;
    let k = 0;
    for (; k < items.length; k++) {
      const item = items[k]!;
      if (item.body) {
        (out ??= []).push(item.body);
        outBytes += item.body.length;
        continue;
      }
      const head = item.head;
      if (head.host !== this.#host && !this.#sameRoute(head.host)) {
        // another host on the same connection (a proxy in front pooling connections): finish what
        // is in flight, then route the rest again (another tunnel, or Node's HTTP server)
        const rest: Buffer[] = [head.raw];
        for (let j = k + 1; j < items.length; j++) rest.push(items[j]!.head?.raw ?? items[j]!.body!);
        rest.push(this.#reader.takeBuffered());
        this.#finishWith({ kind: 'hand-off', rest: Buffer.concat(rest) });
        break;
      }
      const remoteAddress = this.#visitorAddress(head);
      // the hot path allocates nothing for a hook nobody set or rules the tunnel does not have
      if (this.#x.announces) {
        this.#x.announce(this.#tunnel, {
          host: head.host,
          path: head.target,
          method: head.method,
          remoteAddress,
          headers: () => headersObject(head.headers),
        });
      }
      const verdict = this.#tunnel.access
        ? this.#x.admit(this.#tunnel, remoteAddress, field(head, 'authorization'))
        : OPEN_DOOR;
      if (verdict instanceof Promise) {
        // what came before goes now; the rest waits for the verdict, in order
        if (out) this.#send(out.length === 1 ? out[0]! : Buffer.concat(out, outBytes));
        this.#backlog = items.slice(k + 1);
        this.#phase = 'admitting';
        this.#socket.pause();
        void verdict.then((v) => this.#admitted(head, v));
        return;
      }
      if (!verdict.allow) {
        // refused at once: what came before goes; this one is answered after the responses in flight
        if (out) this.#send(out.length === 1 ? out[0]! : Buffer.concat(out, outBytes));
        out = undefined;
        this.#refuse(head, verdict);
        break;
      }
      const fwd = this.#forwardHead(head, remoteAddress, verdict.stripAuthorization);
      (out ??= []).push(fwd);
      outBytes += fwd.length;
    }
    if (out) this.#send(out.length === 1 ? out[0]! : Buffer.concat(out, outBytes));
    this.#watchHead(items.length > 0);
    const failed = this.#reader.failed;
    if (failed && (this.#phase === 'relaying' || this.#phase === 'finishing')) {
      const err = framingError(failed);
      this.#finishWith({ kind: 'answer', err });
      // a broken body: the origin waits for the rest, which never comes; answer now
      if (this.#reader.failedMidBody) {
        if (this.#responses.started) this.#cut(err);
        else this.#answerAndClose(err);
        return;
      }
    }
    this.#settle();
  }

  /** The visitor rules answered for `head`: forward it and go on with the backlog, or refuse it. */
  #admitted(head: RequestHead, v: Admission): void {
    if (this.#phase !== 'admitting') return; // closed meanwhile
    this.#phase = 'relaying';
    const backlog = this.#backlog;
    this.#backlog = [];
    if (!v.allow) {
      this.#refuse(head, v);
      this.#settle();
      return;
    }
    this.#send(this.#forwardHead(head, this.#visitorAddress(head), v.stripAuthorization));
    if (this.#phase !== 'relaying') return;
    this.#process(backlog);
    if (this.#phase === 'relaying' || this.#phase === 'admitting') {
      if (this.#socket.readableEnded) this.#onVisitorEnd();
      else this.#resumeVisitor();
    }
  }

  /** Does another Host value on this connection reach the same tunnel and local port? */
  #sameRoute(host: string): boolean {
    const r = this.#o.route(host);
    return r !== undefined && r.tunnel === this.#tunnel && samePortTarget(r.target, this.#target);
  }

  /** The visitor rules refused `head`: answer it after the responses in flight, then close. */
  #refuse(head: RequestHead, v: Admission & { allow: false }): void {
    this.#finishWith({
      kind: 'answer',
      err: v.error,
      page: { wantsHtml: head.wantsHtml, method: head.method },
      headers: v.headers,
    });
  }

  /**
   * Keep the head deadline: it starts at the first byte of a head and ends when the head is whole,
   * whatever arrives in between (a trickle of bytes keeps the idle timer alive, not this one).
   */
  #watchHead(progressed: boolean): void {
    if (progressed && this.#headTimer) {
      clearTimeout(this.#headTimer);
      this.#headTimer = undefined;
    }
    if (!this.#reader.midHead || this.#headTimer || this.#phase === 'closed') return;
    this.#headTimer = setTimeout(() => {
      if (this.#phase === 'closed' || !this.#reader.midHead) return;
      this.#finishWith({ kind: 'answer', err: headTimeout(this.#o.headTimeoutMs) });
      this.#settle();
    }, this.#o.headTimeoutMs);
    this.#headTimer.unref();
  }

  /** The head goes to the origin: it joins the requests in flight (and the 504 timer). */
  #forwardHead(head: RequestHead, remoteAddress: string, stripAuthorization: boolean): Buffer {
    const fwd = this.#rewrite(head, stripAuthorization);
    this.#pending.push({
      method: head.method,
      host: head.host,
      path: head.target,
      remoteAddress,
      bytes: 0,
      started: performance.now(),
      wantsHtml: head.wantsHtml,
      upgrade: head.upgrade,
      closes: head.closes,
      retryHead: mayRetry(head.method, head.hasBody, head.upgrade) ? fwd : undefined,
      status: 0,
    });
    this.#o.onActive(1);
    if (this.#pending.length === 1) this.#armTimer();
    return fwd;
  }

  /**
   * The head the origin gets: the visitor's head plus X-Forwarded-For/-Proto/-Host. Most heads carry
   * no X-Forwarded-* / Proxy-* fields and need no Host override: those keep their bytes and get the
   * three fields appended (made once per connection and host); the others are rebuilt field by field
   * (so are heads whose Authorization the tunnel's own rules consumed).
   */
  #rewrite(head: RequestHead, stripAuthorization: boolean): Buffer {
    const cut = stripAuthorization ? authorizationLine(head.raw) : NO_CUT;
    if (!head.proxyFields && !this.#tunnel.hostHeader && cut) {
      if (this.#suffixHost !== head.host || !this.#suffix) {
        this.#suffixHost = head.host;
        this.#suffix = Buffer.from(
          `X-Forwarded-For: ${this.#remoteAddress}\r\nX-Forwarded-Proto: ${this.#proto}\r\nX-Forwarded-Host: ${head.host}\r\n\r\n`,
          'latin1',
        );
      }
      const raw = head.raw;
      const keep = raw.length - 2; // up to the last field's CRLF
      const gone = cut.end - cut.start;
      const out = Buffer.allocUnsafe(keep - gone + this.#suffix.length);
      raw.copy(out, 0, 0, cut.start);
      raw.copy(out, cut.start, cut.end, keep);
      this.#suffix.copy(out, keep - gone);
      return out;
    }
    const fields = forwardRequestHeaders(
      stripAuthorization ? withoutField(head.headers, 'authorization') : head.headers,
      {
        remoteAddress: this.#visitorAddress(head),
        proto: this.#protoOf(head),
        host: head.host,
        trustProxy: this.#o.trustProxy,
      },
      'relay',
      this.#tunnel.hostHeader,
    );
    // the X-Forwarded-* values come from the socket or from fields the parser checked
    return serializeRequestHead(head.method, head.target, fields, head.minor, true);
  }

  #visitorAddress(head: RequestHead): string {
    return (this.#o.trustProxy && forwardedFor(field(head, 'x-forwarded-for'))) || this.#remoteAddress;
  }

  #protoOf(head: RequestHead): string {
    return (this.#o.trustProxy && forwardedProto(field(head, 'x-forwarded-proto'))) || this.#proto;
  }

  #send(buf: Buffer): void {
    if (this.#phase === 'closed') return;
    const stream = this.#stream;
    if (stream === 'opening') {
      this.#queued.push(buf);
      return;
    }
    if (stream) {
      if (!stream.write(buf)) this.#waitForStream(stream);
      return;
    }
    this.#queued.push(buf);
    this.#open();
  }

  #open(): void {
    const tunnel = this.#tunnel;
    this.#stream = 'opening';
    this.#socket.pause();
    if (!tunnel.openStream) {
      this.#stream = undefined;
      this.#answerAndClose(new BurrowError('BURROW_ERR_AGENT_GONE', 'this tunnel cannot carry streams'));
      return;
    }
    tunnel.openStream({ remoteAddress: this.#remoteAddress, kind: 'http', target: this.#target }).then(
      (stream) => this.#attach(stream),
      (err: unknown) => {
        this.#stream = undefined;
        this.#answerAndClose(err);
      },
    );
  }

  #attach(stream: Duplex): void {
    if (this.#phase === 'closed') {
      stream.destroy();
      return;
    }
    this.#stream = stream;
    // a mux stream corks the visitor socket while it passes on one read's DATA pieces: one write
    if ('sink' in stream) (stream as { sink: unknown }).sink = this.#socket;
    stream.on('data', (chunk: Buffer) => this.#onOriginData(chunk));
    stream.on('end', () => this.#onOriginEnd());
    stream.on('error', (err) => this.#onStreamError(err));
    stream.on('close', () => {
      if (this.#stream === stream && this.#phase !== 'closed' && !stream.readableEnded) this.#onStreamError(undefined);
    });
    const queued = this.#queued;
    this.#queued = [];
    const data = queued.length === 1 ? queued[0]! : Buffer.concat(queued);
    if (!stream.write(data)) this.#waitForStream(stream);
    else this.#resumeVisitor();
    if (this.#socket.readableEnded && this.#phase !== 'admitting') stream.end();
  }

  /** The stream is full: stop reading the visitor until it drains (a slow origin slows the visitor). */
  #waitForStream(stream: Duplex): void {
    this.#socket.pause();
    if (this.#streamFull) return;
    this.#streamFull = true;
    stream.once('drain', () => {
      this.#streamFull = false;
      this.#resumeVisitor();
    });
  }

  /**
   * Read the visitor again, unless something still holds it (a full stream, a verdict, a finish). An
   * upgraded connection (`raw`) reads on too: it used to stay paused for good once its stream had
   * been full.
   */
  #resumeVisitor(): void {
    if ((this.#phase === 'relaying' || this.#phase === 'raw') && !this.#streamFull && this.#stream !== 'opening')
      this.#socket.resume();
  }

  #onOriginData(chunk: Buffer): void {
    if (this.#phase === 'closed') return;
    // counted before the reader sees it: a chunk that completes a response is that response's
    const oldest = this.#pending[0];
    if (oldest) oldest.bytes += chunk.length;
    if (this.#phase !== 'raw') {
      const before = this.#responses.started;
      try {
        this.#responses.push(chunk);
      } catch (err) {
        const e = new BurrowError('BURROW_ERR_ORIGIN_ERROR', (err as Error).message);
        if (!before) this.#answerAndClose(e);
        else this.#cut(e);
        return;
      }
    }
    if (!this.#socket.write(chunk) && !this.#socketFull) {
      // a slow visitor slows the origin: the stream's credit stops flowing until the socket drains
      const stream = this.#stream as Duplex;
      stream.pause();
      this.#socketFull = true;
      this.#socket.once('drain', () => {
        this.#socketFull = false;
        stream.resume();
      });
    }
    this.#settle();
  }

  #onSwitch(): void {
    this.#phase = 'raw';
    this.#after = undefined;
    const p = this.#pending.shift();
    if (p) this.#record(p, 101);
  }

  #onResponseHead(status: number, interim: boolean): void {
    const p = this.#pending[0];
    if (!p || interim) return;
    p.status = status;
  }

  #onResponseComplete(): void {
    const p = this.#pending.shift();
    if (!p) return;
    this.#record(p, p.status);
    // an upgrade refused: the visitor's bytes after it are not HTTP and cannot be framed; a visitor
    // that asked to close is closed after its answer even if the origin keeps the connection open
    if ((p.upgrade || p.closes) && this.#phase !== 'raw') this.#finishWith({ kind: 'close' });
    if (this.#pending.length) this.#armTimer();
  }

  #record(p: Pending, status: number): void {
    this.#x.record(this.#tunnel, p, status);
    this.#o.onActive(-1);
  }

  /** After each event: once nothing is in flight, a finishing connection does what it was left to do. */
  #settle(): void {
    if (this.#phase !== 'finishing' || this.#pending.length) return;
    const after = this.#after!;
    if (after.kind === 'answer') this.#answerAndClose(after.err, after.page, after.headers);
    else if (after.kind === 'hand-off') {
      this.#release();
      this.#next(after.rest);
    } else this.#end();
  }

  /** Let go of the socket (handing it to Node's HTTP server): the stream ends, listeners go. */
  #release(): void {
    this.#close();
    const s = this.#socket;
    // only this connection's own listeners go (others, e.g. the per-address connection count, stay)
    s.removeListener('data', this.#onVisitorData);
    s.removeListener('end', this.#onVisitorEnd);
    s.removeListener('error', this.#onVisitorGone);
    s.removeListener('close', this.#onVisitorGone);
    s.removeListener('timeout', this.#onIdle);
    s.removeAllListeners('drain');
    s.setTimeout(0);
    const stream = this.#stream;
    if (stream && stream !== 'opening') {
      stream.removeAllListeners('data');
      stream.on('error', () => {});
      stream.end();
      stream.resume();
    }
    this.#onGone();
  }

  #onOriginEnd(): void {
    if (this.#phase === 'closed') return;
    this.#responses.end();
    if (this.#pending.length === 0 || this.#phase === 'raw') {
      this.#end();
      return;
    }
    // the stream is over either way: end our half too, so neither side keeps it open
    (this.#stream as Duplex | undefined)?.destroy();
    this.#stream = undefined;
    // the visitor closed first: the origin only followed (Node's server closes on a half-close).
    // Nobody is left to answer and nothing is sent again.
    if (this.#socket.readableEnded) {
      this.#abandon();
      return;
    }
    // the origin closed with requests unanswered: a keep-alive connection it closed just as a
    // request went out. Send them again once on a new stream if nothing of theirs was answered
    // and each may be sent twice (exchange.ts: mayRetry).
    if (!this.#retried && !this.#responses.started && this.#pending.every((p) => p.retryHead)) {
      this.#retried = true;
      this.#send(Buffer.concat(this.#pending.map((p) => p.retryHead!)));
      return;
    }
    if (this.#responses.started) this.destroy();
    else
      this.#answerAndClose(
        new BurrowError('BURROW_ERR_ORIGIN_ERROR', 'the local service closed the connection without a response'),
      );
  }

  /** The visitor went away with requests unanswered: record them as abandoned (499), close quietly. */
  #abandon(): void {
    for (const p of this.#pending) this.#record(p, STATUS_ABANDONED);
    this.#pending.length = 0;
    this.#end();
  }

  #onStreamError(err: unknown): void {
    if (this.#phase === 'closed') return;
    if (this.#pending.length && !this.#responses.started && this.#phase !== 'raw') {
      this.#answerAndClose(
        err === undefined
          ? new BurrowError('BURROW_ERR_AGENT_GONE', 'the tunnel client went away')
          : this.#x.streamFault(this.#tunnel, err),
      );
    } else this.destroy();
  }

  /** An error after part of a response went out: no page can follow; count it and cut the connection. */
  #cut(e: BurrowError): void {
    this.#x.fail(this.#tunnel, e, 'relay error (cut)');
    this.destroy();
  }

  /** Answer the oldest request in flight (or `page`, one that never reached the origin) with an error page, count it, close. */
  #answerAndClose(err: unknown, page?: PageFor, headers?: Record<string, string>): void {
    if (this.#phase === 'closed') return;
    const e = asBurrowError(err);
    const p = this.#pending[0] ?? page;
    this.#x.fail(this.#tunnel, e, 'relay error');
    this.#socket.write(
      errorResponseBytes(e, {
        html: p?.wantsHtml ?? false,
        head: p?.method === 'HEAD',
        extraHeaders: { ...errorHeaders(e), ...headers },
      }),
    );
    for (const rest of this.#pending) this.#record(rest, e.status);
    this.#pending.length = 0;
    this.#end();
  }

  #armTimer(): void {
    const p = this.#pending[0];
    if (!p) return;
    const wait = Math.max(0, p.started + this.#x.requestTimeoutMs - performance.now());
    if (this.#timer) {
      this.#timer.refresh();
      return;
    }
    this.#timer = setTimeout(() => this.#onTimer(), wait);
    this.#timer.unref();
  }

  #onTimer(): void {
    const p = this.#pending[0];
    if (this.#phase === 'closed' || !p || p.status !== 0 || this.#responses.started) return;
    const left = p.started + this.#x.requestTimeoutMs - performance.now();
    if (left > 1) {
      this.#timer = setTimeout(() => this.#onTimer(), left);
      this.#timer.unref();
      return;
    }
    this.#answerAndClose(this.#x.timeout());
  }
}

/** A byte range of a head to leave out of the forwarded copy. */
interface Cut {
  readonly start: number;
  readonly end: number;
}
const NO_CUT: Cut = { start: 0, end: 0 };
const AUTHORIZATION_LINE = /\r\nauthorization:/gi;

/**
 * Where the one Authorization field line of a raw head is (from its CRLF to just before the next),
 * so the tunnel's own credentials can be left out without rebuilding the head; undefined when the
 * field appears more than once (then the head is rebuilt field by field).
 */
function authorizationLine(raw: Buffer): Cut | undefined {
  const text = raw.toString('latin1');
  AUTHORIZATION_LINE.lastIndex = 0;
  const m = AUTHORIZATION_LINE.exec(text);
  if (!m) return NO_CUT;
  if (AUTHORIZATION_LINE.exec(text)) return undefined;
  return { start: m.index, end: text.indexOf('\r\n', m.index + 2) };
}

/** The fields of a parsed head without one field (lowercase name). */
function withoutField(fields: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i]!.toLowerCase() !== name) out.push(fields[i]!, fields[i + 1]!);
  }
  return out;
}

/** The first value of a header field (lowercase name) in a parsed head. */
function field(head: RequestHead, name: string): string | undefined {
  for (let i = 0; i < head.headers.length; i += 2) {
    if (head.headers[i]!.toLowerCase() === name) return head.headers[i + 1];
  }
  return undefined;
}

/** A Node-style headers object (lowercase names, duplicates joined, set-cookie as a list) for hooks. */
function headersObject(fields: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const k = fields[i]!.toLowerCase();
    const v = fields[i + 1]!;
    const cur = out[k];
    if (k === 'set-cookie') out[k] = Array.isArray(cur) ? [...cur, v] : [v];
    else out[k] = cur === undefined ? v : `${String(cur)}, ${v}`;
  }
  return out;
}
