/**
 * A burrow tunnel opens no stream before the agent was told about it (REGISTERED): a tcp tunnel is
 * in the registry while its public port is set up, and an OPEN that reached the agent before its
 * REGISTERED was reset TUNNEL_NOT_FOUND (the visitor's 502 AGENT_FAULT).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MuxSession } from '../../../src/wire/mux/mux.js';
import { muxPair } from '../../helpers/mux-pair.js';
import { FrameType } from '../../../src/wire/mux/frames.js';
import { BurrowTunnel } from '../../../src/server/agent/tunnel.js';
import { createMetrics } from '../../../src/server/metrics.js';
import { isBurrowError } from '../../../src/core/errors.js';

/** A server and an agent session back to back; the agent records what reaches it, in order. */
function link() {
  const { server, agent } = muxPair();
  const seen: string[] = [];
  agent.on('control', (f: { type: number }) => seen.push(f.type === FrameType.REGISTERED ? 'REGISTERED' : 'control'));
  agent.on('stream', () => seen.push('OPEN'));
  return { server, agent, seen };
}

function tunnel(session: MuxSession): BurrowTunnel {
  return new BurrowTunnel({
    name: 't',
    url: 'http://t.localhost',
    kind: 'tcp',
    session,
    maxStreams: 10,
    requestEvents: false,
    metrics: createMetrics({ defaultMetrics: false }),
  });
}

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

test('regression (an OPEN before its REGISTERED): a stream waits until the tunnel is announced', async () => {
  const { server, seen } = link();
  const t = tunnel(server);
  let opened = false;
  const opening = t.openStream({ kind: 'tcp', remoteAddress: '127.0.0.1' }).then((s) => {
    opened = true;
    return s;
  });
  await turns(10);
  assert.equal(opened, false, 'no stream before the agent was told');
  assert.deepEqual(seen, []);
  server.sendControl(FrameType.REGISTERED, { req: 1, ok: true, tunnel: { id: t.id, name: t.name } });
  t.announce();
  const stream = await opening;
  await turns(10);
  assert.deepEqual(seen, ['REGISTERED', 'OPEN'], 'the agent hears of the tunnel before its first stream');
  stream.destroy();
  server.close();
});

test('a tunnel closed before it was announced: the waiting open fails AGENT_GONE', async () => {
  const { server } = link();
  const t = tunnel(server);
  const opening = t.openStream({ kind: 'tcp', remoteAddress: '127.0.0.1' });
  t.close('tcp setup failed');
  await assert.rejects(opening, (e: unknown) => isBurrowError(e) && e.code === 'BURROW_ERR_AGENT_GONE');
  server.close();
});
