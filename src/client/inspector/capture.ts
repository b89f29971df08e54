/** A body as the inspector keeps it: its first bytes (up to a limit, copied) and its full size. */
export class Capture {
  readonly limit: number;
  /** Bytes seen in all (the body's size, decoded from chunked framing). */
  size = 0;
  #chunks: Buffer[] = [];
  #kept = 0;
  #joined: Buffer | undefined;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes kept so far (at most `limit`). */
  get kept(): number {
    return this.#kept;
  }

  get truncated(): boolean {
    return this.size > this.#kept;
  }

  /** Count `buf[start, end)`, keeping a copy of what fits; returns how many bytes were kept. */
  add(buf: Buffer, start: number, end: number): number {
    const n = end - start;
    this.size += n;
    const room = this.limit - this.#kept;
    if (room <= 0 || n <= 0) return 0;
    const take = Math.min(room, n);
    // a copy: the stream's buffers are passed on (and may be slices of larger ones)
    const copy = Buffer.allocUnsafe(take);
    buf.copy(copy, 0, start, start + take);
    this.#chunks.push(copy);
    this.#kept += take;
    this.#joined = undefined;
    return take;
  }

  /** The kept bytes as one buffer. */
  bytes(): Buffer {
    if (this.#joined === undefined) {
      this.#joined = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#kept);
      this.#chunks = this.#joined.length ? [this.#joined] : [];
    }
    return this.#joined;
  }
}
