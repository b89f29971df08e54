/**
 * One established pipe: a sender's bytes fanned out to its receivers in lockstep. Every chunk is
 * written to every live receiver; when any of them holds FANOUT_HIGH_WATER_BYTES unsent the source
 * pauses until all have drained, so the slowest receiver paces the sender and no receiver buffers without bound.
 * A receiver that leaves is counted once and the others go on; a sender that leaves cuts every
 * receiver's body (truncated, never ended as complete).
 */
import type { Readable } from 'node:stream';
import type { DirectBody } from '../../core/direct-body.js';
import type { Logger } from '../../core/logger.js';
import { abortResponse, sendPipeError, type Req, type Res } from './http.js';
import type { ForwardHeaders } from './headers.js';
import { receiverHeaders } from './headers.js';
import { firstMultipartPart, isMultipart } from './multipart.js';
import type { PipeClock, PipeLimits } from './options.js';
import { FANOUT_HIGH_WATER_BYTES } from '../../wire/pipe/limits.js';
import { SENDER_CUT_GRACE_MS } from './limits.js';
import type { SenderMessages } from './sender-messages.js';

export interface TransferSender {
  readonly req: Req;
  readonly messages: SenderMessages;
  readonly forward: ForwardHeaders;
  /** The body read past Node's parser into reused buffers (a large Content-Length upload). */
  readonly direct?: DirectBody;
}

/** What a transfer does to its source: a request stream, a multipart part, or a direct body. */
interface SourceControl {
  pause(): void;
  resume(): void;
  /** Reads and drops the rest. */
  discard(): void;
}

function streamControl(source: Readable): SourceControl {
  return {
    pause: () => source.pause(),
    resume: () => source.resume(),
    discard: () => {
      source.removeAllListeners('data');
      source.resume();
    },
  };
}

export interface TransferReceiver {
  readonly req: Req;
  readonly res: Res;
  /** This receiver's Content-Disposition given the sender's (per-receiver `?download`/`?filename`). */
  disposition(senderDisposition: string | undefined): string | undefined;
}

export type TransferState = 'starting' | 'streaming' | 'complete' | 'failed';

export interface TransferOutcome {
  readonly state: 'complete' | 'failed';
  readonly bytes: number;
  readonly durationMs: number;
  readonly reason?: string;
}

export interface TransferEvents {
  onStreaming(): void;
  onBytes(): void;
  onReceiverGone(): void;
  onDone(outcome: TransferOutcome): void;
}

interface Sink {
  readonly receiver: TransferReceiver;
  live: boolean;
  finished: boolean;
  blocked: boolean;
  /**
   * One entry per write of a direct body's buffer not yet completed, in order (a connection's writes
   * complete in order). A receiver that leaves settles its entries at once: its connection is
   * closed, and its late callbacks, if any come, find nothing.
   */
  inflight: (() => void)[];
  readonly onWritten: () => void;
}

function newSink(receiver: TransferReceiver): Sink {
  const sink: Sink = {
    receiver,
    live: true,
    finished: false,
    blocked: false,
    inflight: [],
    onWritten: () => sink.inflight.shift()?.(),
  };
  return sink;
}

export class Transfer {
  state: TransferState = 'starting';
  bytes = 0;
  totalBytes: number | undefined;
  readonly startedAt: number;
  #lastActivity: number;
  #source: SourceControl | undefined;
  #sourceEnded = false;
  #blockedCount = 0;
  #idleTimer: unknown;
  readonly #sinks: Sink[];

  readonly #sender: TransferSender;
  readonly #clock: PipeClock;
  readonly #limits: PipeLimits;
  readonly #logger: Logger;
  readonly #events: TransferEvents;
  constructor(
    readonly path: string,
    sender: TransferSender,
    receivers: TransferReceiver[],
    clock: PipeClock,
    limits: PipeLimits,
    logger: Logger,
    events: TransferEvents,
  ) {
    this.#sender = sender;
    this.#clock = clock;
    this.#limits = limits;
    this.#logger = logger;
    this.#events = events;
    this.startedAt = clock.now();
    this.#lastActivity = this.startedAt;
    this.#sinks = receivers.map(newSink);
  }

