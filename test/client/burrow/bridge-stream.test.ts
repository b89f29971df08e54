/**
 * bridgeStream (the agent's copy between a tunnel stream and its local connection) when the local
 * service closes first: an origin answering `Connection: close` closes its socket before the server
 * ends the stream. The stream must still close once the server ends it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { bridgeStream } from '../../../src/client/burrow/open-tunnel.js';
import { parseLocalTarget } from '../../../src/client/burrow/local-target.js';
import type { MuxStream } from '../../../src/wire/mux/mux.js';
import { muxPair } from '../../helpers/mux-pair.js';
import { waitUntil } from '../../helpers/wait.js';

const ANSWER = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok';

void describe('bridgeStream', () => {
  const origin = net.createServer((socket) => {
    socket.once('data', () => socket.end(ANSWER));
    socket.on('error', () => undefined);
  });
  after(() => origin.close());

  void it('regression: a stream whose local connection closed before the server ended it stayed open for good', async () => {
    origin.listen(0, '127.0.0.1');
    await once(origin, 'listening');
    const port = (origin.address() as net.AddressInfo).port;
    const { server, agent } = muxPair();
    const bridged: MuxStream[] = [];
    const locals: net.Socket[] = [];
    agent.on('stream', (stream: MuxStream) => {
      const local = net.connect(port, '127.0.0.1');
      locals.push(local);
      local.once('connect', () => bridgeStream(stream, local, parseLocalTarget(port, { host: '127.0.0.1' })));
      bridged.push(stream);
    });
    const visitor = server.openStream({ tunnelId: 't', kind: 'http' });
    let answer = '';
    visitor.on('data', (c: Buffer) => (answer += c.toString()));
    visitor.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    // the server's side ends only after the agent's local connection has closed (the order that lost it)
    await waitUntil(() => locals.length === 1 && locals[0]!.destroyed && answer === ANSWER, {
      what: () => `the answer and the local connection closed (answer ${JSON.stringify(answer)})`,
    });
    visitor.end();
    const agentSide = bridged[0]!;
    await waitUntil(() => agentSide.destroyed, {
      what: () =>
        `the agent's stream closed (readableEnded ${agentSide.readableEnded}, flowing ${agentSide.readableFlowing}, writableFinished ${agentSide.writableFinished})`,
      timeoutMs: 3000,
    });
    await waitUntil(() => visitor.destroyed, { what: () => "the server's stream closed", timeoutMs: 3000 });
    assert.equal(answer, ANSWER, 'the whole answer reached the visitor');
    server.close();
    agent.close();
  });
});
