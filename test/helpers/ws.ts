/** A connected `ws` WebSocket pair on loopback, for tests that drive both ends themselves. */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';

export interface WebSocketPair {
  /** The server's end (ws's `_isServer`: it sends unmasked). */
  server: WebSocket;
  client: WebSocket;
  /** The TCP socket under each end (ws 8's `_socket`), e.g. to pause the reads of one side. */
  serverSocket: Duplex;
  clientSocket: Duplex;
  close(): void;
}

export async function webSocketPair(): Promise<WebSocketPair> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await once(wss, 'listening');
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false });
  const [server] = await accepted;
  await once(client, 'open');
  const socketOf = (ws: WebSocket): Duplex => (ws as unknown as { _socket: Duplex })._socket;
  return {
    server,
    client,
    serverSocket: socketOf(server),
    clientSocket: socketOf(client),
    close: () => {
      client.terminate();
      server.terminate();
      wss.close();
    },
  };
}
