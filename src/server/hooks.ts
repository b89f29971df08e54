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

export interface ServerHooks {
  onTunnelCreated?: (tunnel: TunnelInfo) => void;
  onTunnelClosed?: (tunnel: TunnelInfo) => void;
  onRequest?: (request: RequestInfo) => void;
}
