/**
 * The tiflis JSON wire format (docs/tiflis.md): pure parsing and message builders, no sockets.
 * Field names and error codes are tiflis's own and must not change.
 */
import {
  TIFLIS_AUTH_KEY_MIN_LENGTH,
  TIFLIS_API_KEY_MIN_LENGTH,
  TIFLIS_DEVICE_ID_MAX_LENGTH,
  TIFLIS_KEY_MAX_LENGTH,
  TIFLIS_NAME_MAX_LENGTH,
  TIFLIS_TUNNEL_ID_MAX_LENGTH,
} from './limits.js';

/** tiflis's error codes, sent as `{"type":"error","payload":{"code","message"}}`. */
export const TIFLIS_ERROR_CODES = [
  'INVALID_API_KEY',
  'INVALID_AUTH_KEY',
  'TUNNEL_NOT_FOUND',
  'WORKSTATION_OFFLINE',
  'REGISTRATION_FAILED',
  'INVALID_PAYLOAD',
  'INTERNAL_ERROR',
] as const;
export type TiflisErrorCode = (typeof TIFLIS_ERROR_CODES)[number];

export interface RegisterPayload {
  api_key: string;
  name: string;
  auth_key: string;
  reconnect?: boolean;
  previous_tunnel_id?: string;
}

export interface ConnectPayload {
  tunnel_id: string;
  auth_key: string;
  device_id: string;
  reconnect?: boolean;
}

/** One incoming text frame, classified. `raw` is the object as parsed (for relaying). */
export type Incoming =
  | { kind: 'register'; payload: RegisterPayload }
  | { kind: 'connect'; payload: ConnectPayload }
  | { kind: 'ping'; timestamp: number }
  | { kind: 'pong' }
  | { kind: 'forward'; deviceId: string; data: string }
  | { kind: 'relay'; type: string; raw: Record<string, unknown> }
  | { kind: 'invalid'; message: string; details?: string[] };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type Check = (problems: string[], obj: Record<string, unknown>) => void;

function str(field: string, min: number, max: number): Check {
  return (problems, obj) => {
    const v = obj[field];
    if (typeof v !== 'string') problems.push(`${field} must be a string`);
    else if (v.length < min)
      problems.push(min <= 1 ? `${field} is required` : `${field} must be at least ${min} characters`);
    else if (v.length > max) problems.push(`${field} must be at most ${max} characters`);
  };
}

function optBool(field: string): Check {
  return (problems, obj) => {
    if (obj[field] !== undefined && typeof obj[field] !== 'boolean') problems.push(`${field} must be a boolean`);
  };
}

function optStr(field: string, max: number): Check {
  return (problems, obj) => {
    const v = obj[field];
    if (v === undefined || v === null) return;
    if (typeof v !== 'string') problems.push(`${field} must be a string`);
    else if (v.length > max) problems.push(`${field} must be at most ${max} characters`);
  };
}

const REGISTER_CHECKS: Check[] = [
  str('api_key', TIFLIS_API_KEY_MIN_LENGTH, TIFLIS_KEY_MAX_LENGTH),
  str('name', 1, TIFLIS_NAME_MAX_LENGTH),
  str('auth_key', TIFLIS_AUTH_KEY_MIN_LENGTH, TIFLIS_KEY_MAX_LENGTH),
  optBool('reconnect'),
  optStr('previous_tunnel_id', TIFLIS_TUNNEL_ID_MAX_LENGTH),
];

const CONNECT_CHECKS: Check[] = [
  str('tunnel_id', 1, TIFLIS_TUNNEL_ID_MAX_LENGTH),
  str('auth_key', TIFLIS_AUTH_KEY_MIN_LENGTH, TIFLIS_KEY_MAX_LENGTH),
  str('device_id', 1, TIFLIS_DEVICE_ID_MAX_LENGTH),
  optBool('reconnect'),
];

function validate(payload: unknown, checks: Check[]): string[] {
  if (!isObject(payload)) return ['payload must be an object'];
  const problems: string[] = [];
  for (const check of checks) check(problems, payload);
  return problems;
}

