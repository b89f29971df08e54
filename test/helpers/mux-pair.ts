/** Two mux sessions, a server and an agent, wired back to back through an in-memory transport. */
import { MuxSession, type MuxTransport } from '../../src/wire/mux/mux.js';

/**
 * `transport(push)` makes each side's transport from a function that queues one chunk for the peer
 * (each chunk reaches the peer's receive() on its own, a turn later); the default sends whole
 * messages only.
 */
export function muxPair(
  window = 64 * 1024,
  transport: (push: (chunk: Buffer) => void) => MuxTransport = (push) => ({ send: (d) => (push(d), true) }),
): { server: MuxSession; agent: MuxSession } {
  let aToB: Buffer[] = [];
  let bToA: Buffer[] = [];
  const server: MuxSession = new MuxSession(
    transport((d) => (aToB.push(d), setImmediate(pump))),
    { role: 'server', window, peerWindow: window },
  );
  const agent: MuxSession = new MuxSession(
    transport((d) => (bToA.push(d), setImmediate(pump))),
    { role: 'agent', window, peerWindow: window },
  );
  function pump(): void {
    const x = aToB;
    aToB = [];
    for (const d of x) agent.receive(d);
    const y = bToA;
    bToA = [];
    for (const d of y) server.receive(d);
  }
  return { server, agent };
}
