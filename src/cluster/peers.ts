/**
 * Node-to-node links: one WebSocket per pair of nodes carrying burrow's own mux (src/wire/mux), so
 * a forwarded visitor connection is one stream with the agent protocol's flow control. A link is
 * opened on demand by the node that needs it, kept alive by PINGs, and used both ways. Each side
 * proves it knows the cluster secret (compared in constant time); the secret is never logged.
 *
 * On a link: OPEN { tunnelId, kind, remoteAddress, port, tls } asks the other node for a stream to
 * its local tunnel; EVENT { type: 'access' | 'access-result' | 'done' | 'close' | 'close-result' }
 * carries visitor-rule checks, completed requests and operators' closes to the owner.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { BurrowError, ERROR_CODES } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { takeOverBinary, wsSocket } from '../core/ws-link.js';
import { decodeJson, FrameType } from '../wire/mux/frames.js';
import { MAX_MESSAGE_SIZE, TRANSPORT_HIGH_WATER } from '../wire/mux/limits.js';
import { fromWireError, parseWireError, toWireError, type StreamOpen } from '../wire/mux/messages.js';
import { MuxSession, webSocketTransport, type MuxStream } from '../wire/mux/mux.js';
import type { VisitorDecision } from '../server/admission.js';
import type { CompletedRequest } from '../server/registry.js';
import { PEER_ACCESS_TIMEOUT_MS, PEER_CONNECT_TIMEOUT_MS, PEER_DEAD_MS, PEER_PING_INTERVAL_MS } from './limits.js';

/** The WebSocket path nodes reach each other at (on the server's own host, the advertise URL). */
export const PEER_PATH = '/api/v1/cluster/peer';
const SECRET_HEADER = 'x-burrow-cluster-secret';
const NODE_HEADER = 'x-burrow-node';

export interface PeerHandlers {
  /** The other node opened a stream to one of this node's tunnels. */
  onStream(stream: MuxStream, open: StreamOpen): void;
  /** The other node asks this node's tunnel whether a visitor may in. */
  onAccess(
    tunnelId: string,
    req: { remoteAddress: string; authorization?: string | undefined },
  ): Promise<VisitorDecision>;
  /** A request this node's tunnel carried through the other node completed. */
  onDone(tunnelId: string, info: CompletedRequest): void;
  /** The other node's operator closes a tunnel of this node: true when it was here and closed. */
  onClose(tunnelId: string): boolean;
}

interface Link {
  readonly node: string;
  readonly session: Promise<MuxSession>;
}

