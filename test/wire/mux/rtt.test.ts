/** The agent's server latency (issue 20, the status panel): the round trip of its heartbeat PINGs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MuxSession } from '../../../src/wire/mux/mux.js';
import { encodeFrame, FrameType } from '../../../src/wire/mux/frames.js';
import { waitUntil } from '../../helpers/wait.js';

/** How long the in-memory link holds each message one way, in ms. */
const ONE_WAY_MS = 40;

/** An agent and a server session whose link takes ONE_WAY_MS each way. */
function slowPair(pingIntervalMs: number) {
  const later = (deliver: () => void): boolean => {
    setTimeout(deliver, ONE_WAY_MS);
    return true;
  };
  const server: MuxSession = new MuxSession(
    { send: (d) => later(() => agent.receive(d)) },
    { role: 'server', pingIntervalMs: 0 },
  );
  const agent: MuxSession = new MuxSession(
    { send: (d) => later(() => server.receive(d)) },
    { role: 'agent', pingIntervalMs },
  );
  return { server, agent };
}

test('rttMs is the round trip of the last answered PING', async (t) => {
  const { server, agent } = slowPair(25);
  t.after(() => {
    agent.close();
    server.close();
  });
  assert.equal(agent.rttMs, undefined, 'no latency before a PING was answered');
  agent.startHeartbeat();
  await waitUntil(() => agent.rttMs !== undefined, { what: 'an answered PING' });
  const rtt = agent.rttMs!;
  // two one-way delays (timers may fire a millisecond early, and late on a loaded machine)
  assert.ok(rtt >= 2 * ONE_WAY_MS - 2, `rtt ${rtt} ms covers both ways`);
  assert.ok(rtt < 10_000, `rtt ${rtt} ms is a round trip, not a clock value`);
});

test('a PONG that does not carry a past time leaves rttMs alone', () => {
  const agent = new MuxSession({ send: () => true }, { role: 'agent', pingIntervalMs: 0 });
  const future = Buffer.alloc(8);
  future.writeDoubleBE(Date.now() + 60_000, 0);
  agent.receive(encodeFrame(FrameType.PONG, 0, future));
  const nan = Buffer.alloc(8);
  nan.writeDoubleBE(Number.NaN, 0);
  agent.receive(encodeFrame(FrameType.PONG, 0, nan));
  assert.equal(agent.rttMs, undefined);
  assert.equal(agent.closed, false, 'an odd PONG is no protocol error');
  agent.close();
});
