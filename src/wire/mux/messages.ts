/**
 * Typed control messages carried as JSON in control frames, with validation. Pure.
 * Every string field is length-bounded; unknown fields are ignored (forward compatibility).
 */
import { BurrowError, type ErrorCode } from '../../core/errors.js';

export interface Hello {
  v: number;
  /** Client software, e.g. "burrow/0.1.0". */
  client: string;
  /** Access token, when the server requires one. */
  token?: string;
  /** Resume token from a previous WELCOME: gives back names held during the grace period. */
  resumeToken?: string;
  /** Receive window this side grants per stream. */
  window?: number;
}

export interface Welcome {
  v: number;
  server: string;
  sessionId: string;
  /** Secret to present in HELLO after a reconnect. */
  resumeToken: string;
  /** How long names are held after a disconnect, in ms. */
  resumeGraceMs: number;
  window: number;
  pingIntervalMs: number;
  maxFramePayload: number;
}

export type TunnelKindWire = 'http' | 'tcp';

export interface RegisterRequest {
  /** Correlates the REGISTERED answer. */
  req: number;
  kind: TunnelKindWire;
  /** Requested name (subdomain); omitted → random. */
  name?: string;
  /** For tcp tunnels: ask for this public port (0/absent: any from the range, or none). */
  remotePort?: number;
  /** For tcp tunnels: public TCP port wanted at all. */
  publicPort?: boolean;
  /** Ask the server for EVENT frames describing each proxied request. */
  requestEvents?: boolean;
  /** Free-form label shown in the status API, e.g. "localhost:3000". */
  target?: string;
  /** Visitor access rules (enforced at the server). */
  access?: Record<string, unknown>;
  /** Rewrite the Host header of proxied requests to this value (pipenet's --local-host). */
  hostHeader?: string;
  /**
   * For http tunnels: more local ports visitors may reach at `<name>-http-<port>.<domain>` and
   * `<name>-https-<port>.<domain>`, as a port list ("5173,8000-8010").
   */
  allowPorts?: string;
}

export interface TunnelRegistration {
  id: string;
  name: string;
  url: string;
  kind: TunnelKindWire;
  /** For tcp tunnels: tcp://host:port when a public port was bound. */
  tcpAddress?: string;
  /** For tcp tunnels: WebSocket access URL (limrun protocol). */
  wsUrl?: string;
  /** For tcp tunnels: token for the WebSocket access. */
  accessToken?: string;
}

export type RegisterResult =
  { req: number; ok: true; tunnel: TunnelRegistration } | { req: number; ok: false; error: WireError };

export interface WireError {
  code: string;
  message: string;
  fix?: string;
}

export interface StreamOpen {
  tunnelId: string;
  kind: 'http' | 'upgrade' | 'tcp';
  remoteAddress?: string;
  /** Dial this local port instead of the tunnel's own target (a port-addressed hostname). */
  port?: number;
  /** With `port`: speak TLS to it (`<name>-https-<port>`). */
  tls?: boolean;
}

export interface RequestEvent {
  type: 'request';
  tunnelId: string;
  method: string;
  path: string;
  status: number;
  durationMs: number;
  bytesIn?: number;
  bytesOut?: number;
}

/**
 * Reserved by PROTOCOL.md (EVENT): a message for the agent's user. No server sends it yet; agents ignore it.
 * @public
 */
export interface NoticeEvent {
  type: 'notice';
  message: string;
}

const MAX_STRING = 4096;

function str(obj: Record<string, unknown>, key: string, required: true, max?: number): string;
function str(obj: Record<string, unknown>, key: string, required: false, max?: number): string | undefined;
function str(obj: Record<string, unknown>, key: string, required: boolean, max = MAX_STRING): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) throw new BurrowError('BURROW_ERR_PROTOCOL', `missing field "${key}"`);
    return undefined;
  }
  if (typeof v !== 'string') throw new BurrowError('BURROW_ERR_PROTOCOL', `field "${key}" must be a string`);
  if (v.length > max) throw new BurrowError('BURROW_ERR_PROTOCOL', `field "${key}" longer than ${max}`);
  return v;
}

function int(
  obj: Record<string, unknown>,
  key: string,
  required: boolean,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (required) throw new BurrowError('BURROW_ERR_PROTOCOL', `missing field "${key}"`);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new BurrowError('BURROW_ERR_PROTOCOL', `field "${key}" must be an integer in ${min}..${max}`);
  }
  return v;
}

function bool(obj: Record<string, unknown>, key: string): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new BurrowError('BURROW_ERR_PROTOCOL', `field "${key}" must be a boolean`);
  return v;
}

function assign<T extends object, K extends string, V>(target: T, key: K, value: V | undefined): void {
  if (value !== undefined) (target as Record<string, unknown>)[key] = value;
}

export function parseHello(o: Record<string, unknown>): Hello {
  const hello: Hello = { v: int(o, 'v', true, 0, 65535)!, client: str(o, 'client', false, 256) ?? 'unknown' };
  assign(hello, 'token', str(o, 'token', false, 1024));
  assign(hello, 'resumeToken', str(o, 'resumeToken', false, 256));
  assign(hello, 'window', int(o, 'window', false, 0, 2 ** 31));
  return hello;
}