/** Classify one text message. Never throws. */
export function parseIncoming(text: string): Incoming {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { kind: 'invalid', message: 'Invalid JSON' };
  }
  if (!isObject(msg) || typeof msg.type !== 'string' || msg.type === '') {
    return { kind: 'invalid', message: 'Missing message type' };
  }
  switch (msg.type) {
    case 'workstation.register': {
      const problems = validate(msg.payload, REGISTER_CHECKS);
      if (problems.length > 0) return { kind: 'invalid', message: 'Invalid registration payload', details: problems };
      const p = msg.payload as Record<string, unknown>;
      const payload: RegisterPayload = {
        api_key: p.api_key as string,
        name: p.name as string,
        auth_key: p.auth_key as string,
      };
      if (typeof p.reconnect === 'boolean') payload.reconnect = p.reconnect;
      if (typeof p.previous_tunnel_id === 'string' && p.previous_tunnel_id.trim() !== '') {
        payload.previous_tunnel_id = p.previous_tunnel_id.trim();
      }
      return { kind: 'register', payload };
    }
    case 'connect': {
      const problems = validate(msg.payload, CONNECT_CHECKS);
      if (problems.length > 0) return { kind: 'invalid', message: 'Invalid connection payload', details: problems };
      const p = msg.payload as Record<string, unknown>;
      const payload: ConnectPayload = {
        tunnel_id: (p.tunnel_id as string).trim(),
        auth_key: p.auth_key as string,
        device_id: p.device_id as string,
      };
      if (typeof p.reconnect === 'boolean') payload.reconnect = p.reconnect;
      return { kind: 'connect', payload };
    }
    case 'ping':
      if (typeof msg.timestamp !== 'number' || !Number.isFinite(msg.timestamp)) {
        return { kind: 'invalid', message: 'Invalid ping: timestamp must be a number' };
      }
      return { kind: 'ping', timestamp: msg.timestamp };
    case 'pong':
      return { kind: 'pong' };
    case 'forward.to_device': {
      const deviceId = msg.device_id;
      if (typeof deviceId !== 'string' || deviceId === '' || deviceId.length > TIFLIS_DEVICE_ID_MAX_LENGTH) {
        return { kind: 'invalid', message: 'Invalid forward.to_device payload', details: ['device_id is required'] };
      }
      // tiflis workstations send the device's message pre-serialized (a string); accept an object too.
      const p = msg.payload;
      if (typeof p === 'string') return { kind: 'forward', deviceId, data: p };
      if (isObject(p) || Array.isArray(p)) return { kind: 'forward', deviceId, data: JSON.stringify(p) };
      return {
        kind: 'invalid',
        message: 'Invalid forward.to_device payload',
        details: ['payload must be a string'],
      };
    }
    default:
      return { kind: 'relay', type: msg.type, raw: msg };
  }
}

/** `{"type":"error","payload":{"code","message"[,"details"]}}` */
export function errorMessage(code: TiflisErrorCode, message: string, details?: string[]): string {
  const payload: Record<string, unknown> = { code, message };
  if (details !== undefined) payload.details = details;
  return JSON.stringify({ type: 'error', payload });
}

export function registeredMessage(tunnelId: string, publicUrl: string, restored: boolean): string {
  const payload: Record<string, unknown> = { tunnel_id: tunnelId, public_url: publicUrl };
  if (restored) payload.restored = true;
  return JSON.stringify({ type: 'workstation.registered', payload });
}

export function connectedMessage(
  tunnelId: string,
  tunnelVersion: string,
  protocolVersion: string,
  restored: boolean,
): string {
  const payload: Record<string, unknown> = {
    tunnel_id: tunnelId,
    tunnel_version: tunnelVersion,
    protocol_version: protocolVersion,
  };
  if (restored) payload.restored = true;
  return JSON.stringify({ type: 'connected', payload });
}

export function pongMessage(timestamp: number): string {
  return JSON.stringify({ type: 'pong', timestamp });
}

export function workstationOfflineMessage(tunnelId: string): string {
  return JSON.stringify({ type: 'connection.workstation_offline', payload: { tunnel_id: tunnelId } });
}

export function workstationOnlineMessage(tunnelId: string): string {
  return JSON.stringify({ type: 'connection.workstation_online', payload: { tunnel_id: tunnelId } });
}

export function clientDisconnectedMessage(deviceId: string, tunnelId: string): string {
  return JSON.stringify({ type: 'client.disconnected', payload: { device_id: deviceId, tunnel_id: tunnelId } });
}

/** A device's message for its workstation: the same object with `device_id` set to the sender. */
export function withDeviceId(raw: Record<string, unknown>, deviceId: string): string {
  return JSON.stringify({ ...raw, device_id: deviceId });
}