  get liveReceivers(): number {
    let n = 0;
    for (const s of this.#sinks) if (s.live) n++;
    return n;
  }

  get receiverCount(): number {
    return this.#sinks.length;
  }

  start(): void {
    this.#sender.messages.info(`Streaming to ${this.#sinks.length} receiver(s)...`);
    for (const sink of this.#sinks) this.#watchReceiver(sink);
    this.#sender.req.once('close', () => {
      if (this.#sourceEnded || this.#isDone() || this.#sender.req.complete) return;
      this.#failFromSender('The sender disconnected before the upload completed.');
    });
    this.#sender.req.on('error', () => {
      if (!this.#sourceEnded && !this.#isDone()) this.#failFromSender('The sender connection failed.');
    });
    this.#armIdleTimer();
    if (isMultipart(this.#sender.forward.contentType)) {
      firstMultipartPart(this.#sender.req, this.#limits.multipartDeadlineMs, this.#clock).then(
        (part) => {
          const fwd: ForwardHeaders = {
            xPiping: this.#sender.forward.xPiping,
            xHoodyPipe: this.#sender.forward.xHoodyPipe,
          };
          if (part.contentType !== undefined) fwd.contentType = part.contentType;
          if (part.contentDisposition !== undefined) fwd.contentDisposition = part.contentDisposition;
          this.#flow(fwd, part.stream);
        },
        (err: Error) => {
          this.#sender.req.unpipe();
          this.#failFromSender(err.message);
        },
      );
    } else {
      this.#flow(this.#sender.forward, this.#sender.req, this.#sender.direct);
    }
  }

  /** Tears the transfer down (server shutdown, idle eviction). */
  abort(reason: string, status = 400): void {
    if (this.#isDone()) return;
    this.#failFromSender(reason, status);
  }

  #isDone(): boolean {
    return this.state === 'complete' || this.state === 'failed';
  }

  #flow(fwd: ForwardHeaders, source: Readable, direct?: DirectBody): void {
    if (this.#isDone()) {
      if (direct) direct.discard();
      else source.resume();
      return;
    }
    this.#source = direct ?? streamControl(source);
    this.totalBytes = fwd.contentLength === undefined ? undefined : Number(fwd.contentLength);
    for (const sink of this.#sinks) {
      if (!sink.live) continue;
      try {
        sink.receiver.res.writeHead(200, receiverHeaders(fwd, sink.receiver.disposition(fwd.contentDisposition)));
      } catch (err) {
        this.#logger.debug({ err }, 'pipe: receiver head rejected');
        this.#dropReceiver(sink);
      }
    }
    if (this.#isDone()) return;
    this.state = 'streaming';
    this.#events.onStreaming();
    if (direct) {
      direct.start({
        onChunk: (chunk, release) => this.#onChunk(chunk, release),
        onEnd: () => this.#onSourceEnd(),
        onError: () => {
          if (!this.#isDone()) this.#failFromSender('The sender disconnected before the upload completed.');
        },
      });
      return;
    }
    source.on('data', (chunk: Buffer) => this.#onChunk(chunk));
    source.once('end', () => this.#onSourceEnd());
    source.once('error', () => this.#failFromSender('Failed to read the sender body.'));
  }

  /**
   * Writes `chunk` to every live receiver. With `release` (a direct body's reused buffer) the
   * buffer is handed back once every receiver's write of it completed.
   */
  #onChunk(chunk: Buffer, release?: () => void): void {
    this.bytes += chunk.length;
    this.#lastActivity = this.#clock.now();
    let writes = 1;
    const written =
      release &&
      ((): void => {
        if (--writes === 0) release();
      });
    for (const sink of this.#sinks) {
      if (!sink.live) continue;
      const res = sink.receiver.res;
      let ok: boolean;
      if (written) {
        writes++;
        sink.inflight.push(written);
        ok = res.write(chunk, sink.onWritten);
      } else ok = res.write(chunk);
      if (!ok && !sink.blocked && (res.writableLength ?? Infinity) >= FANOUT_HIGH_WATER_BYTES) {
        sink.blocked = true;
        this.#blockedCount++;
        sink.receiver.res.once('drain', () => this.#unblock(sink));
      }
    }
    written?.();
    if (this.#blockedCount > 0) this.#source?.pause();
    this.#events.onBytes();
  }

  #unblock(sink: Sink): void {
    if (!sink.blocked) return;
    sink.blocked = false;
    this.#blockedCount--;
    if (this.#blockedCount === 0 && !this.#isDone()) this.#source?.resume();
  }

  #onSourceEnd(): void {
    this.#sourceEnded = true;
    this.#lastActivity = this.#clock.now();
    this.#sender.messages.info('Upload complete.');
    for (const sink of this.#sinks) if (sink.live) sink.receiver.res.end();
    this.#checkComplete();
  }

  #watchReceiver(sink: Sink): void {
    const res = sink.receiver.res;
    res.once('finish', () => {
      sink.finished = true;
      this.#checkComplete();
    });
    res.once('close', () => {
      if (!sink.finished && !res.writableFinished) this.#dropReceiver(sink);
    });
  }

  /** A receiver left mid-transfer: counted once; the others go on. */
  #dropReceiver(sink: Sink): void {
    if (!sink.live) return;
    sink.live = false;
    for (const settle of sink.inflight.splice(0)) settle();
    if (sink.blocked) this.#unblock(sink);
    this.#events.onReceiverGone();
    if (this.#isDone()) return;
    this.#sender.messages.info('A receiver aborted.');
    if (this.liveReceivers === 0) {
      this.#finish('failed', 'All receivers aborted before the transfer completed.');
      this.#sender.messages.end('All receivers aborted before the transfer completed.', 'ERROR');
      this.#cutSender();
    } else {
      this.#checkComplete();
    }
  }

  #checkComplete(): void {
    if (this.#isDone() || !this.#sourceEnded) return;
    for (const s of this.#sinks) if (s.live && !s.finished) return;
    this.#finish('complete');
    this.#sender.messages.end('Transfer complete.');
  }

  #failFromSender(reason: string, status = 400): void {
    if (this.#isDone()) return;
    this.#finish('failed', reason);
    for (const sink of this.#sinks) {
      if (sink.live && !sink.finished) {
        sink.live = false;
        const res = sink.receiver.res;
        if (res.headersSent) abortResponse(res);
        else sendPipeError(res, status, reason);
      }
    }
    this.#sender.messages.fail(status, reason);
    this.#cutSender();
  }

  /** Drops the rest of the upload, lets the last line reach the sender, then cuts the connection. */
  #cutSender(): void {
    const req = this.#sender.req;
    req.unpipe();
    this.#source?.discard();
    if (!this.#sender.direct) req.resume();
    this.#sender.messages.afterEnd(() => {
      this.#clock.setTimeout(() => req.destroy(), SENDER_CUT_GRACE_MS);
    });
  }

  #finish(state: 'complete' | 'failed', reason?: string): void {
    this.state = state;
    this.#clock.clearTimeout(this.#idleTimer);
    const outcome: TransferOutcome = {
      state,
      bytes: this.bytes,
      durationMs: this.#clock.now() - this.startedAt,
      ...(reason === undefined ? {} : { reason }),
    };
    this.#logger.debug({ ...outcome, receivers: this.#sinks.length }, 'pipe: transfer finished');
    this.#events.onDone(outcome);
  }

  #armIdleTimer(): void {
    const ms = this.#limits.activeIdleTimeoutMs;
    const check = (): void => {
      if (this.#isDone()) return;
      const idle = this.#clock.now() - this.#lastActivity;
      if (idle >= ms) this.abort(`The transfer was idle for ${Math.round(ms / 1000)} s and was closed.`, 408);
      else this.#idleTimer = this.#clock.setTimeout(check, ms - idle);
    };
    this.#idleTimer = this.#clock.setTimeout(check, ms);
  }
}
