/**
 * forward-tcp: TCP connections carried over a pair of pipes, through any pipe server (burrow's or an
 * unmodified piping-server), with no tunnel server of its own (docs/pipe.md#forward-tcp).
 *
 * The listening side sends on `up` and receives on `down`; the target side the reverse. Each side
 * opens two pairs at once: the given paths (the plain pair, byte-compatible with the
 * `curl -sT- URL/up | nc …` recipe) and the same paths with `.mux` (the mux pair, which only a
 * burrow peer opens). When the mux pair is matched both sides are burrow: connections are streams
 * of burrow's mux (src/wire/mux), many at once with flow control. When only the plain pair is
 * matched (after FORWARD_NEGOTIATE_GRACE_MS), the peer is a plain recipe: one connection, raw.
 * The pair that was not chosen is dropped. A failed or broken pair is opened again with backoff;
 * when the server says a path is taken, on a fresh pair derived from the given paths (`up.1`, …).
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { BurrowError } from '../../core/errors.js';
import { backoffDelay } from '../../core/backoff.js';
import { MuxSession, type MuxStream } from '../../wire/mux/mux.js';
import { receive, send, type PipeClientOptions, type PipeReceiveStream, type PipeSendStream } from './sdk.js';
import {
  FORWARD_DEAD_PEER_MS,
  FORWARD_FRESH_PAIR_WAIT_MS,
  FORWARD_HELLO,
  FORWARD_MAX_CONNECTIONS,
  FORWARD_NEGOTIATE_GRACE_MS,
  FORWARD_PING_INTERVAL_MS,
  FORWARD_RECONNECT_BASE_MS,
  FORWARD_RECONNECT_MAX_MS,
} from './limits.js';

/** What forward-tcp tells its user (the CLI prints these). */
export type ForwardEvent =
  | { type: 'waiting'; up: string; down: string }
  | { type: 'connected'; mode: 'mux' | 'plain'; up: string; down: string }
  | { type: 'retry'; error: BurrowError; delayMs: number }
  | { type: 'fresh-paths'; up: string; down: string }
  | { type: 'session-ended'; error: BurrowError | undefined }
  | { type: 'connection-error'; error: Error };

export interface ForwardTcpOptions extends PipeClientOptions {
  /** The pipe the listening side sends on. */
  up: string;
  /** The pipe the target side sends on. */
  down: string;
  onEvent?: (e: ForwardEvent) => void;
  /** Tests shorten these; the defaults are the named limits. */
  negotiateGraceMs?: number;
  pingIntervalMs?: number;
  deadPeerMs?: number;
  reconnectBaseMs?: number;
  freshPairWaitMs?: number;
}

export interface ForwardTcp {
  /** The listening side's bound address (undefined on the target side). */
  readonly address: AddressInfo | undefined;
  /** Stops: no new pairs, open connections cut. */
  close(): Promise<void>;
}

type Mode = 'mux' | 'plain';

/** One direction pair of this side: what it sends on and what it receives from. */
interface Half {
  readonly body: PassThrough;
  readonly send: PipeSendStream;
  readonly recv: PipeReceiveStream;
}

/** Where the sender log says the transfer started (burrow's and piping-server's words). */
const STARTED = /^\[INFO\] (Streaming to|Start sending)/m;
/** 400 answers that mean somebody else holds the path. */
const TAKEN = /established already|Another sender|reached limits/i;

function isTaken(err: unknown): boolean {
  return err instanceof BurrowError && err.code === 'BURROW_ERR_PIPE_REJECTED' && TAKEN.test(err.message);
}

/** Failures that no retry of the same pipes can fix soon: report them and back off. */
function isFatalForPair(err: unknown): boolean {
  return (
    err instanceof BurrowError &&
    (err.code === 'BURROW_ERR_SERVER_UNREACHABLE' ||
      err.code === 'BURROW_ERR_UNAUTHORIZED' ||
      err.code === 'BURROW_ERR_FORBIDDEN' ||
      err.code === 'BURROW_ERR_PIPE_BUSY' ||
      err.code === 'BURROW_ERR_SHUTTING_DOWN' ||
      isTaken(err))
  );
}

function asBurrowError(err: unknown): BurrowError {
  return err instanceof BurrowError ? err : new BurrowError('BURROW_ERR_PIPE_ABORTED', String(err));
}

