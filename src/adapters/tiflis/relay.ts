/**
 * The tiflis relay: tunnels, their workstation and their devices, and who receives what.
 * Transport-free: WebSocket connections and Watch polling clients are both `Peer`s, so the routing
 * rules live here once. Every removal compares peer identity, so a replaced socket's late close
 * never removes its successor.
 */
import { RateLimitedError } from '../../core/errors.js';
import type { FailedAuthGate } from '../../core/failed-auth-gate.js';
import type { Logger } from '../../core/logger.js';
import type { NewTunnelTicket } from '../../core/new-tunnel-limiter.js';
import { generateTunnelId, hashKey, isWellFormedTunnelId, keyMatches } from './keys.js';
import { TIFLIS_MAX_DEVICES_PER_TUNNEL } from './limits.js';
import {
  clientDisconnectedMessage,
  withDeviceId,
  workstationOfflineMessage,
  workstationOnlineMessage,
  type ConnectPayload,
  type RegisterPayload,
  type TiflisErrorCode,
} from './wire.js';
import type { WorkstationStore } from './workstation-store.js';

/** One end of the relay: a WebSocket, or a Watch client's message queue. */
export interface Peer {
  readonly transport: 'ws' | 'watch';
  /** Deliver one text message (never throws). */
  send(text: string): void;
  /** End this peer (the relay has already forgotten it when it calls this for a replacement). */
  close(code: number, reason: string): void;
}

export interface WorkstationTunnel {
  readonly id: string;
  name: string;
  authKeyHash: string;
  workstation: Peer | undefined;
  readonly devices: Map<string, Peer>;
}

export type RelayFailure =
  | { ok: false; code: TiflisErrorCode; message: string; /** seconds, when rate limited */ retryAfter?: number }
  | { ok: false; code: 'GONE' };
export type TiflisRegisterResult = { ok: true; tunnelId: string; restored: boolean } | RelayFailure;
export type ConnectResult = { ok: true; tunnel: WorkstationTunnel; restored: boolean } | RelayFailure;

export interface TiflisRelayOptions {
  store: WorkstationStore;
  /** SHA-256 (hex) of the registration key. */
  apiKeyHash: string;
  logger: Logger;
  now?: () => number;
  maxDevicesPerTunnel?: number;
  /**
   * The failed-auth limiter (surface `tiflis`): wrong registration keys and device auth keys count
   * per client address; once locked out, the address is refused even with the right key.
   */
  failedAuth?: FailedAuthGate;
  /** Count a new tunnel against the server's per-client limit (throws RateLimitedError when over). */
  takeNewTunnel?: (address: string) => NewTunnelTicket;
}

/** Close code and reason for a peer replaced by a newer connection with the same identity. */
export const REPLACED_CLOSE = { code: 1000, reason: 'Replaced by a new connection' } as const;

export class Relay {
  readonly #tunnels = new Map<string, WorkstationTunnel>();
  readonly #store: WorkstationStore;
  readonly #apiKeyHash: string;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #maxDevices: number;
  readonly #failedAuth: FailedAuthGate | undefined;
  readonly #takeNewTunnel: ((address: string) => NewTunnelTicket) | undefined;

  constructor(options: TiflisRelayOptions) {
    this.#store = options.store;
    this.#apiKeyHash = options.apiKeyHash;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#maxDevices = options.maxDevicesPerTunnel ?? TIFLIS_MAX_DEVICES_PER_TUNNEL;
    this.#failedAuth = options.failedAuth;
    this.#takeNewTunnel = options.takeNewTunnel;
  }

  /**
   * `workstation.register` from `address`. `isOpen` is asked after the store answers (the socket
   * may be gone). A tunnel that is not live counts as a new tunnel for the address.
   */
  async register(peer: Peer, p: RegisterPayload, isOpen: () => boolean, address: string): Promise<TiflisRegisterResult> {
    const locked = this.#lockedOut(address, 'INVALID_API_KEY');
    if (locked) return locked;
    if (!keyMatches(p.api_key, this.#apiKeyHash)) {
      this.#failedAuth?.fail(address);
      this.#logger.warn({ address }, 'tiflis: workstation registration with an invalid API key');
      return { ok: false, code: 'INVALID_API_KEY', message: 'Invalid API key for workstation registration' };
    }
    const live = p.previous_tunnel_id !== undefined && this.#tunnels.has(p.previous_tunnel_id);
    let ticket: NewTunnelTicket | undefined;
    try {
      ticket = live ? undefined : this.#takeNewTunnel?.(address);
    } catch (err) {
      if (!(err instanceof RateLimitedError)) throw err;
      return { ok: false, code: 'REGISTRATION_FAILED', message: err.message, retryAfter: err.retryAfter };
    }
    const r = await this.#registerKnown(peer, p, isOpen);
    if (!r.ok) ticket?.cancel();
    return r;
  }

  /** Refusal for an address locked out by the failed-auth limiter, in tiflis's error shape. */
  #lockedOut(address: string, code: 'INVALID_API_KEY' | 'INVALID_AUTH_KEY'): RelayFailure | undefined {
    const wait = this.#failedAuth?.retryAfter(address) ?? 0;
    if (wait === 0) return undefined;
    return {
      ok: false,
      code,
      message: `Too many failed authentication attempts from this address; try again in ${wait} s`,
      retryAfter: wait,
    };
  }

