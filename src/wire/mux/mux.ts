/**
 * The multiplexer: many byte streams over one ordered, message-preserving transport (a WebSocket),
 * each with credit-based flow control. Transport-agnostic: the owner feeds received bytes into
 * `receive()` and gives the session a `send()` that reports congestion; no sockets here.
 */
import { EventEmitter } from 'node:events';
import { AgentSocket } from '../../core/agent-socket.js';
import { SharedRelease } from '../../core/pooled-reads.js';
import { BurrowError, ERROR_CODES } from '../../core/errors.js';
import { LivenessWatcher } from '../../core/liveness.js';
import {
  decodeJson,
  decodeWindow,
  encodeFrame,
  encodeFrameHeader,
  encodeJsonFrame,
  encodeWindow,
  FrameDecoder,
  FrameType,
  type Frame,
  type FrameTypeCode,
} from './frames.js';
import {
  DEFAULT_DEAD_PEER_TIMEOUT_MS,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_STREAM_WINDOW,
  MAX_BATCH_BYTES,
  DEFERRED_FLUSH_MS,
  DIRECT_SEND_BYTES,
  FRAME_HEADER_SIZE,
  MAX_DATA_CHUNK,
  MAX_STREAM_ID,
  MAX_STREAMS_PER_SESSION,
} from './limits.js';
import {
  fromWireError,
  parseStreamOpen,
  parseWireError,
  toWireError,
  type StreamOpen,
  type WireError,
} from './messages.js';

export interface MuxTransport {
  /** Send one or more whole frames. Return false when the transport's buffer is above its high-water mark. */
  send(data: Buffer): boolean;
  /**
   * Optional: send one message whose content is `parts` back to back (a frame header and its
   * payload), without joining them into one buffer first. Same return value as send(). Without it,
   * large frames are copied into one buffer and go through send(). `onSent`, if given, is called
   * once the parts' bytes are no longer needed (written to the socket, copied, or dropped).
   */
  sendParts?(parts: readonly Buffer[], onSent?: () => void): boolean;
  /** Optional: hold what is sent until uncork() (nested pairs allowed), so that several frames leave in one write. */
  cork?(): void;
  uncork?(): void;
}

/** What webSocketTransport needs of a `ws` WebSocket (structural: this module opens no sockets). */
export interface WebSocketLike {
  send(data: Buffer, options: { binary: boolean; fin?: boolean }, cb?: (err?: Error) => void): void;
  readonly bufferedAmount: number;
}

/**
 * A MuxTransport over a `ws` WebSocket. sendParts() sends the parts as the fragments of ONE binary
 * message (RFC 6455 continuation frames; the receiver's message is their concatenation, so every
 * message still holds whole frames). `raw` is the WebSocket's socket: corked around the fragments,
 * so they leave in one write. Congested above `highWater` bytes buffered.
 */
export function webSocketTransport(
  ws: WebSocketLike,
  raw: { cork(): void; uncork(): void } | undefined,
  highWater: number,
): MuxTransport {
  return {
    send(data) {
      ws.send(data, { binary: true });
      return ws.bufferedAmount < highWater;
    },
    sendParts(parts, onSent) {
      raw?.cork();
      const last = parts.length - 1;
      for (let i = 0; i < last; i++) ws.send(parts[i]!, { binary: true, fin: false });
      // ws writes the parts in order: once the last one is written, all are
      ws.send(parts[last]!, { binary: true, fin: true }, onSent && (() => onSent()));
      raw?.uncork();
      return ws.bufferedAmount < highWater;
    },
    cork() {
      raw?.cork();
    },
    uncork() {
      raw?.uncork();
    },
  };
}

/** Where a stream's bytes are written (a socket): corked while one read's frames are dispatched. */
export interface StreamSink {
  cork(): void;
  uncork(): void;
  readonly destroyed: boolean;
}

export interface MuxSessionOptions {
  role: 'server' | 'agent';
  /** Receive window this side grants each stream. */
  window?: number;
  /** Window the peer grants each stream (known after HELLO/WELCOME; default DEFAULT_STREAM_WINDOW). */
  peerWindow?: number;
  pingIntervalMs?: number;
  deadPeerTimeoutMs?: number;
  maxStreams?: number;
}

