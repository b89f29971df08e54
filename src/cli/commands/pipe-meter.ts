/**
 * The pipe commands' progress meter: a cli-progress bar on stderr when it is a terminal (rate and
 * ETA from RateMeter's moving window, the clock from the first byte), and one summary line at the
 * end (`sent 200.0 MiB in 6.1 s (32.8 MiB/s)`) — the only line when stderr is not a terminal.
 * `quiet` prints nothing at all.
 */
import { Transform, type TransformCallback } from 'node:stream';
import cliProgress from 'cli-progress';
import { METER_FPS } from '../../client/pipe/limits.js';
import { meterLine, RateMeter } from '../../client/pipe/meter.js';

export class PipeMeter extends Transform {
  readonly meter = new RateMeter();
  readonly #verb: string;
  readonly #quiet: boolean;
  readonly #tty: NodeJS.WriteStream | undefined;
  #bar: cliProgress.SingleBar | undefined;
  #total: number | undefined;
  /** A sender's clock waits for the server's "Streaming" line (bytes before it only fill buffers). */
  readonly #waitForBegin: boolean;
  #status: string | undefined;

  constructor(
    verb: 'sent' | 'received',
    opts: { quiet?: boolean | undefined; total?: number | undefined; waitForBegin?: boolean },
  ) {
    super();
    this.#verb = verb;
    this.#quiet = opts.quiet === true;
    this.#tty = !this.#quiet && process.stderr.isTTY ? process.stderr : undefined;
    this.#total = opts.total;
    this.#waitForBegin = opts.waitForBegin === true;
  }

  set total(total: number | undefined) {
    this.#total = total;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.meter.add(chunk.length, this.#waitForBegin);
    this.#redraw();
    cb(null, chunk);
  }

  /** A status line before bytes move (`waiting for 1 receiver(s)...`); terminals only. */
  status(text: string): void {
    if (!this.#tty || this.meter.started) return;
    this.#status = text;
    this.#ensureBar().update(0);
  }

  /** The transfer really started (a sender's clock starts here). */
  begin(): void {
    this.meter.begin();
    this.#redraw();
  }

  /** Prints a line above the bar (the server's [INFO] lines). */
  log(line: string): void {
    if (!this.#tty) return;
    if (this.#bar) this.#bar.stop();
    this.#tty.write(line.endsWith('\n') ? line : `${line}\n`);
    this.#bar = undefined;
    this.#redraw();
  }

  /** Ends the bar; prints the summary unless quiet. */
  finish(ok: boolean): void {
    this.meter.end();
    this.#bar?.stop();
    this.#bar = undefined;
    if (ok && !this.#quiet) process.stderr.write(`${this.meter.summary(this.#verb)}\n`);
  }

  #redraw(): void {
    if (!this.#tty) return;
    if (this.meter.started) this.#status = undefined;
    this.#ensureBar().update(this.meter.bytes);
  }

  #ensureBar(): cliProgress.SingleBar {
    if (this.#bar) return this.#bar;
    const bar = new cliProgress.SingleBar({
      stream: this.#tty!,
      fps: METER_FPS,
      hideCursor: false,
      clearOnComplete: true,
      linewrap: false,
      format: (_options, params) => this.#status ?? meterLine(this.#verb, this.meter, this.#total, params.maxWidth),
    });
    bar.start(this.#total ?? 0, this.meter.bytes);
    this.#bar = bar;
    return bar;
  }
}