export function parseWelcome(o: Record<string, unknown>): Welcome {
  return {
    v: int(o, 'v', true, 0, 65535)!,
    server: str(o, 'server', false, 256) ?? 'unknown',
    sessionId: str(o, 'sessionId', true, 256),
    resumeToken: str(o, 'resumeToken', true, 256),
    resumeGraceMs: int(o, 'resumeGraceMs', false, 0) ?? 0,
    window: int(o, 'window', true, 1, 2 ** 31)!,
    pingIntervalMs: int(o, 'pingIntervalMs', false, 0) ?? 0,
    maxFramePayload: int(o, 'maxFramePayload', false, 1) ?? 0,
  };
}

export function parseRegisterRequest(o: Record<string, unknown>): RegisterRequest {
  const kind = str(o, 'kind', false, 16) ?? 'http';
  if (kind !== 'http' && kind !== 'tcp') throw new BurrowError('BURROW_ERR_PROTOCOL', `unknown tunnel kind "${kind}"`);
  const r: RegisterRequest = { req: int(o, 'req', true, 0, 2 ** 31)!, kind };
  assign(r, 'name', str(o, 'name', false, 253));
  assign(r, 'remotePort', int(o, 'remotePort', false, 0, 65535));
  assign(r, 'publicPort', bool(o, 'publicPort'));
  assign(r, 'requestEvents', bool(o, 'requestEvents'));
  assign(r, 'target', str(o, 'target', false, 512));
  assign(r, 'hostHeader', str(o, 'hostHeader', false, 255));
  assign(r, 'allowPorts', str(o, 'allowPorts', false, 512));
  const access = o['access'];
  if (access !== undefined && access !== null) {
    if (typeof access !== 'object' || Array.isArray(access))
      throw new BurrowError('BURROW_ERR_PROTOCOL', 'field "access" must be an object');
    r.access = access as Record<string, unknown>;
  }
  return r;
}

export function parseRegisterResult(o: Record<string, unknown>): RegisterResult {
  const req = int(o, 'req', true, 0, 2 ** 31)!;
  if (o['ok'] === true) {
    const t = o['tunnel'];
    if (!t || typeof t !== 'object') throw new BurrowError('BURROW_ERR_PROTOCOL', 'missing field "tunnel"');
    const to = t as Record<string, unknown>;
    const kind = str(to, 'kind', false, 16) ?? 'http';
    const tunnel: TunnelRegistration = {
      id: str(to, 'id', true, 256),
      name: str(to, 'name', true, 253),
      url: str(to, 'url', true, 2048),
      kind: kind === 'tcp' ? 'tcp' : 'http',
    };
    assign(tunnel, 'tcpAddress', str(to, 'tcpAddress', false, 512));
    assign(tunnel, 'wsUrl', str(to, 'wsUrl', false, 2048));
    assign(tunnel, 'accessToken', str(to, 'accessToken', false, 1024));
    return { req, ok: true, tunnel };
  }
  return { req, ok: false, error: parseWireError(o['error']) };
}

export function parseWireError(e: unknown): WireError {
  if (!e || typeof e !== 'object') return { code: 'BURROW_ERR_PROTOCOL', message: 'unknown error' };
  const eo = e as Record<string, unknown>;
  const err: WireError = {
    code: str(eo, 'code', false, 128) ?? 'BURROW_ERR_PROTOCOL',
    message: str(eo, 'message', false, MAX_STRING) ?? 'unknown error',
  };
  assign(err, 'fix', str(eo, 'fix', false, MAX_STRING));
  return err;
}

export function parseStreamOpen(o: Record<string, unknown>): StreamOpen {
  const kind = str(o, 'kind', false, 16) ?? 'http';
  if (kind !== 'http' && kind !== 'upgrade' && kind !== 'tcp') {
    throw new BurrowError('BURROW_ERR_PROTOCOL', `unknown stream kind "${kind}"`);
  }
  const open: StreamOpen = { tunnelId: str(o, 'tunnelId', true, 256), kind };
  assign(open, 'remoteAddress', str(o, 'remoteAddress', false, 128));
  assign(open, 'port', int(o, 'port', false, 1, 65535));
  assign(open, 'tls', bool(o, 'tls'));
  return open;
}

export function toWireError(err: unknown): WireError {
  if (err instanceof BurrowError) return { code: err.code, message: err.message, fix: err.fix };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'BURROW_ERR_PROTOCOL', message };
}

/** Turn a wire error back into a BurrowError when the code is one of ours. */
export function fromWireError(e: WireError, known: Record<string, unknown>): BurrowError {
  const code = (e.code in known ? e.code : 'BURROW_ERR_PROTOCOL') as ErrorCode;
  const err = new BurrowError(code, undefined);
  Object.defineProperty(err, 'message', { value: e.message });
  return err;
}
