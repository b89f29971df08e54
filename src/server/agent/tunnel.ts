import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { BurrowError } from '../../core/errors.js';
import { encodeJsonFrame, FrameType } from '../../wire/mux/frames.js';
import type { RequestEvent, StreamOpen } from '../../wire/mux/messages.js';
import { formatPortList, inPortList, type PortRange } from '../../core/port-range.js';
import type { MuxSession, MuxStream } from '../../wire/mux/mux.js';
import type { ServerMetrics } from '../metrics.js';
import { StreamStats } from '../stream-stats.js';
import type { VisitorAccess } from '../admission.js';
import type { CompletedRequest, StreamInfo, RegisteredTunnel, TunnelKind, TunnelStats } from '../registry.js';

export interface BurrowTunnelOptions {
  id?: string;
  name: string;
  url: string;
  kind: TunnelKind;
  session: MuxSession;
  maxStreams: number;
  requestEvents: boolean;
  metrics: ServerMetrics;
  /** Extra fields for the status API (tcp address, target label …). */
  info?: Record<string, unknown>;
  tokenId?: string | null;
  /** The agent's address (admin views only). */
  agentAddress?: string;
  access?: VisitorAccess;
  hostHeader?: string | undefined;
  /** More local ports visitors may reach (`<name>-http-<port>`); empty: only the tunnel's own. */
  allowPorts?: readonly PortRange[];
}

/** A tunnel held by a burrow agent: every stream is a MuxStream on the agent's session. */
export class BurrowTunnel implements RegisteredTunnel {
  readonly id: string;
  readonly name: string;
  readonly protocol = 'burrow';
  /** Streams are mux streams: one may carry a visitor connection for its whole life. */
  readonly streamPerConnection = true;
  readonly kind: TunnelKind;
  readonly url: string;
  readonly createdAt = Date.now();
  readonly info: Record<string, unknown>;
  readonly tokenId: string | null;
  readonly agentAddress: string | undefined;
  readonly access: VisitorAccess | undefined;
  readonly hostHeader: string | undefined;
  readonly #session: MuxSession;
  readonly #maxStreams: number;
  readonly #requestEvents: boolean;
  readonly #stats: StreamStats<MuxStream>;
  readonly #allowPorts: readonly PortRange[];
  #closed = false;
  /** REGISTERED went out to the agent: before it, an OPEN would name a tunnel the agent does not know. */
  #announced = false;
  #announceWaiters: (() => void)[] = [];

  constructor(o: BurrowTunnelOptions) {
    this.id = o.id ?? randomUUID();
    this.name = o.name;
    this.url = o.url;
    this.kind = o.kind;
    this.#session = o.session;
    this.#maxStreams = o.maxStreams;
    this.#requestEvents = o.requestEvents;
    this.#stats = new StreamStats(o.metrics, 'burrow');
    this.info = o.info ?? {};
    this.tokenId = o.tokenId ?? null;
    this.agentAddress = o.agentAddress;
    this.access = o.access;
    this.hostHeader = o.hostHeader;
    this.#allowPorts = o.allowPorts ?? [];
    if (this.#allowPorts.length) this.info['allowPorts'] = formatPortList(this.#allowPorts);
  }

  allowsPort(port: number): boolean {
    return inPortList(port, this.#allowPorts);
  }

  /**
   * The agent has been told about this tunnel (its REGISTERED is queued on the session): streams may
   * open. Until then openStream() waits — a tcp tunnel is in the registry (and its lease in a
   * cluster's view) while its public port is set up, before REGISTERED can carry that port, and an
   * OPEN the agent received first would be reset TUNNEL_NOT_FOUND (a visitor's 502 AGENT_FAULT).
   */
  announce(): void {
    if (this.#announced) return;
    this.#announced = true;
    for (const w of this.#announceWaiters.splice(0)) w();
  }

  async openStream(info: StreamInfo): Promise<Duplex> {
    if (!this.#announced && !this.#closed) await new Promise<void>((r) => this.#announceWaiters.push(r));
    if (this.#closed || this.#session.closed)
      throw new BurrowError('BURROW_ERR_AGENT_GONE', `tunnel "${this.name}" is not connected`);
    if (this.#stats.open.size >= this.#maxStreams) {
      throw new BurrowError('BURROW_ERR_STREAM_LIMIT', `${this.#maxStreams} connections open on "${this.name}"`);
    }
    const open: StreamOpen = { tunnelId: this.id, kind: info.kind, remoteAddress: info.remoteAddress };
    if (info.target) {
      if (!this.allowsPort(info.target.port)) {
        throw new BurrowError('BURROW_ERR_PORT_NOT_ALLOWED', `port ${info.target.port} of "${this.name}"`);
      }
      open.port = info.target.port;
      if (info.target.tls) open.tls = true;
    }
    const stream = this.#session.openStream(open);
    this.#stats.track(stream);
    return stream;
  }

  onRequestComplete(r: CompletedRequest): void {
    this.#stats.requestDone();
    if (!this.#requestEvents || this.#session.closed) return;
    const ev: RequestEvent = { type: 'request', tunnelId: this.id, ...r };
    // for the agent's display only: it rides with the next batch instead of a write of its own per request
    this.#session.sendDeferred(encodeJsonFrame(FrameType.EVENT, 0, ev));
  }

  stats(): TunnelStats {
    return this.#stats.snapshot(this.#session.closed ? 0 : 1);
  }

  close(reason?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#announceWaiters.splice(0)) w();
    const err = new BurrowError('BURROW_ERR_AGENT_GONE', reason ?? `tunnel "${this.name}" closed`);
    for (const s of this.#stats.open) s.destroy(err);
  }
}