  async #registerKnown(peer: Peer, p: RegisterPayload, isOpen: () => boolean): Promise<TiflisRegisterResult> {
    let tunnelId: string;
    let restored = false;
    let createdAt = this.#now();
    try {
      const prev = p.previous_tunnel_id;
      const known = prev !== undefined ? await this.#store.get(prev) : undefined;
      if (prev !== undefined && (known !== undefined || this.#tunnels.has(prev) || isWellFormedTunnelId(prev))) {
        // Known (stored), live, or a well-formed id issued before the store existed: give it back.
        tunnelId = prev;
        restored = true;
        if (known) createdAt = known.created_at;
      } else {
        tunnelId = await this.#newTunnelId();
      }
      await this.#store.put({
        tunnel_id: tunnelId,
        name: p.name,
        auth_key_hash: hashKey(p.auth_key),
        created_at: createdAt,
        last_seen_at: this.#now(),
      });
    } catch (err) {
      this.#logger.error({ err }, 'tiflis: workstation store failed during registration');
      return { ok: false, code: 'REGISTRATION_FAILED', message: 'Workstation registration failed: the store failed' };
    }
    if (!isOpen()) return { ok: false, code: 'GONE' };

    let tunnel = this.#tunnels.get(tunnelId);
    if (!tunnel) {
      tunnel = { id: tunnelId, name: p.name, authKeyHash: '', workstation: undefined, devices: new Map() };
      this.#tunnels.set(tunnelId, tunnel);
    }
    tunnel.name = p.name;
    tunnel.authKeyHash = hashKey(p.auth_key);
    const previous = tunnel.workstation;
    tunnel.workstation = peer;
    if (previous !== undefined && previous !== peer) {
      previous.close(REPLACED_CLOSE.code, REPLACED_CLOSE.reason);
    } else if (previous === undefined && tunnel.devices.size > 0) {
      this.#broadcast(tunnel, workstationOnlineMessage(tunnelId));
    }
    this.#logger.info({ tunnelId, restored, replaced: previous !== undefined }, 'tiflis: workstation registered');
    return { ok: true, tunnelId, restored };
  }

  /**
   * `connect` from a device. WebSocket devices need the workstation online (tiflis answers
   * WORKSTATION_OFFLINE); Watch clients may attach to an offline tunnel (`allowOffline`) and learn
   * its state from `workstation_online`.
   */
  async connect(
    peer: Peer,
    p: ConnectPayload,
    isOpen: () => boolean,
    address: string,
    allowOffline = false,
  ): Promise<ConnectResult> {
    const locked = this.#lockedOut(address, 'INVALID_AUTH_KEY');
    if (locked) return locked;
    let tunnel = this.#tunnels.get(p.tunnel_id);
    if (!tunnel) {
      let known;
      try {
        known = await this.#store.get(p.tunnel_id);
      } catch (err) {
        this.#logger.error({ err }, 'tiflis: workstation store failed during connect');
        return { ok: false, code: 'INTERNAL_ERROR', message: 'An internal error occurred' };
      }
      if (!isOpen()) return { ok: false, code: 'GONE' };
      if (!known) return { ok: false, code: 'TUNNEL_NOT_FOUND', message: `Tunnel not found: ${p.tunnel_id}` };
      tunnel = this.#tunnels.get(p.tunnel_id); // it may have registered while we waited
      if (!tunnel && allowOffline) {
        tunnel = {
          id: known.tunnel_id,
          name: known.name,
          authKeyHash: known.auth_key_hash,
          workstation: undefined,
          devices: new Map(),
        };
        this.#tunnels.set(tunnel.id, tunnel);
      }
      if (!tunnel) return { ok: false, code: 'WORKSTATION_OFFLINE', message: `Workstation is offline: ${p.tunnel_id}` };
    }
    if (!tunnel.workstation && !allowOffline) {
      return { ok: false, code: 'WORKSTATION_OFFLINE', message: `Workstation is offline: ${p.tunnel_id}` };
    }
    if (!keyMatches(p.auth_key, tunnel.authKeyHash)) {
      this.#failedAuth?.fail(address);
      this.#logger.warn({ tunnelId: tunnel.id, address }, 'tiflis: device connect with an invalid auth key');
      this.#dropIfEmpty(tunnel);
      return { ok: false, code: 'INVALID_AUTH_KEY', message: 'Invalid authentication key' };
    }
    const previous = tunnel.devices.get(p.device_id);
    if (previous === undefined && tunnel.devices.size >= this.#maxDevices) {
      this.#dropIfEmpty(tunnel);
      return { ok: false, code: 'INVALID_PAYLOAD', message: `Too many devices on this tunnel (${this.#maxDevices})` };
    }
    tunnel.devices.set(p.device_id, peer);
    if (previous !== undefined && previous !== peer) previous.close(REPLACED_CLOSE.code, REPLACED_CLOSE.reason);
    const restored = p.reconnect === true && previous !== undefined;
    this.#logger.info({ tunnelId: tunnel.id, transport: peer.transport, restored }, 'tiflis: device connected');
    return { ok: true, tunnel, restored };
  }

  /** A device's message: to its workstation with `device_id` set. Returns an error to answer, if any. */
  fromDevice(
    tunnelId: string,
    deviceId: string,
    peer: Peer,
    raw: Record<string, unknown>,
  ): { code: TiflisErrorCode; message: string } | undefined {
    const tunnel = this.#tunnels.get(tunnelId);
    if (!tunnel || tunnel.devices.get(deviceId) !== peer) {
      return { code: 'TUNNEL_NOT_FOUND', message: `Tunnel not found: ${tunnelId}` };
    }
    if (!tunnel.workstation) return { code: 'WORKSTATION_OFFLINE', message: `Workstation is offline: ${tunnelId}` };
    tunnel.workstation.send(withDeviceId(raw, deviceId));
    return undefined;
  }

  /** A workstation's message: unchanged to every device of its tunnel. */
  fromWorkstation(tunnelId: string, peer: Peer, text: string): void {
    const tunnel = this.#tunnels.get(tunnelId);
    if (!tunnel || tunnel.workstation !== peer) return;
    this.#broadcast(tunnel, text);
  }

  /** `forward.to_device`: one device of the workstation's tunnel. False when that device is not connected. */
  forwardToDevice(tunnelId: string, peer: Peer, deviceId: string, text: string): boolean {
    const tunnel = this.#tunnels.get(tunnelId);
    if (!tunnel || tunnel.workstation !== peer) return false;
    const device = tunnel.devices.get(deviceId);
    if (!device) return false;
    device.send(text);
    return true;
  }

  /** The workstation's connection ended. Devices stay and hear `connection.workstation_offline`. */
  workstationGone(tunnelId: string, peer: Peer): void {
    const tunnel = this.#tunnels.get(tunnelId);
    if (!tunnel || tunnel.workstation !== peer) return; // replaced already: nothing to do
    tunnel.workstation = undefined;
    this.#broadcast(tunnel, workstationOfflineMessage(tunnelId));
    this.#store.touch(tunnelId, this.#now()).catch((err: unknown) => {
      this.#logger.warn({ err }, 'tiflis: could not record last_seen_at');
    });
    this.#logger.info({ tunnelId, devices: tunnel.devices.size }, 'tiflis: workstation offline');
    this.#dropIfEmpty(tunnel);
  }

  /** A device's connection ended: its workstation hears `client.disconnected`. */
  deviceGone(tunnelId: string, deviceId: string, peer: Peer): void {
    const tunnel = this.#tunnels.get(tunnelId);
    if (!tunnel || tunnel.devices.get(deviceId) !== peer) return; // replaced already
    tunnel.devices.delete(deviceId);
    tunnel.workstation?.send(clientDisconnectedMessage(deviceId, tunnelId));
    this.#dropIfEmpty(tunnel);
  }

  isWorkstationOnline(tunnelId: string): boolean {
    return this.#tunnels.get(tunnelId)?.workstation !== undefined;
  }

  tunnelName(tunnelId: string): string | undefined {
    return this.#tunnels.get(tunnelId)?.name;
  }

  stats(): { workstations: number; clients: number; watchClients: number } {
    let workstations = 0;
    let clients = 0;
    let watchClients = 0;
    for (const t of this.#tunnels.values()) {
      if (t.workstation) workstations++;
      for (const d of t.devices.values()) {
        if (d.transport === 'watch') watchClients++;
        else clients++;
      }
    }
    return { workstations, clients, watchClients };
  }

  /** Every peer, for shutdown. */
  peers(): Peer[] {
    const out: Peer[] = [];
    for (const t of this.#tunnels.values()) {
      if (t.workstation) out.push(t.workstation);
      out.push(...t.devices.values());
    }
    return out;
  }

  #broadcast(tunnel: WorkstationTunnel, text: string): void {
    for (const device of [...tunnel.devices.values()]) device.send(text);
  }

  #dropIfEmpty(tunnel: WorkstationTunnel): void {
    if (!tunnel.workstation && tunnel.devices.size === 0) this.#tunnels.delete(tunnel.id);
  }

  async #newTunnelId(): Promise<string> {
    for (;;) {
      const id = generateTunnelId();
      if (!this.#tunnels.has(id) && (await this.#store.get(id)) === undefined) return id;
    }
  }
}
