/** Hooks offered to embedders (the pipenet server's, plus burrow's). All are optional, sync. */
export interface TunnelInfo {
  id: string;
  name: string;
  url: string;
  protocol: string;
  kind: string;
}

export interface RequestInfo {
  domain: string;
  path: string;
  method: string;
  tunnelId: string;
  headers: Record<string, string | string[] | undefined>;
  remoteAddress: string;
}

/** A visitor request answered (or given up on) through a tunnel: what an access log line says. */
export interface ResponseInfo {
  tunnelId: string;
  /** The tunnel's name. */
  tunnel: string;
  method: string;
  /** The Host the visitor used. */
  host: string;
  path: string;
  /** The status the visitor got (101 for a switched protocol, 499 when the visitor left first). */
  status: number;
  /** Response bytes that went to the visitor (the relay counts head and body, Node's path the body). */
  bytes: number;
  durationMs: number;
  remoteAddress: string;
}

export interface ServerHooks {
  onTunnelCreated?: (tunnel: TunnelInfo) => void;
  onTunnelClosed?: (tunnel: TunnelInfo) => void;
  onRequest?: (request: RequestInfo) => void;
  /** After each visitor request through a byte-stream tunnel (`burrow server --access-log`). */
  onResponse?: (response: ResponseInfo) => void;
}
