/**
 * The server side of a mux link PINGs only a peer it has not heard from for a whole interval
 * (issue 19 item 6): an agent that PINGs keeps the link alive both ways, so with 10,000 idle
 * tunnels the server's own PINGs were half the heartbeat frames and syscalls for nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MuxSession } from '../../../src/wire/mux/mux.js';
import { FrameDecoder, FrameType } from '../../../src/wire/mux/frames.js';

const INTERVAL_MS = 40;

/** A server and an agent session on an in-memory link; counts the PINGs each side sends. */
function pair(agentPingMs: number) {
  const pings = { server: 0, agent: 0 };
  const count = (side: 'server' | 'agent', d: Buffer) => {
    const dec = new FrameDecoder();
    for (const f of dec.push(Buffer.from(d))) if (f.type === FrameType.PING) pings[side]++;
  };
  const sessions = {} as { server: MuxSession; agent: MuxSession };
  /** One side: counts its PINGs and delivers each message to the other side on the next turn. */
  const side = (role: 'server' | 'agent', pingIntervalMs: number): MuxSession =>
    new MuxSession(
      {
        send: (d) => {
          count(role, d);
          setImmediate(() => sessions[role === 'server' ? 'agent' : 'server'].receive(d));
          return true;
        },
      },
      { role, pingIntervalMs, deadPeerTimeoutMs: 60_000 },
    );
  sessions.server = side('server', INTERVAL_MS);
  sessions.agent = side('agent', agentPingMs);
  const { server, agent } = sessions;
  return { server, agent, pings };
}

void test('regression (server PINGs beside a pinging agent): the server sends none while the agent PINGs it, and PINGs an agent that is silent', async (t) => {
  const busy = pair(INTERVAL_MS / 2);
  const quiet = pair(0);
  t.after(() => {
    for (const s of [busy.server, busy.agent, quiet.server, quiet.agent]) s.close();
  });
  for (const p of [busy, quiet]) {
    p.server.startHeartbeat();
    p.agent.startHeartbeat();
  }
  await new Promise((r) => setTimeout(r, INTERVAL_MS * 8));
  assert.ok(busy.pings.agent >= 4, `the agent PINGed (${busy.pings.agent})`);
  assert.equal(busy.pings.server, 0, 'the server heard the agent every interval and sent no PING of its own');
  assert.ok(busy.agent.rttMs !== undefined, "the agent's PINGs were answered");
  assert.equal(quiet.pings.agent, 0);
  assert.ok(quiet.pings.server >= 2, `the server PINGs an agent that sends nothing (${quiet.pings.server})`);
  assert.equal(quiet.server.closed, false, 'its PONGs keep the link alive');
});
