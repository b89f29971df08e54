/**
 * A live region at the bottom of the terminal, redrawn in place: the previous drawing is erased
 * (cursor up over its lines, clear to the end of the screen) and the new one written in one write.
 * While it is on, whatever else the process writes to stdout or stderr (a reconnect notice, an error)
 * is printed above the region, which is then drawn again below it: nothing is lost or overdrawn.
 */
import type { WriteStream } from 'node:tty';

const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';
const CLEAR_SCREEN = '\x1b[2J\x1b[H';

type Write = WriteStream['write'];

export class LiveRegion {
  readonly #out: WriteStream;
  readonly #err: WriteStream | undefined;
  readonly #writeOut: (text: string) => void;
  readonly #writeErr: ((text: string) => void) | undefined;
  readonly #original: { out: Write; err: Write | undefined };
  #lines: string[] = [];
  /** Lines of the region on the screen now. */
  #drawn = 0;
  #pending = { out: '', err: '' };
  #on = false;
  readonly #onResize = (): void => {
    // lines that fitted the old width may wrap now: start from a clean screen
    this.#writeOut(CLEAR_SCREEN);
    this.#drawn = 0;
    this.#writeOut(this.#frame());
  };

  constructor(out: WriteStream, err?: WriteStream) {
    this.#out = out;
    this.#err = err?.isTTY ? err : undefined;
    // the streams' own write(), kept to draw with and to give back
    const original = { out: out.write.bind(out), err: this.#err?.write.bind(this.#err) };
    this.#original = original;
    this.#writeOut = (text) => void original.out(text);
    this.#writeErr = original.err ? (text) => void original.err?.(text) : undefined;
  }

  get columns(): number {
    return this.#out.columns || 80;
  }

  get rows(): number {
    return this.#out.rows || 24;
  }

  /** Take over the terminal: hide the cursor, print other output above the region. */
  start(): void {
    if (this.#on) return;
    this.#on = true;
    this.#writeOut(HIDE_CURSOR);
    this.#out.write = this.#intercept('out');
    if (this.#err) this.#err.write = this.#intercept('err');
    this.#out.on('resize', this.#onResize);
  }

  /** Draw these lines in place of the previous ones. */
  draw(lines: string[]): void {
    const same = lines.length === this.#lines.length && lines.every((l, i) => l === this.#lines[i]);
    this.#lines = lines;
    if (this.#on && !same) this.#writeOut(this.#erase() + this.#frame());
  }

  /** Leave the last drawing on the screen, show the cursor, give stdout and stderr back. */
  stop(): void {
    if (!this.#on) return;
    this.#on = false;
    this.#out.off('resize', this.#onResize);
    this.#out.write = this.#original.out;
    if (this.#err && this.#original.err) this.#err.write = this.#original.err;
    const rest =
      (this.#pending.out ? this.#pending.out + '\n' : '') + (this.#pending.err ? this.#pending.err + '\n' : '');
    this.#pending = { out: '', err: '' };
    this.#writeOut(this.#erase() + rest + this.#frame() + SHOW_CURSOR);
  }

  #erase(): string {
    const n = this.#drawn;
    this.#drawn = 0;
    return n > 0 ? `\r\x1b[${n}A\x1b[J` : '';
  }

  #frame(): string {
    this.#drawn = this.#lines.length;
    return this.#lines.length ? this.#lines.join('\n') + '\n' : '';
  }

  /** A write() that prints whole lines above the region. */
  #intercept(which: 'out' | 'err'): Write {
    return (chunk: unknown, encoding?: unknown, cb?: unknown): boolean => {
      const done = typeof encoding === 'function' ? encoding : cb;
      const text =
        typeof chunk === 'string'
          ? chunk
          : Buffer.from(chunk as Uint8Array).toString(
              typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8',
            );
      const all = this.#pending[which] + text;
      const end = all.lastIndexOf('\n') + 1;
      this.#pending[which] = all.slice(end);
      if (end > 0) {
        const lines = all.slice(0, end);
        if (which === 'out') this.#writeOut(this.#erase() + lines + this.#frame());
        else {
          this.#writeOut(this.#erase());
          this.#writeErr!(lines);
          this.#writeOut(this.#frame());
        }
      }
      if (typeof done === 'function') process.nextTick(done);
      return true;
    };
  }
}