/** Resolves when the sender log says the pipe is matched; never rejects (failures come from `done`). */
function started(s: PipeSendStream): Promise<void> {
  return new Promise((resolve) => {
    let log = '';
    const onData = (c: Buffer): void => {
      log = (log + c.toString('latin1')).slice(-1024);
      if (STARTED.test(log)) {
        s.off('data', onData);
        resolve();
      }
    };
    s.on('data', onData);
  });
}

function dropHalf(h: Half): void {
  h.body.destroy();
  h.send.destroy();
  h.recv.destroy();
}

/** The paths of generation `gen` (0: the given ones). */
function pathsOf(o: ForwardTcpOptions, gen: number): { up: string; down: string } {
  return gen === 0 ? { up: o.up, down: o.down } : { up: `${o.up}.${gen}`, down: `${o.down}.${gen}` };
}

/** One attempt: both pairs opened, resolved with the one that was matched. */
class PairSet {
  readonly plain: Half;
  readonly mux: Half;
  readonly #grace: number;
  /** Ends a pending negotiate() (the set was dropped from outside). */
  #abort: ((err: unknown) => void) | undefined;

  constructor(o: ForwardTcpOptions, sendPath: string, recvPath: string) {
    const client: PipeClientOptions = {
      server: o.server,
      ...(o.token !== undefined ? { token: o.token } : {}),
      ...(o.headers !== undefined ? { headers: o.headers } : {}),
    };
    const open = (sp: string, rp: string, hello: boolean): Half => {
      // a roomy body buffer: mux frames are up to 64 KiB, and a full buffer pauses every stream
      const body = new PassThrough({ highWaterMark: 1024 * 1024 });
      body.on('error', () => {}); // a write racing the pair's end; the pair's own failure is what counts
      const s = send(sp, body, {
        ...client,
        contentType: 'application/octet-stream',
        ...(hello ? { xPiping: FORWARD_HELLO } : {}),
      });
      const r = receive(rp, client);
      s.on('error', () => {});
      r.on('error', () => {});
      return { body, send: s, recv: r };
    };
    this.plain = open(sendPath, recvPath, false);
    this.mux = open(`${sendPath}.mux`, `${recvPath}.mux`, true);
    this.#grace = o.negotiateGraceMs ?? FORWARD_NEGOTIATE_GRACE_MS;
  }

  /** Which pair the peer is on. Rejects on failures that concern the pair as a whole. */
  negotiate(): Promise<Mode> {
    return new Promise<Mode>((resolve, reject) => {
      let decided = false;
      let timer: NodeJS.Timeout | undefined;
      const decide = (mode: Mode): void => {
        if (decided) return;
        decided = true;
        clearTimeout(timer);
        dropHalf(mode === 'mux' ? this.plain : this.mux);
        resolve(mode);
      };
      const fail = (err: unknown): void => {
        if (decided) return;
        decided = true;
        clearTimeout(timer);
        this.drop();
        reject(asBurrowError(err));
      };
      this.#abort = fail;
      // a fatal failure ends the attempt; any other failure of the plain pair too, after the grace
      // (a burrow peer that chose the mux pair a moment earlier drops its plain pipes)
      const failed = (err: unknown): void => {
        if (isFatalForPair(err)) fail(err);
      };
      const plainFailed = (err: unknown): void => {
        if (isFatalForPair(err)) fail(err);
        else setTimeout(() => fail(err), this.#grace);
      };
      void started(this.mux.send).then(() => decide('mux'));
      void started(this.plain.send).then(() => {
        timer ??= setTimeout(() => decide('plain'), this.#grace);
      });
      // a plain peer that speaks first (an SSH server's banner) settles it at once
      void this.plain.recv.response.then(() => decide('plain'), plainFailed);
      this.plain.send.done.catch(plainFailed);
      this.mux.send.done.catch(failed);
      this.mux.recv.response.catch(failed);
    });
  }

  drop(): void {
    dropHalf(this.plain);
    dropHalf(this.mux);
    const abort = this.#abort;
    this.#abort = undefined;
    abort?.(new BurrowError('BURROW_ERR_PIPE_ABORTED', 'this pair of pipes was given up'));
  }
}

/** Joins a TCP socket and a byte stream both ways, half-closes included; cuts both on an error. */
function bridge(socket: Socket, out: Writable, inn: Readable, onError: (err: Error) => void): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      if (err) {
        onError(err);
        socket.destroy();
        out.destroy();
        inn.destroy();
      }
      resolve();
    };
    socket.pipe(out);
    inn.pipe(socket);
    socket.on('error', finish);
    out.on('error', (e: Error) => finish(e));
    inn.on('error', (e: Error) => finish(e));
    socket.on('close', () => {
      out.end();
      finish();
    });
  });
}