export interface MuxSessionEvents {
  /** The peer opened a stream. Destroy it with an error to refuse it. */
  stream: [MuxStream, StreamOpen];
  /** A session-level control frame (HELLO, WELCOME, REGISTER, REGISTERED, UNREGISTER, EVENT, GOAWAY). */
  control: [Frame];
  /** The session ended (error set when it ended because of one). */
  close: [BurrowError | undefined];
}

export class MuxSession extends EventEmitter<MuxSessionEvents> {
  readonly role: 'server' | 'agent';
  readonly window: number;
  peerWindow: number;
  readonly #transport: MuxTransport;
  readonly #decoder = new FrameDecoder();
  readonly #streams = new Map<number, MuxStream>();
  readonly #maxStreams: number;
  readonly #pingIntervalMs: number;
  readonly #deadPeerTimeoutMs: number;
  #nextId: number;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #flushScheduled = false;
  /** Flushes deferred frames that found no batch to ride with (see sendDeferred). */
  #deferredTimer: NodeJS.Timeout | undefined;
  #congested = false;
  #drainWaiters: (() => void)[] = [];
  /** Nesting depth of beginBatch(), and the sinks corked in the current batch. */
  #batch = 0;
  #corked: StreamSink[] = [];
  #closed = false;
  /** PINGs and the dead-peer rule (core/liveness.ts), while the heartbeat runs. */
  #liveness: LivenessWatcher<MuxSession> | undefined;
  bytesIn = 0;
  bytesOut = 0;
  /** Round-trip time of this side's last answered PING, in ms (undefined until one is answered). */
  rttMs: number | undefined;

  constructor(transport: MuxTransport, options: MuxSessionOptions) {
    super();
    this.#transport = transport;
    this.role = options.role;
    this.window = options.window ?? DEFAULT_STREAM_WINDOW;
    this.peerWindow = options.peerWindow ?? DEFAULT_STREAM_WINDOW;
    this.#maxStreams = options.maxStreams ?? MAX_STREAMS_PER_SESSION;
    this.#pingIntervalMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
    this.#deadPeerTimeoutMs = options.deadPeerTimeoutMs ?? DEFAULT_DEAD_PEER_TIMEOUT_MS;
    this.#nextId = this.role === 'server' ? 2 : 1;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get streamCount(): number {
    return this.#streams.size;
  }

  get congested(): boolean {
    return this.#congested;
  }

