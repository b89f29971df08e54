/**
 * The one place burrow leans on Node's HTTP server internals. The relay reads the first bytes of
 * every new connection itself (to route it by Host) and hands the connections it does not carry to
 * Node's own HTTP server with those bytes put back. Two things make that work:
 *
 * 1. The server's connection listeners (Node's HTTP parser setup) are taken over: public API
 *    (`listeners()`, `removeAllListeners()`), called later with the socket.
 * 2. Node's HTTP server reads a fresh socket's handle directly in C++ ("consume": the parser is the
 *    handle's stream listener, no 'data' events), which would skip bytes already read. So the bytes
 *    read so far (the relay's, and any the socket queued after it paused) are given to Node's parser
 *    first, through the 'data' listener Node's server adds to every socket (it parses what it is
 *    given, lib/_http_server.js socketOnData), before the socket resumes and the C++ reads begin.
 *    Keeping the whole connection in JavaScript instead (marking the handle `_consumed`, as before)
 *    cost a large upload through the pipe ~2× the time (bench/pipe.ts curl rows): every chunk went
 *    socket 'data' → parser.execute() in JS.
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
    // bytes the socket read after the relay stopped listening come after `bytes`
    const read: Buffer[] = bytes.length ? [bytes] : [];
    for (let more = socket.read() as Buffer | null; more !== null; more = socket.read() as Buffer | null) read.push(more);
    for (const l of nodeListeners) l.call(server, socket);
    if (read.length) socket.emit('data', read.length === 1 ? read[0] : Buffer.concat(read));
    if (!socket.destroyed) socket.resume();
  };
  server.on(event, (socket: Socket) => accept(socket, handOff));
}

function isTlsServer(server: HttpServer | HttpsServer): boolean {
  // https.Server is a tls.Server: it has the TLS context methods a plain http.Server lacks
  return typeof (server as { setSecureContext?: unknown }).setSecureContext === 'function';
}
