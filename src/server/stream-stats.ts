/**
 * A tunnel's stream counters, written once for every byte-stream tunnel (burrow agents,
 * localtunnel pools): the streams open now, how many were ever opened, bytes each way (open
 * streams included), requests answered, and the `burrow_streams` / `burrow_bytes_total` metrics
 * under the tunnel's protocol label.
 */
import type { ServerMetrics } from './metrics.js';
import type { TunnelStats } from './registry.js';

/** What is counted of a stream: Node's Duplex byte counters and its close. */
export interface CountedStream {
  /** Bytes written towards the tunnel's client (counted as "in": into the tunnel). */
  readonly bytesWritten: number;
  /** Bytes read from the tunnel's client (counted as "out"). */
  readonly bytesRead: number;
  once(event: 'close', listener: () => void): unknown;
}

export class StreamStats<S extends CountedStream = CountedStream> {
  readonly #metrics: ServerMetrics;
  readonly #protocol: string;
  readonly #open = new Set<S>();
  #total = 0;
  #requests = 0;
  #bytesIn = 0;
  #bytesOut = 0;

  constructor(metrics: ServerMetrics, protocol: string) {
    this.#metrics = metrics;
    this.#protocol = protocol;
  }

  /** Streams open now. */
  get open(): ReadonlySet<S> {
    return this.#open;
  }

  /** Count a new stream until it closes. */
  track(stream: S): void {
    const protocol = this.#protocol;
    this.#open.add(stream);
    this.#total++;
    this.#metrics.streamOpened(protocol);
    stream.once('close', () => {
      this.#open.delete(stream);
      this.#bytesIn += stream.bytesWritten;
      this.#bytesOut += stream.bytesRead;
      this.#metrics.streamClosed(protocol);
      this.#metrics.bytes.inc({ direction: 'in', protocol }, stream.bytesWritten);
      this.#metrics.bytes.inc({ direction: 'out', protocol }, stream.bytesRead);
    });
  }

  /** A request on this tunnel was answered. */
  requestDone(): void {
    this.#requests++;
  }

  /** The counters now, as the registry reports them. */
  snapshot(connectedSockets: number): TunnelStats {
    let bytesIn = this.#bytesIn;
    let bytesOut = this.#bytesOut;
    for (const s of this.#open) {
      bytesIn += s.bytesWritten;
      bytesOut += s.bytesRead;
    }
    return {
      openStreams: this.#open.size,
      totalStreams: this.#total,
      bytesIn,
      bytesOut,
      requests: this.#requests,
      connectedSockets,
    };
  }
}
