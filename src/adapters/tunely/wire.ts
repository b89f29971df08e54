/**
 * tunely's JSON messages (protocol 1.1, as sent by the tunely@0.2.1 client), pure: parse what an
 * agent sends, build what the server sends. No sockets here.
 */

export const TUNELY_AUTH_ERROR_CODES = ['auth_failed', 'connection_exists'] as const;
export type TunelyAuthErrorCode = (typeof TUNELY_AUTH_ERROR_CODES)[number];

/** Newer tunely clients look for this phrase in the connection_exists message: keep it. */
export const CONNECTION_EXISTS_PHRASE = '已有活跃连接';
/** Close reason sent to the agent replaced by a `force: true` connection. */
export const FORCE_CLOSE_REASON = 'New connection (force)';

export type TunelyHeaders = Record<string, string>;

export interface AuthMessage {
  type: 'auth';
  token: string;
  clientVersion: string;
  force: boolean;
}
export interface ResponseMessage {
  type: 'response';
  id: string;
  status: number;
  headers: TunelyHeaders;
  body: string | null;
  error: string | undefined;
}
export interface StreamStartMessage {
  type: 'stream_start';
  id: string;
  status: number;
  headers: TunelyHeaders;
}
export interface StreamChunkMessage {
  type: 'stream_chunk';
  id: string;
  data: string;
  sequence: number | undefined;
}
export interface StreamEndMessage {
  type: 'stream_end';
  id: string;
  error: string | undefined;
  totalChunks: number | undefined;
}
export interface PingMessage {
  type: 'ping';
}
export interface PongMessage {
  type: 'pong';
}
export interface InvalidMessage {
  type: 'invalid';
  reason: string;
  /** The request id, when the malformed message named one (its visitor then gets a 502). */
  id?: string;
}

export type AgentMessage =
  | AuthMessage
  | ResponseMessage
  | StreamStartMessage
  | StreamChunkMessage
  | StreamEndMessage
  | PingMessage
  | PongMessage
  | InvalidMessage;

export interface TunnelRequestMessage {
  type: 'request';
  id: string;
  method: string;
  /** Path with query string, e.g. /api/x?y=1. */
  path: string;
  headers: TunelyHeaders;
  /** UTF-8 text, or null (always null for GET/HEAD and empty bodies). */
  body: string | null;
  /** Seconds the agent may take (it aborts its own fetch after this). */
  timeout: number;
}

const invalid = (reason: string): InvalidMessage => ({ type: 'invalid', reason });

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Header maps from the agent: string values kept, numbers stringified, anything else dropped. */
export function parseHeaders(v: unknown): TunelyHeaders {
  const out: TunelyHeaders = {};
  if (!isRecord(v)) return out;
  for (const [k, val] of Object.entries(v)) {
    if (typeof val === 'string') out[k] = val;
    else if (typeof val === 'number' && Number.isFinite(val)) out[k] = String(val);
  }
  return out;
}

function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function optionalInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

function validStatus(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 200 && v <= 599;
}

/** Parse one text message from an agent. Unknown or malformed messages come back as `invalid`. */
export function parseAgentMessage(text: string): AgentMessage {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return invalid('not JSON');
  }
  if (!isRecord(obj)) return invalid('not a JSON object');
  const type = obj['type'];
  switch (type) {
    case 'auth': {
      const token = obj['token'];
      if (typeof token !== 'string') return invalid('auth without a token');
      return {
        type: 'auth',
        token,
        clientVersion: typeof obj['client_version'] === 'string' ? obj['client_version'] : '',
        force: obj['force'] === true,
      };
    }
    case 'ping':
      return { type: 'ping' };
    case 'pong':
      return { type: 'pong' };
    case 'response':
    case 'stream_start':
    case 'stream_chunk':
    case 'stream_end':
      break;
    default:
      return invalid(`unknown message type ${JSON.stringify(type)?.slice(0, 40) ?? 'undefined'}`);
  }
  const id = obj['id'];
  if (typeof id !== 'string' || id === '') return invalid(`${type} without an id`);
  const bad = (reason: string): InvalidMessage => ({ type: 'invalid', reason, id });
  if (type === 'response') {
    const status = obj['status'];
    if (!validStatus(status)) return bad(`response with status ${String(status).slice(0, 20)}`);
    const body = obj['body'];
    if (body !== null && body !== undefined && typeof body !== 'string') return bad('response body that is not text');
    return {
      type,
      id,
      status,
      headers: parseHeaders(obj['headers']),
      body: typeof body === 'string' ? body : null,
      error: optionalString(obj['error']),
    };
  }
  if (type === 'stream_start') {
    const status = obj['status'];
    if (!validStatus(status)) return bad(`stream_start with status ${String(status).slice(0, 20)}`);
    return { type, id, status, headers: parseHeaders(obj['headers']) };
  }
  if (type === 'stream_chunk') {
    const data = obj['data'];
    if (typeof data !== 'string') return bad('stream_chunk without text data');
    return { type, id, data, sequence: optionalInt(obj['sequence']) };
  }
  return { type: 'stream_end', id, error: optionalString(obj['error']), totalChunks: optionalInt(obj['total_chunks']) };
}

export function authOkMessage(o: { domain: string; tunnelId: string; serverVersion: string; url?: string }): string {
  return JSON.stringify({
    type: 'auth_ok',
    domain: o.domain,
    tunnel_id: o.tunnelId,
    server_version: o.serverVersion,
    ...(o.url !== undefined ? { url: o.url } : {}),
    timestamp: new Date().toISOString(),
  });
}

export function authErrorMessage(code: TunelyAuthErrorCode, error: string): string {
  return JSON.stringify({ type: 'auth_error', error, code, timestamp: new Date().toISOString() });
}

export function pingMessage(): string {
  return JSON.stringify({ type: 'ping', timestamp: new Date().toISOString() });
}

export function pongMessage(): string {
  return JSON.stringify({ type: 'pong', timestamp: new Date().toISOString() });
}

export function requestMessage(r: Omit<TunnelRequestMessage, 'type'>): string {
  const msg: TunnelRequestMessage = { type: 'request', ...r };
  return JSON.stringify(msg);
}
