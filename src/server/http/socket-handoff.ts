/**
 * The one place burrow leans on Node's HTTP server internals. The relay reads the first bytes of
 * every new connection itself (to route it by Host) and hands the connections it does not carry to
 * Node's own HTTP server with those bytes put back. Two things make that work:
 *
 * 1. The server's connection listeners (Node's HTTP parser setup) are taken over: public API
 *    (`listeners()`, `removeAllListeners()`), called later with the socket.
 * 2. Node's HTTP server normally reads a fresh socket's handle directly in C++ ("consume"), which
 *    would skip bytes put back with `unshift()`. Marking the handle `_consumed` keeps its reads in
 *    JavaScript, in order. This is internal (`socket._handle._consumed`, lib/_http_server.js).
 *
 * test/server/http/socket-handoff.test.ts fails loudly if a Node version changes either.
 */
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';

/** Give a socket whose first `bytes` were already read to Node's HTTP server, bytes put back. */
export type HandOff = (socket: Socket, bytes: Buffer) => void;

/**
 * Route every new connection of `server` through `accept` first. `accept` either keeps the socket
 * or calls the handOff it is given, which passes the socket (and the bytes it read) on to Node's
 * HTTP server as if it had just connected.
 */
export function interceptConnections(
  server: HttpServer | HttpsServer,
  accept: (socket: Socket, handOff: HandOff) => void,
): void {
  const event = isTlsServer(server) ? 'secureConnection' : 'connection';
  const nodeListeners = server.listeners(event) as ((socket: Socket) => void)[];
  server.removeAllListeners(event);
  const handOff: HandOff = (socket, bytes) => {
    socket.pause();
    if (bytes.length) socket.unshift(bytes);
    const handle = (socket as unknown as { _handle?: { _consumed?: boolean } | null })._handle;
    if (handle) handle._consumed = true;
    for (const l of nodeListeners) l.call(server, socket);
    socket.resume();
  };
  server.on(event, (socket: Socket) => accept(socket, handOff));
}

function isTlsServer(server: HttpServer | HttpsServer): boolean {
  // https.Server is a tls.Server: it has the TLS context methods a plain http.Server lacks
  return typeof (server as { setSecureContext?: unknown }).setSecureContext === 'function';
}
