/**
 * tiflis's Watch HTTP polling API (watchOS cannot keep a WebSocket):
 *   POST /api/v1/watch/connect     {tunnel_id, auth_key, device_id}
 *   POST /api/v1/watch/command     {device_id, message}
 *   GET  /api/v1/watch/messages?device_id=&since=&ack=
 *   GET  /api/v1/watch/state?device_id=
 *   POST /api/v1/watch/disconnect  {device_id}
 * Errors are `{"error": snake_case_code, "message"}` with tiflis's statuses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../core/logger.js';
import { sendJson as sendCoreJson } from '../../core/http-json.js';
import { BodyError, readJsonBody } from './http-json.js';
import {
  TIFLIS_AUTH_KEY_MIN_LENGTH,
  TIFLIS_DEVICE_ID_MAX_LENGTH,
  TIFLIS_KEY_MAX_LENGTH,
  TIFLIS_TUNNEL_ID_MAX_LENGTH,
} from './limits.js';
import type { Relay } from './relay.js';
import { WatchClient } from './watch-client.js';

export const WATCH_API_PREFIX = '/api/v1/watch/';

export interface WatchApiOptions {
  relay: Relay;
  logger: Logger;
  maxBodyBytes: number;
  maxClients: number;
  clientTimeoutMs: number;
  now: () => number;
  /** The client address of a request (failed auth keys count per address). */
  clientAddress: (req: IncomingMessage) => string;
}

type Json = Record<string, unknown>;

/** A Watch API answer: core/http-json.ts's reply without the trailing newline, as tiflis's own server (Express `res.json`) sends it. */
function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  sendCoreJson(res, status, body, { headers, newline: false });
}
/** Status, body and extra headers of an answer. */
type Answer = [number, Json] | [number, Json, Record<string, string>];

const ROUTES: Record<string, 'GET' | 'POST'> = {
  connect: 'POST',
  command: 'POST',
  messages: 'GET',
  state: 'GET',
  disconnect: 'POST',
};

function isNonEmptyString(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= max;
}

export class WatchApi {
  readonly #clients = new Map<string, WatchClient>();

  readonly #o: WatchApiOptions;

  constructor(o: WatchApiOptions) {
    this.#o = o;
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Handles a request whose path starts with WATCH_API_PREFIX. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const route = url.pathname.slice(WATCH_API_PREFIX.length);
    const method = ROUTES[route];
    if (method === undefined) {
      return sendJson(res, 404, { error: 'not_found', message: `Unknown Watch API endpoint: ${url.pathname}` });
    }
    if (req.method !== method) {
      return sendJson(res, 405, { error: 'method_not_allowed', message: `Use ${method}` }, { allow: method });
    }
    this.#dispatch(route, req, url)
      .then(([status, body, headers]) => sendJson(res, status, body, headers))
      .catch((err: unknown) => {
        if (err instanceof BodyError) return sendJson(res, err.status, { error: err.code, message: err.message });
        this.#o.logger.error({ err }, 'tiflis: Watch API failed');
        sendJson(res, 500, { error: 'internal_error', message: 'An unexpected error occurred' });
      });
  }