/** The reconnect loop both sides share: open a pair set, negotiate, run it, again. */
class Forwarder {
  readonly #o: ForwardTcpOptions;
  readonly #role: 'listen' | 'target';
  #gen = 0;
  #attempt = 0;
  #closed = false;
  #current: PairSet | undefined;
  #session: MuxSession | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  /** Resolves when a pair set was negotiated (listen side: the first connection waits on it). */
  #ready: Promise<{ mode: Mode; set: PairSet }> | undefined;

  constructor(o: ForwardTcpOptions, role: 'listen' | 'target') {
    this.#o = o;
    this.#role = role;
  }

  #emit(e: ForwardEvent): void {
    this.#o.onEvent?.(e);
  }

  get session(): MuxSession | undefined {
    return this.#session;
  }

  /** Opens (or returns the pending) negotiated pair set, retrying with backoff until closed. */
  connect(): Promise<{ mode: Mode; set: PairSet }> {
    this.#ready ??= this.#connectLoop().finally(() => {
      this.#ready = undefined;
    });
    return this.#ready;
  }

  async #connectLoop(): Promise<{ mode: Mode; set: PairSet }> {
    for (;;) {
      if (this.#closed) throw new BurrowError('BURROW_ERR_SHUTTING_DOWN', 'forward-tcp is closing');
      const { up, down } = pathsOf(this.#o, this.#gen);
      const [sendPath, recvPath] = this.#role === 'listen' ? [up, down] : [down, up];
      const set = new PairSet(this.#o, sendPath, recvPath);
      this.#current = set;
      this.#emit({ type: 'waiting', up, down });
      // on a fresh pair, do not wait there forever: the other side may have stayed on the given paths
      let back: NodeJS.Timeout | undefined;
      const fresh = this.#gen;
      if (fresh > 0)
        back = setTimeout(() => {
          this.#gen = 0;
          this.#emit({ type: 'fresh-paths', ...pathsOf(this.#o, 0) });
          set.drop();
        }, this.#o.freshPairWaitMs ?? FORWARD_FRESH_PAIR_WAIT_MS);
      try {
        const mode = await set.negotiate().finally(() => clearTimeout(back));
        this.#attempt = 0;
        this.#emit({ type: 'connected', mode, up, down });
        return { mode, set };
      } catch (err) {
        const e = asBurrowError(err);
        if (this.#closed) throw e;
        if (fresh > 0 && this.#gen === 0) continue; // went back to the given paths
        if (isTaken(e)) {
          this.#gen++;
          this.#emit({ type: 'fresh-paths', ...pathsOf(this.#o, this.#gen) });
        }
        this.#attempt++;
        const delayMs = backoffDelay(this.#attempt, {
          initialDelayMs: this.#o.reconnectBaseMs ?? FORWARD_RECONNECT_BASE_MS,
          maxDelayMs: FORWARD_RECONNECT_MAX_MS,
        });
        this.#emit({ type: 'retry', error: e, delayMs });
        await new Promise<void>((resolve) => {
          this.#retryTimer = setTimeout(resolve, delayMs);
        });
      }
    }
  }

  /** A mux session over a negotiated set's mux pair; ends (and reports) when either pipe does. */
  startSession(set: PairSet, onStream?: (s: MuxStream) => void): MuxSession {
    const { body, send: s, recv: r } = set.mux;
    const session = new MuxSession(
      {
        send: (data) => body.write(data),
      },
      {
        role: this.#role === 'listen' ? 'agent' : 'server',
        pingIntervalMs: this.#o.pingIntervalMs ?? FORWARD_PING_INTERVAL_MS,
        deadPeerTimeoutMs: this.#o.deadPeerMs ?? FORWARD_DEAD_PEER_MS,
        maxStreams: FORWARD_MAX_CONNECTIONS,
      },
    );
    body.on('drain', () => session.drained());
    r.on('data', (c: Buffer) => session.receive(c));
    const gone = (err?: unknown): void =>
      session.close(
        err === undefined
          ? new BurrowError('BURROW_ERR_PIPE_ABORTED', 'the other side closed the pipes')
          : asBurrowError(err),
      );
    r.on('end', () => gone());
    r.on('error', gone);
    s.done.then(() => gone(), gone);
    if (onStream) session.on('stream', (stream) => onStream(stream));
    session.once('close', (err) => {
      set.drop();
      if (this.#session === session) this.#session = undefined;
      if (!this.#closed) this.#emit({ type: 'session-ended', error: err });
    });
    session.startHeartbeat();
    this.#session = session;
    return session;
  }

  /** A new generation after a broken session, so a stale pipe on the old paths cannot hold us. */
  sessionBroke(): void {
    this.#attempt++;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#session?.close(new BurrowError('BURROW_ERR_SHUTTING_DOWN', 'forward-tcp is closing'));
    this.#current?.drop();
  }
}

/**
 * The listening side: accepts TCP connections on `listen` and carries each to the target side
 * (`burrow pipe forward-tcp --listen`).
 */
export async function forwardTcpListen(
  listen: { host?: string; port: number },
  o: ForwardTcpOptions,
): Promise<ForwardTcp> {
  const fwd = new Forwarder(o, 'listen');
  const sockets = new Set<Socket>();
  /** Plain mode carries one connection at a time: the others wait here, in order. */
  let plainBusy: Promise<void> = Promise.resolve();

  const carry = async (socket: Socket): Promise<void> => {
    socket.pause();
    const onError = (err: Error): void => o.onEvent?.({ type: 'connection-error', error: err });
    const session = fwd.session;
    if (session && !session.closed) {
      const stream = session.openStream({
        tunnelId: 'forward-tcp',
        kind: 'tcp',
        remoteAddress: socket.remoteAddress ?? '',
      });
      void bridge(socket, stream, stream, onError);
      return;
    }
    let ready: { mode: Mode; set: PairSet };
    try {
      ready = await fwd.connect();
    } catch (err) {
      socket.destroy();
      onError(err as Error);
      return;
    }
    if (ready.mode === 'mux') {
      const s = fwd.session && !fwd.session.closed ? fwd.session : fwd.startSession(ready.set);
      const stream = s.openStream({ tunnelId: 'forward-tcp', kind: 'tcp', remoteAddress: socket.remoteAddress ?? '' });
      void bridge(socket, stream, stream, onError); // the next connection need not wait for this one
      return;
    }
    const { body, recv } = ready.set.plain;
    await bridge(socket, body, recv, onError);
    ready.set.drop();
  };

  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const session = fwd.session;
    if (session && !session.closed) {
      void carry(socket);
      return;
    }
    // without a session, connections go one after the other until the mode is known
    const run = plainBusy.then(() => carry(socket));
    plainBusy = run.catch(() => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    async close() {
      fwd.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The target side: each connection the listening side carries is opened to `target`
 * (`burrow pipe forward-tcp --target`). Keeps a pair of pipes waiting for the other side.
 */
export function forwardTcpTarget(target: { host: string; port: number }, o: ForwardTcpOptions): ForwardTcp {
  const fwd = new Forwarder(o, 'target');
  const sockets = new Set<Socket>();
  let closed = false;
  const onError = (err: Error): void => o.onEvent?.({ type: 'connection-error', error: err });

  const open = (): Socket => {
    const socket = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    return socket;
  };

  const onStream = (stream: MuxStream): void => {
    const socket = open();
    socket.once('connect', () => void bridge(socket, stream, stream, onError));
    socket.once('error', (err) => {
      if (socket.connecting) {
        stream.reset(
          new BurrowError('BURROW_ERR_TCP_TARGET_UNREACHABLE', `${target.host}:${target.port}: ${err.message}`),
        );
        onError(err);
      }
    });
  };

  const loop = async (): Promise<void> => {
    while (!closed) {
      let ready: { mode: Mode; set: PairSet };
      try {
        ready = await fwd.connect();
      } catch {
        continue;
      }
      if (ready.mode === 'mux') {
        const session = fwd.startSession(ready.set, onStream);
        await new Promise<void>((resolve) => session.once('close', () => resolve()));
        fwd.sessionBroke();
        continue;
      }
      const socket = open();
      const { body, recv } = ready.set.plain;
      await bridge(socket, body, recv, onError);
      ready.set.drop();
    }
  };
  void loop();
  return {
    address: undefined,
    async close() {
      closed = true;
      fwd.close();
      for (const s of sockets) s.destroy();
      await Promise.resolve();
    },
  };
}