  /** Start sending PINGs and watching for a silent peer. */
  startHeartbeat(): void {
    if (this.#liveness || this.#pingIntervalMs <= 0) return;
    this.#liveness = new LivenessWatcher<MuxSession>({
      intervalMs: this.#pingIntervalMs,
      silenceMs: this.#deadPeerTimeoutMs,
      // Agents PING the server; the server PINGs only an agent it has not heard from for a whole
      // interval (an agent that does not PING, or an idle link): half the heartbeat frames and
      // syscalls on both sides with many idle tunnels (bench/tunnels.ts), same dead-peer rule.
      quietMs: this.role === 'server' ? this.#pingIntervalMs : 0,
      onSilent: () =>
        this.close(new BurrowError('BURROW_ERR_HEARTBEAT_TIMEOUT', `no frame for ${this.#deadPeerTimeoutMs} ms`)),
      onTick: () => {
        const p = Buffer.allocUnsafe(8);
        p.writeDoubleBE(Date.now(), 0);
        this.sendFrame(encodeFrame(FrameType.PING, 0, p));
      },
    });
    this.#liveness.seen(this);
    this.#liveness.start();
  }

  /** Feed bytes received from the transport. Protocol errors close the session. */
  receive(chunk: Buffer): void {
    if (this.#closed) return;
    this.#liveness?.seen(this);
    this.bytesIn += chunk.length;
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      this.close(err instanceof BurrowError ? err : new BurrowError('BURROW_ERR_PROTOCOL', String(err)));
      return;
    }
    this.beginBatch();
    try {
      for (const frame of frames) {
        if (this.#closed) return;
        try {
          this.#dispatch(frame);
        } catch (err) {
          this.close(err instanceof BurrowError ? err : new BurrowError('BURROW_ERR_PROTOCOL', String(err)));
          return;
        }
      }
    } finally {
      this.endBatch();
    }
  }

  /**
   * What is received between beginBatch() and endBatch() (the transport calls them around one
   * socket read, receive() around one chunk) reaches each stream's sink as one write: the sink is
   * corked at the stream's first DATA and uncorked at the end. One read often holds a DATA frame's
   * tail and the next one's head, passed on as two pieces: without this, two write syscalls.
   */
  beginBatch(): void {
    this.#batch++;
  }

  endBatch(): void {
    if (--this.#batch > 0) return;
    const corked = this.#corked;
    if (corked.length === 0) return;
    this.#corked = [];
    for (const sink of corked) sink.uncork();
  }

  /** Send a JSON control frame on stream 0. */
  sendControl(type: FrameTypeCode, value: unknown): void {
    this.sendFrame(encodeJsonFrame(type, 0, value));
  }

  /** Open a stream to the peer. */
  openStream(open: StreamOpen): MuxStream {
    if (this.#closed) throw new BurrowError('BURROW_ERR_AGENT_GONE');
    if (this.#streams.size >= this.#maxStreams)
      throw new BurrowError('BURROW_ERR_STREAM_LIMIT', `${this.#maxStreams} streams open`);
    const id = this.#nextId;
    if (id > MAX_STREAM_ID) throw new BurrowError('BURROW_ERR_STREAM_LIMIT', 'stream ids exhausted; reconnect');
    this.#nextId += 2;
    const stream = new MuxStream(this, id, open);
    this.#streams.set(id, stream);
    this.sendFrame(encodeJsonFrame(FrameType.OPEN, id, open));
    return stream;
  }

  /**
   * Send one DATA frame. A payload that makes the frame DIRECT_SEND_BYTES or larger goes out as a
   * message of its own, header and payload as separate parts when the transport takes parts (no
   * copy); smaller ones are encoded and batched like any frame.
   */
  sendData(streamId: number, payload: Buffer, onSent?: () => void): void {
    this.sendDataParts(streamId, [payload], payload.length, onSent);
  }

  /**
   * sendData() of the payload `parts` back to back (`length` bytes in all, at most MAX_DATA_CHUNK):
   * one DATA frame, its parts not joined when the frame is large and the transport takes parts.
   * `onSent`, if given, is called once the parts' bytes are no longer needed: at once when they
   * were copied into a frame (or the session is closed), else when the transport wrote them.
   */
  sendDataParts(streamId: number, parts: readonly Buffer[], length: number, onSent?: () => void): void {
    if (this.#closed) {
      onSent?.();
      return;
    }
    const size = FRAME_HEADER_SIZE + length;
    if (this.copiesData(length) || !this.#transport.sendParts) {
      // encodeFrame copies the payload behind the header
      this.sendFrame(
        encodeFrame(FrameType.DATA, streamId, parts.length === 1 ? parts[0]! : Buffer.concat(parts, length)),
      );
      onSent?.();
      return;
    }
    const header = encodeFrameHeader(FrameType.DATA, streamId, length);
    if (this.#queue.length) this.#flush();
    this.bytesOut += size;
    if (!this.#transport.sendParts([header, ...parts], onSent)) this.#congested = true;
  }

  /** Whether sendData() of `length` bytes copies them into a frame before it returns (nothing to wait for). */
  copiesData(length: number): boolean {
    return FRAME_HEADER_SIZE + length < DIRECT_SEND_BYTES || !this.#transport.sendParts;
  }

  /** Send the frames of several sendData() calls in one transport write (see MuxTransport.cork). */
  corkTransport(): void {
    this.#transport.cork?.();
  }

  uncorkTransport(): void {
    this.#transport.uncork?.();
  }

  /** Queue an encoded frame; frames queued in the same tick go out as one transport message. */
  sendFrame(frame: Buffer): void {
    if (this.#closed) return;
    if (frame.length >= DIRECT_SEND_BYTES) {
      // Large frames go out on their own: no copy into a batch.
      if (this.#queue.length) this.#flush();
      this.bytesOut += frame.length;
      if (!this.#transport.send(frame)) this.#congested = true;
      return;
    }
    if (this.#enqueue(frame) && !this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /**
   * Queue a frame nobody waits for (a request EVENT for the agent's display): it leaves with the next batch, or after at
   * most DEFERRED_FLUSH_MS when no other frame is sent meanwhile. Sent at once, a frame per request would cost a write
   * here and a wake-up and a read at the peer, each, for every request. Order with other frames is kept.
   */
  sendDeferred(frame: Buffer): void {
    if (this.#closed) return;
    if (this.#enqueue(frame) && !this.#flushScheduled && this.#deferredTimer === undefined) {
      // not cleared when a batch takes the frame first: it then fires once on an empty queue
      this.#deferredTimer = setTimeout(() => {
        this.#deferredTimer = undefined;
        this.#flush();
      }, DEFERRED_FLUSH_MS);
    }
  }

  /** Add a frame to the batch; a full batch (MAX_BATCH_BYTES) leaves at once. Returns true while it waits. */
  #enqueue(frame: Buffer): boolean {
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    if (this.#queuedBytes < MAX_BATCH_BYTES) return true;
    this.#flush();
    return false;
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#queue.length === 0 || this.#closed) return;
    const data = this.#queue.length === 1 ? this.#queue[0]! : Buffer.concat(this.#queue, this.#queuedBytes);
    this.#queue = [];
    this.#queuedBytes = 0;
    this.bytesOut += data.length;
    if (!this.#transport.send(data)) this.#congested = true;
  }

  /** Call when the transport's buffer drained below its high-water mark. */
  drained(): void {
    this.#congested = false;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }

  /** Run cb now, or once the transport drains. */
  whenWritable(cb: () => void): void {
    if (this.#congested && !this.#closed) this.#drainWaiters.push(cb);
    else cb();
  }

  /**
   * Say goodbye and end the session. The GOAWAY jumps the data queue: it is handed to the transport
   * at once (not at the end of the turn), every frame still queued here is dropped (the peer ignores
   * everything after a GOAWAY anyway) and no stream sends anything after it. Only bytes the
   * transport already holds go before it: at most TRANSPORT_HIGH_WATER plus one DATA frame per
   * stream, since stream writes wait while the transport is congested. The transport is left open:
   * its owner closes it (a WebSocket close handshake lets the GOAWAY drain first).
   */
  goAway(wire: WireError, err?: BurrowError): void {
    if (this.#closed) return;
    this.#queue = [];
    this.#queuedBytes = 0;
    const frame = encodeJsonFrame(FrameType.GOAWAY, 0, wire);
    this.bytesOut += frame.length;
    if (!this.#transport.send(frame)) this.#congested = true;
    this.close(err);
  }

  /** End the session: every stream is destroyed with `err` (or AGENT_GONE). */
  close(err?: BurrowError): void {
    if (this.#closed) return;
    if (this.#queue.length) this.#flush();
    this.#closed = true;
    clearTimeout(this.#deferredTimer);
    this.#deferredTimer = undefined;
    this.#liveness?.stop();
    this.#liveness = undefined;
    const reason = err ?? new BurrowError('BURROW_ERR_AGENT_GONE', 'connection closed');
    for (const s of [...this.#streams.values()]) s.destroy(reason);
    this.#streams.clear();
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
    this.emit('close', err);
  }

  /** @internal */
  forget(id: number): void {
    this.#streams.delete(id);
  }

  #dispatch(frame: Frame): void {
    switch (frame.type) {
      case FrameType.DATA: {
        const s = this.#streams.get(frame.streamId);
        const sink = s?.sink;
        if (sink && this.#batch > 0 && !sink.destroyed && !this.#corked.includes(sink)) {
          sink.cork();
          this.#corked.push(sink);
        }
        if (s) s.onData(frame.payload);
        return; // data for a stream we already reset: ignore
      }
      case FrameType.WINDOW: {
        const inc = decodeWindow(frame);
        this.#streams.get(frame.streamId)?.onWindow(inc);
        return;
      }
      case FrameType.END:
        this.#streams.get(frame.streamId)?.onEnd();
        return;
      case FrameType.RESET: {
        const s = this.#streams.get(frame.streamId);
        if (s) s.onReset(parseWireError(decodeJson(frame)));
        return;
      }
      case FrameType.OPEN:
        this.#onOpen(frame);
        return;
      case FrameType.PING:
        this.sendFrame(encodeFrame(FrameType.PONG, 0, frame.payload));
        return;
      case FrameType.PONG: {
        // our PINGs carry the time they left (startHeartbeat); the peer echoes the 8 bytes
        const rtt = Date.now() - frame.payload.readDoubleBE(0);
        if (Number.isFinite(rtt) && rtt >= 0) this.rttMs = rtt;
        return;
      }
      default:
        this.emit('control', frame);
    }
  }

  #onOpen(frame: Frame): void {
    const id = frame.streamId;
    const peerParity = this.role === 'server' ? 1 : 0;
    if (id % 2 !== peerParity) throw new BurrowError('BURROW_ERR_PROTOCOL', `stream id ${id} has the wrong parity`);
    if (this.#streams.has(id)) throw new BurrowError('BURROW_ERR_PROTOCOL', `stream ${id} is already open`);
    const open = parseStreamOpen(decodeJson(frame));
    const stream = new MuxStream(this, id, open);
    if (this.#streams.size >= this.#maxStreams) {
      stream.reset(new BurrowError('BURROW_ERR_STREAM_LIMIT', `${this.#maxStreams} streams open`));
      return;
    }
    this.#streams.set(id, stream);
    if (this.listenerCount('stream') === 0) {
      stream.reset(new BurrowError('BURROW_ERR_PROTOCOL', 'this side does not accept streams'));
      return;
    }
    this.emit('stream', stream, open);
  }
}

function noop(): void {}

/**
 * One stream: a Duplex whose writes become DATA frames (within the peer's credit) and whose reads
 * return the peer's DATA (crediting the peer back as the consumer reads). It also offers the
 * net.Socket methods Node's http.Agent calls, so an http client can run over it.
 *
 * Large writes are not copied: a chunk that fills a DATA frame of DIRECT_SEND_BYTES or more is
 * handed to the transport as it is, and the write callback may run before the transport's socket
 * has sent it. Do not modify a Buffer after writing it (sockets' 'data' buffers never are).
 */
export class MuxStream extends AgentSocket {
  readonly id: number;
  readonly open: StreamOpen;
  readonly #session: MuxSession;
  #sendWindow: number;
  #received = 0;
  #credited = 0;
  readonly #creditThreshold: number;
  /** The rest of a write that waits for the peer's credit. */
  #pending: { chunks: Buffer[]; done: WriteDone } | undefined;
  #remoteEnded = false;
  #localEnded = false;
  #resetByPeer = false;
  #resetReason: Error | undefined;

  constructor(session: MuxSession, id: number, open: StreamOpen) {
    super({ allowHalfOpen: true, readableHighWaterMark: 256 * 1024, writableHighWaterMark: 64 * 1024 });
    this.#session = session;
    this.id = id;
    this.open = open;
    this.#sendWindow = session.peerWindow;
    this.#creditThreshold = Math.max(1, Math.floor(session.window / 4));
    // A stream error nobody listens to must never crash the process (the classic tunnel crash);
    // users that care (pipeline, the proxy) add their own listeners.
    this.on('error', noop);
  }

  /** Refuse or abort the stream: the peer gets RESET with err's code; no 'error' is emitted here. */
  reset(err: Error): void {
    if (this.destroyed) return;
    this.#resetReason = err;
    this.destroy();
  }

  get remoteAddress(): string | undefined {
    return this.open.remoteAddress;
  }

  // ---- frames from the session ----
  /**
   * The writable this stream's data goes to (set by pipe(), or by a consumer that writes each chunk
   * itself): while the session dispatches the frames of one read, it is corked, so the pieces of
   * DATA frames that share a read reach it as one write.
   */
  sink: StreamSink | undefined = undefined;

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    const d = destination as unknown as Partial<StreamSink>;
    if (typeof d.cork === 'function' && typeof d.uncork === 'function')
      this.sink = destination as unknown as StreamSink;
    return super.pipe(destination, options);
  }

  /** @internal */
  onData(payload: Buffer): void {
    if (this.#remoteEnded) {
      this.#protocolError('DATA after END');
      return;
    }
    this.#received += payload.length;
    if (this.#received - this.#credited > this.#session.window) {
      this.#protocolError('peer exceeded the stream window');
      return;
    }
    if (this.idle) {
      // An idle pooled connection must not receive anything: the origin sent a stale response
      // (e.g. an unsolicited 408). Drop the connection so those bytes never reach a visitor.
      this.destroy();
      return;
    }
    this.bytesRead += payload.length;
    this.touch();
    this.push(payload);
    this.#maybeCredit();
  }

  /** @internal */
  onWindow(increment: number): void {
    this.#sendWindow += increment;
    const p = this.#pending;
    if (p && this.#sendWindow > 0) {
      this.#pending = undefined;
      this.#writeChunks(p.chunks, p.done);
    }
  }

  /** @internal */
  onEnd(): void {
    if (this.#remoteEnded) return;
    this.#remoteEnded = true;
    this.push(null);
  }

  /** @internal */
  onReset(e: { code: string; message: string }): void {
    this.#resetByPeer = true;
    this.destroy(fromWireError(e, ERROR_CODES));
  }

  #protocolError(message: string): void {
    this.destroy(new BurrowError('BURROW_ERR_PROTOCOL', message));
  }

  #maybeCredit(): void {
    if (this.destroyed) return;
    const consumed = this.#received - this.readableLength;
    const credit = consumed - this.#credited;
    if (credit >= this.#creditThreshold) {
      this.#credited += credit;
      this.#session.sendFrame(encodeWindow(this.id, credit));
    }
  }

  // ---- Duplex implementation ----
  override _read(): void {
    this.#maybeCredit();
  }

  /** Credit the peer as the consumer takes bytes out of the buffer (flowing, paused or piped). */
  override read(size?: number): unknown {
    const chunk: unknown = super.read(size);
    if (chunk !== null) this.#maybeCredit();
    return chunk;
  }

  /**
   * write(chunk), and `release()` once this stream no longer needs chunk's bytes: they were copied
   * into a frame or written to the transport's socket (or the session closed). For a reader that
   * reuses its buffers (core/pooled-reads.ts). Not called if the stream is destroyed first.
   * Such a write paces its writer as before (its callback and write()'s false clear once its frames
   * were handed to the session), while a plain write(chunk, cb) calls back only once its bytes are
   * done, as the release says here.
   */
  writeReleasing(chunk: Buffer, release: () => void): boolean {
    releases.set(chunk, release);
    return this.write(chunk);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#writeChunks(chunk, new WriteDone(this.#session, cb, takeRelease(chunk)));
  }

  /**
   * Writes that waited (corked, or behind a write in progress) leave as ONE DATA frame when the
   * peer's credit and the frame size allow, their buffers sent as parts (not joined); else one
   * after another, in one corked write with one completion. A reader that gets one message in
   * several pieces (a WebSocket read as it arrives) and corks this stream around each read thus
   * sends one frame, not one per piece.
   */
  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    let length = 0;
    for (const c of chunks) length += c.chunk.length;
    const parts = chunks.map((c) => c.chunk);
    // only writes from writeReleasing() have a release (no array per write otherwise)
    let toRelease: (() => void)[] | undefined;
    for (const p of parts) {
      const r = takeRelease(p);
      if (r) (toRelease ??= []).push(r);
    }
    const done = new WriteDone(
      this.#session,
      cb,
      toRelease && (() => toRelease.forEach((r) => r())),
      toRelease?.length === parts.length,
    );
    if (length > 0 && !this.#session.closed && length <= this.#sendWindow && length <= MAX_DATA_CHUNK) {
      this.#session.sendDataParts(this.id, parts, length, this.#session.copiesData(length) ? undefined : done.hold());
      this.#sendWindow -= length;
      this.bytesWritten += length;
      this.touch();
      done.drop();
      return;
    }
    this.#writeChunks(parts, done);
  }

  /**
   * Send `chunks` (one chunk, or several in order) as DATA frames as far as the peer's credit goes;
   * the rest waits in #pending for more credit. `done` completes once every frame was sent or copied.
   */
  #writeChunks(chunks: Buffer | Buffer[], done: WriteDone): void {
    if (this.#session.closed) {
      done.fail(new BurrowError('BURROW_ERR_AGENT_GONE', 'connection closed'));
      done.drop();
      return;
    }
    const list = Array.isArray(chunks) ? chunks : undefined;
    const count = list ? list.length : 1;
    // the frames of several chunks, or of one large chunk, leave in one write
    const corked = count > 1 || (list ? list[0]! : (chunks as Buffer)).length > MAX_DATA_CHUNK;
    if (corked) this.#session.corkTransport();
    try {
      for (let i = 0; i < count; i++) {
        const chunk = list ? list[i]! : (chunks as Buffer);
        let rest = chunk;
        while (rest.length > 0) {
          if (this.#sendWindow <= 0) {
            const more = list ? list.slice(i + 1) : [];
            this.#pending = { chunks: rest === chunk && list && i === 0 ? list : [rest, ...more], done };
            return;
          }
          const n = Math.min(rest.length, this.#sendWindow, MAX_DATA_CHUNK);
          // each DATA frame kept by reference (large) holds a share until the transport wrote it; a
          // small one is copied into the frame before sendData returns
          this.#session.sendData(this.id, rest.subarray(0, n), this.#session.copiesData(n) ? undefined : done.hold());
          this.#sendWindow -= n;
          this.bytesWritten += n;
          rest = rest.subarray(n);
        }
      }
    } finally {
      if (corked) this.#session.uncorkTransport();
    }
    this.touch();
    done.drop();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#localEnded = true;
    if (!this.#session.closed) this.#session.sendFrame(encodeFrame(FrameType.END, this.id));
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    const clean = this.#localEnded && this.#remoteEnded;
    if (!clean && !this.#resetByPeer && !this.#session.closed) {
      const reason = err ?? this.#resetReason;
      const wire = reason ? toWireError(reason) : { code: 'BURROW_ERR_ORIGIN_ERROR', message: 'stream closed' };
      this.#session.sendFrame(encodeJsonFrame(FrameType.RESET, this.id, wire));
    }
    const p = this.#pending;
    this.#pending = undefined;
    this.#session.forget(this.id);
    if (p) {
      p.done.fail(err ?? new BurrowError('BURROW_ERR_AGENT_GONE', 'stream closed'));
      p.done.drop();
    }
    cb(err);
  }
}

/**
 * One write's completion. Each DATA frame cut from the chunk holds a share; once the last share is
 * gone (every frame copied into a batch, written to the transport's socket, or dropped with a
 * closed session) the chunk's release (writeReleasing) runs, and then the write's callback as soon
 * as the session takes more. So the callback keeps Node's contract for write(chunk, cb): the chunk's
 * bytes are no longer needed, and a writer may refill its buffer (core/direct-body.ts does).
 *
 * A write whose every chunk came with a release (`early`) calls back as soon as all its frames were
 * handed to the session, as before: its writer learns from the release when the bytes are free, and
 * reads on meanwhile (core/pooled-reads.ts keeps up to POOLED_READ_MAX_BUFFERS out). Waiting for the
 * socket there cost `burrow connect` 3–6 % more CPU per GiB (bench/RESULTS.md).
 */
class WriteDone extends SharedRelease {
  readonly #session: MuxSession;
  readonly #cb: (err?: Error | null) => void;
  readonly #early: boolean;
  #settled = false;

  constructor(
    session: MuxSession,
    cb: (err?: Error | null) => void,
    release: (() => void) | undefined,
    early = release !== undefined,
  ) {
    super(release);
    this.#session = session;
    this.#cb = cb;
    this.#early = early;
  }

  /** Every frame of the write was handed to the session (the writer's own share goes). */
  override drop(): void {
    if (this.#early) this.#settle();
    super.drop();
  }

  /** The write failed: its callback gets `err` now (the release still waits for frames the transport holds). */
  fail(err: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#cb(err);
  }

  protected override released(): void {
    super.released();
    this.#settle();
  }

  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    // the Writable's callback, called without arguments: no closure per write
    this.#session.whenWritable(this.#cb);
  }
}

/** Chunks written with MuxStream.writeReleasing(), and their release. */
const releases = new WeakMap<Buffer, () => void>();

function takeRelease(chunk: Buffer): (() => void) | undefined {
  const r = releases.get(chunk);
  if (r) releases.delete(chunk);
  return r;
}