  /** Forgets watches that stopped polling (called on every heartbeat tick). */
  sweep(): void {
    const cutoff = this.#o.now() - this.#o.clientTimeoutMs;
    for (const client of [...this.#clients.values()]) {
      if (client.lastPollAt <= cutoff) this.#drop(client);
    }
  }

  closeAll(): void {
    for (const client of [...this.#clients.values()]) this.#drop(client);
  }

  async #dispatch(route: string, req: IncomingMessage, url: URL): Promise<Answer> {
    if (ROUTES[route] === 'GET') {
      const deviceId = url.searchParams.get('device_id');
      if (!isNonEmptyString(deviceId, TIFLIS_DEVICE_ID_MAX_LENGTH)) return missing('device_id is required');
      return route === 'messages' ? this.#messages(deviceId, url) : this.#state(deviceId);
    }
    const body = await readJsonBody(req, this.#o.maxBodyBytes);
    const b: Json = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Json) : {};
    if (route === 'connect') return this.#connect(b, this.#o.clientAddress(req));
    if (route === 'command') return this.#command(b);
    return this.#disconnect(b);
  }

  async #connect(b: Json, address: string): Promise<Answer> {
    const { tunnel_id, auth_key, device_id } = b;
    if (
      !isNonEmptyString(tunnel_id, TIFLIS_TUNNEL_ID_MAX_LENGTH) ||
      !isNonEmptyString(auth_key, TIFLIS_KEY_MAX_LENGTH) ||
      !isNonEmptyString(device_id, TIFLIS_DEVICE_ID_MAX_LENGTH)
    ) {
      return missing('tunnel_id, auth_key, and device_id are required');
    }
    if (auth_key.length < TIFLIS_AUTH_KEY_MIN_LENGTH) return invalidAuthKey();
    const existing = this.#clients.get(device_id);
    if (existing && existing.tunnelId === tunnel_id) {
      // Same watch again: keep its queue, but check the key like a new connection.
      const r = await this.#o.relay.connect(existing, { tunnel_id, auth_key, device_id }, () => true, address, true);
      if (!r.ok) return r.code === 'GONE' ? internal() : failure(r.code, r.retryAfter);
      existing.recordPoll();
      return [200, this.#connectedBody(tunnel_id)];
    }
    if (!existing && this.#clients.size >= this.#o.maxClients) {
      return [503, { error: 'too_many_clients', message: 'The server has too many Watch clients' }];
    }
    const client = new WatchClient(device_id, tunnel_id, this.#o.now, (c) => this.#forget(c));
    const r = await this.#o.relay.connect(client, { tunnel_id, auth_key, device_id }, () => true, address, true);
    if (!r.ok) return r.code === 'GONE' ? internal() : failure(r.code, r.retryAfter);
    if (existing) this.#drop(existing); // moved to another tunnel
    this.#clients.set(device_id, client);
    this.#o.logger.info({ tunnelId: tunnel_id }, 'tiflis: watch connected');
    return [200, this.#connectedBody(tunnel_id)];
  }

  #command(b: Json): Answer {
    const { device_id, message } = b;
    if (
      !isNonEmptyString(device_id, TIFLIS_DEVICE_ID_MAX_LENGTH) ||
      typeof message !== 'object' ||
      message === null ||
      Array.isArray(message)
    ) {
      return missing('device_id and message are required');
    }
    const client = this.#clients.get(device_id);
    if (!client) return [503, { error: 'send_failed', message: 'Failed to send command to workstation' }];
    client.recordPoll();
    const err = this.#o.relay.fromDevice(client.tunnelId, device_id, client, message as Json);
    if (err) return failure(err.code);
    return [200, { success: true }];
  }

  #messages(deviceId: string, url: URL): [number, Json] {
    const client = this.#clients.get(deviceId);
    if (!client) return [200, { messages: [], current_sequence: 0, workstation_online: false }];
    client.recordPoll();
    const ack = Number.parseInt(url.searchParams.get('ack') ?? '', 10);
    if (Number.isFinite(ack) && ack > 0) client.acknowledge(ack);
    const since = Number.parseInt(url.searchParams.get('since') ?? '0', 10);
    const messages = client.since(Number.isFinite(since) ? since : 0).map((m) => ({
      sequence: m.sequence,
      timestamp: new Date(m.timestamp).toISOString(),
      data: parseOrString(m.data),
    }));
    return [
      200,
      {
        messages,
        current_sequence: client.currentSequence,
        workstation_online: this.#o.relay.isWorkstationOnline(client.tunnelId),
      },
    ];
  }

  #state(deviceId: string): [number, Json] {
    const client = this.#clients.get(deviceId);
    if (!client) return [200, { connected: false, workstation_online: false, queue_size: 0, current_sequence: 0 }];
    client.recordPoll();
    const body: Json = {
      connected: true,
      workstation_online: this.#o.relay.isWorkstationOnline(client.tunnelId),
      queue_size: client.queueSize,
      current_sequence: client.currentSequence,
    };
    const name = this.#o.relay.tunnelName(client.tunnelId);
    if (name !== undefined) body.workstation_name = name;
    return [200, body];
  }

  #disconnect(b: Json): [number, Json] {
    const { device_id } = b;
    if (!isNonEmptyString(device_id, TIFLIS_DEVICE_ID_MAX_LENGTH)) return missing('device_id is required');
    const client = this.#clients.get(device_id);
    if (!client) return [200, { success: false }];
    this.#drop(client);
    return [200, { success: true }];
  }

  #connectedBody(tunnelId: string): Json {
    const body: Json = {
      success: true,
      tunnel_id: tunnelId,
      workstation_online: this.#o.relay.isWorkstationOnline(tunnelId),
    };
    const name = this.#o.relay.tunnelName(tunnelId);
    if (name !== undefined) body.workstation_name = name;
    return body;
  }

  /** The watch leaves: the relay forgets it (its workstation hears client.disconnected). */
  #drop(client: WatchClient): void {
    this.#forget(client);
    client.closed = true;
    this.#o.relay.deviceGone(client.tunnelId, client.deviceId, client);
  }

  /** Called when the relay replaced this client (same device_id connected again). */
  #forget(client: WatchClient): void {
    if (this.#clients.get(client.deviceId) === client) this.#clients.delete(client.deviceId);
  }
}

function parseOrString(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

function missing(message: string): [number, Json] {
  return [400, { error: 'missing_parameters', message }];
}

function invalidAuthKey(): [number, Json] {
  return [401, { error: 'invalid_auth_key', message: 'Invalid authentication key' }];
}

function internal(): [number, Json] {
  return [500, { error: 'internal_error', message: 'An unexpected error occurred' }];
}

function failure(code: string, retryAfter?: number): Answer {
  if (retryAfter !== undefined) {
    const message = `Too many failed authentication attempts from this address; try again in ${retryAfter} s`;
    return [429, { error: 'rate_limited', message }, { 'retry-after': String(retryAfter) }];
  }
  switch (code) {
    case 'TUNNEL_NOT_FOUND':
      return [404, { error: 'tunnel_not_found', message: 'Tunnel not found' }];
    case 'INVALID_AUTH_KEY':
      return invalidAuthKey();
    case 'WORKSTATION_OFFLINE':
      return [503, { error: 'workstation_offline', message: 'Workstation is offline' }];
    case 'INVALID_PAYLOAD':
      return [503, { error: 'too_many_clients', message: 'Too many devices on this tunnel' }];
    default:
      return internal();
  }
}