/** Constant-time comparison of two secrets of any length (both hashed first). */
function sameSecret(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

export class PeerLinks {
  readonly #nodeId: string;
  readonly #secret: string;
  readonly #window: number;
  readonly #handlers: PeerHandlers;
  readonly #logger: () => Logger;
  readonly #links = new Map<string, Link>();
  readonly #sessions = new Set<MuxSession>();
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_SIZE, perMessageDeflate: false });
  readonly #checks = new Map<
    number,
    { resolve: (d: VisitorDecision) => void; reject: (e: BurrowError) => void; timer: NodeJS.Timeout }
  >();
  #nextCheck = 1;
  readonly #closes = new Map<number, { resolve: (closed: boolean) => void; timer: NodeJS.Timeout }>();
  #closed = false;
  /** Streams other nodes opened to this node's tunnels, now open (the drain waits for them). */
  inbound = 0;

  constructor(o: { nodeId: string; secret: string; window: number; handlers: PeerHandlers; logger: () => Logger }) {
    this.#nodeId = o.nodeId;
    this.#secret = o.secret;
    this.#window = o.window;
    this.#handlers = o.handlers;
    this.#logger = o.logger;
  }

  get links(): number {
    return this.#sessions.size;
  }

  /** Open a stream to a tunnel on another node (dialing the node first when no link is up). */
  async open(node: string, url: string, open: StreamOpen): Promise<MuxStream> {
    const session = await this.#session(node, url);
    return session.openStream(open);
  }

  /** Ask the owner node whether a visitor passes its tunnel's rules. */
  async checkAccess(
    node: string,
    url: string,
    tunnelId: string,
    req: { remoteAddress: string; authorization?: string | readonly string[] | undefined },
  ): Promise<VisitorDecision> {
    const session = await this.#session(node, url);
    const id = this.#nextCheck++;
    const authorization = Array.isArray(req.authorization) ? req.authorization[0] : req.authorization;
    return new Promise<VisitorDecision>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#checks.delete(id);
        reject(new BurrowError('BURROW_ERR_AGENT_GONE', `node ${node} did not answer a visitor check in time`));
      }, PEER_ACCESS_TIMEOUT_MS);
      timer.unref();
      this.#checks.set(id, { resolve, reject, timer });
      session.sendControl(FrameType.EVENT, {
        type: 'access',
        req: id,
        tunnelId,
        remoteAddress: req.remoteAddress,
        ...(authorization !== undefined ? { authorization } : {}),
      });
    });
  }

  /** Ask the owner node to close one of its tunnels (an operator's close on another node). */
  async closeTunnel(node: string, url: string, tunnelId: string): Promise<boolean> {
    const session = await this.#session(node, url);
    const id = this.#nextCheck++;
    return new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#closes.delete(id);
        reject(new BurrowError('BURROW_ERR_AGENT_GONE', `node ${node} did not answer a close in time`));
      }, PEER_ACCESS_TIMEOUT_MS);
      timer.unref();
      this.#closes.set(id, { resolve, timer });
      session.sendControl(FrameType.EVENT, { type: 'close', req: id, tunnelId });
    });
  }

  /** Tell the owner node a request through its tunnel completed (its agent's request log). */
  done(node: string, url: string, tunnelId: string, info: CompletedRequest): void {
    this.#session(node, url).then(
      (s) => s.sendControl(FrameType.EVENT, { type: 'done', tunnelId, ...info }),
      () => {},
    );
  }

  #session(node: string, url: string): Promise<MuxSession> {
    if (this.#closed) return Promise.reject(new BurrowError('BURROW_ERR_SHUTTING_DOWN'));
    const have = this.#links.get(node);
    if (have) return have.session;
    const link: Link = { node, session: this.#dial(node, url) };
    this.#links.set(node, link);
    link.session.catch(() => {
      if (this.#links.get(node) === link) this.#links.delete(node);
    });
    return link.session;
  }

  #dial(node: string, url: string): Promise<MuxSession> {
    const u = new URL(PEER_PATH, url);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    return new Promise<MuxSession>((resolve, reject) => {
      const ws = new WebSocket(u, {
        headers: { [SECRET_HEADER]: this.#secret, [NODE_HEADER]: this.#nodeId },
        handshakeTimeout: PEER_CONNECT_TIMEOUT_MS,
        maxPayload: MAX_MESSAGE_SIZE,
        perMessageDeflate: false,
      });
      const fail = (why: string): void =>
        reject(new BurrowError('BURROW_ERR_AGENT_GONE', `node ${node} cannot be reached (${why})`));
      ws.once('unexpected-response', (_req, res: IncomingMessage) => {
        fail(`HTTP ${res.statusCode}`);
        ws.terminate();
      });
      ws.once('error', (err) => fail(err.message));
      ws.once('open', () => {
        const session = this.#attach(ws, 'agent', node);
        resolve(session);
      });
    });
  }

  /** Take an incoming link (the upgrade on PEER_PATH); false when the path is not ours. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, reject: (err: BurrowError) => void): void {
    const secret = req.headers[SECRET_HEADER];
    const node = req.headers[NODE_HEADER];
    if (typeof secret !== 'string' || !sameSecret(secret, this.#secret)) {
      this.#logger().warn({ from: req.socket.remoteAddress }, 'cluster: a peer link with a wrong secret was refused');
      reject(new BurrowError('BURROW_ERR_UNAUTHORIZED', 'wrong cluster secret'));
      return;
    }
    if (typeof node !== 'string' || node === '' || this.#closed) {
      reject(new BurrowError('BURROW_ERR_BAD_REQUEST', 'a peer link names its node (x-burrow-node)'));
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const session = this.#attach(ws, 'server', node);
      // an incoming link serves this node's own streams to that node too
      if (!this.#links.has(node)) {
        const link: Link = { node, session: Promise.resolve(session) };
        this.#links.set(node, link);
        session.once('close', () => {
          if (this.#links.get(node) === link) this.#links.delete(node);
        });
      }
    });
  }

  #attach(ws: WebSocket, role: 'agent' | 'server', node: string): MuxSession {
    const raw = wsSocket(ws);
    const session = new MuxSession(webSocketTransport(ws, raw, TRANSPORT_HIGH_WATER), {
      role,
      window: this.#window,
      peerWindow: this.#window,
      pingIntervalMs: PEER_PING_INTERVAL_MS,
      deadPeerTimeoutMs: PEER_DEAD_MS,
    });
    this.#sessions.add(session);
    raw?.on('drain', () => session.drained());
    // binary bytes reach the mux as the socket read them (views of its read buffers): ws would join
    // each frame into a new Buffer first, the forwarding node's largest cost in a bulk transfer
    // (and the pieces of one read reach each stream's sink in one write)
    takeOverBinary(
      ws,
      MAX_MESSAGE_SIZE,
      (bytes) => {
        try {
          session.receive(bytes);
        } catch (err) {
          session.close(err instanceof BurrowError ? err : new BurrowError('BURROW_ERR_PROTOCOL', String(err)));
        }
      },
      { begin: () => session.beginBatch(), end: () => session.endBatch() },
    );
    ws.on('message', () => {
      session.close(new BurrowError('BURROW_ERR_PROTOCOL', 'text messages are not part of the peer link'));
    });
    const gone = new BurrowError('BURROW_ERR_AGENT_GONE', `the link to node ${node} closed`);
    ws.on('close', () => session.close(gone));
    ws.on('error', () => session.close(gone));
    session.on('close', () => {
      this.#sessions.delete(session);
      const link = this.#links.get(node);
      if (link) {
        link.session.then(
          (s) => {
            if (s === session && this.#links.get(node) === link) this.#links.delete(node);
          },
          () => {},
        );
      }
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    });
    session.on('stream', (stream, open) => {
      this.inbound++;
      stream.once('close', () => this.inbound--);
      this.#handlers.onStream(stream, open);
    });
    session.on('control', (frame) => {
      if (frame.type !== FrameType.EVENT) return;
      const o = decodeJson(frame);
      if (o['type'] === 'access') this.#answerAccess(session, o);
      else if (o['type'] === 'access-result') {
        const c = this.#checks.get(Number(o['req']));
        if (!c) return;
        this.#checks.delete(Number(o['req']));
        clearTimeout(c.timer);
        if (o['error'] !== undefined) c.reject(fromWireError(parseWireError(o['error']), ERROR_CODES));
        else c.resolve(o['decision'] as VisitorDecision);
      } else if (o['type'] === 'close' && typeof o['tunnelId'] === 'string') {
        const closed = this.#handlers.onClose(o['tunnelId']);
        session.sendControl(FrameType.EVENT, { type: 'close-result', req: o['req'], closed });
      } else if (o['type'] === 'close-result') {
        const c = this.#closes.get(Number(o['req']));
        if (!c) return;
        this.#closes.delete(Number(o['req']));
        clearTimeout(c.timer);
        c.resolve(o['closed'] === true);
      } else if (o['type'] === 'done' && typeof o['tunnelId'] === 'string') {
        this.#handlers.onDone(o['tunnelId'], {
          method: String(o['method']),
          path: String(o['path']),
          status: Number(o['status']),
          durationMs: Number(o['durationMs']),
        });
      }
    });
    session.startHeartbeat();
    return session;
  }

  #answerAccess(session: MuxSession, o: Record<string, unknown>): void {
    const req = o['req'];
    const answer = (decision: VisitorDecision): void =>
      session.sendControl(FrameType.EVENT, { type: 'access-result', req, decision });
    const auth = typeof o['authorization'] === 'string' ? o['authorization'] : undefined;
    this.#handlers
      .onAccess(String(o['tunnelId']), {
        remoteAddress: typeof o['remoteAddress'] === 'string' ? o['remoteAddress'] : '',
        authorization: auth,
      })
      .then(answer, (err: unknown) => {
        session.sendControl(FrameType.EVENT, { type: 'access-result', req, error: toWireError(err) });
      });
  }

  close(): void {
    this.#closed = true;
    for (const s of [...this.#sessions]) s.close(new BurrowError('BURROW_ERR_SHUTTING_DOWN'));
    for (const c of this.#checks.values()) clearTimeout(c.timer);
    this.#checks.clear();
    for (const c of this.#closes.values()) clearTimeout(c.timer);
    this.#closes.clear();
    this.#wss.close();
  }
}
