/** Test harness for the tiflis adapter: a plain http server with the adapter mounted, and a WS client. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, type ClientOptions } from 'ws';
import {
  createTiflisAdapter,
  type TiflisAdapter,
  type TiflisAdapterOptions,
} from '../../../src/adapters/tiflis/index.js';

export const API_KEY = 'test-registration-key-0123456789abcdef';
export const AUTH_KEY = 'device-auth-key-0123456789';

export interface Harness {
  adapter: TiflisAdapter;
  server: Server;
  port: number;
  wsUrl: string;
  httpUrl: string;
  close(): Promise<void>;
}

export async function startHarness(options: Partial<TiflisAdapterOptions> = {}): Promise<Harness> {
  const adapter = createTiflisAdapter({ registrationKey: API_KEY, ...options });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!adapter.handleRequest?.(req, res, url)) {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!adapter.handleUpgrade?.(req, socket, head, url)) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    adapter,
    server,
    port,
    wsUrl: `ws://127.0.0.1:${port}${adapter.wsPath}`,
    httpUrl: `http://127.0.0.1:${port}`,
    async close() {
      await adapter.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test messages are free-form JSON
export type Msg = Record<string, any>;

/** A JSON WebSocket client that queues what it receives; next() waits for a matching message. */
export class TestClient {
  readonly received: Msg[] = [];
  readonly raw: string[] = [];
  private waiters: { match: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      const msg = JSON.parse(text) as Msg;
      const i = this.waiters.findIndex((w) => w.match(msg));
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        w!.resolve(msg);
      } else {
        this.received.push(msg);
        this.raw.push(text);
      }
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static async open(url: string, options: ClientOptions = {}): Promise<TestClient> {
    const ws = new WebSocket(url, options);
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  send(msg: Msg | string): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** The next message (of `type`, if given), waiting up to `timeoutMs`. */
  next(type?: string, timeoutMs = 5_000): Promise<Msg> {
    const match = (m: Msg): boolean => type === undefined || m.type === type;
    const i = this.received.findIndex(match);
    if (i >= 0) {
      this.raw.splice(i, 1);
      return Promise.resolve(this.received.splice(i, 1)[0]!);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for ${type ?? 'a message'}; queued: ${JSON.stringify(this.received)}`));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (m: Msg) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Sends and waits for the next message. */
  async request(msg: Msg | string, type?: string): Promise<Msg> {
    this.send(msg);
    return this.next(type);
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}

export function registerMsg(extra: Msg = {}): Msg {
  return {
    type: 'workstation.register',
    payload: { api_key: API_KEY, name: 'My MacBook Pro', auth_key: AUTH_KEY, ...extra },
  };
}

export function connectMsg(tunnelId: string, deviceId: string, extra: Msg = {}): Msg {
  return { type: 'connect', payload: { tunnel_id: tunnelId, auth_key: AUTH_KEY, device_id: deviceId, ...extra } };
}

/** Opens a workstation and registers it; returns it with its tunnel id. */
export async function openWorkstation(
  h: Harness,
  extra: Msg = {},
  options: ClientOptions = {},
): Promise<{ ws: TestClient; tunnelId: string; reply: Msg }> {
  const ws = await TestClient.open(h.wsUrl, options);
  const reply = await ws.request(registerMsg(extra), 'workstation.registered');
  return { ws, tunnelId: reply.payload.tunnel_id as string, reply };
}

export async function openDevice(
  h: Harness,
  tunnelId: string,
  deviceId: string,
  options: ClientOptions = {},
): Promise<TestClient> {
  const ws = await TestClient.open(h.wsUrl, options);
  const reply = await ws.request(connectMsg(tunnelId, deviceId), 'connected');
  if (reply.payload.tunnel_id !== tunnelId) throw new Error(`connected to ${reply.payload.tunnel_id}`);
  return ws;
}
