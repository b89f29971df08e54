/**
 * TcpExpose's resume hold (unit level, fake tunnels): a disconnected tcp tunnel whose name the
 * registry holds for its agent keeps its public port and access token for the re-registration.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { silentLogger } from '../../../src/core/logger.js';
import type { RegisterRequest } from '../../../src/wire/mux/messages.js';
import type { BurrowTunnel } from '../../../src/server/agent/tunnel.js';
import { TcpExpose } from '../../../src/server/agent/tcp-expose.js';
import { accepts, bindable, randomRange } from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';

const upgrade = { headers: { host: '127.0.0.1:9' } } as unknown as IncomingMessage;
const req = { kind: 'tcp', publicPort: true } as unknown as RegisterRequest;

function fakeTunnel(name: string): BurrowTunnel {
  return {
    name,
    info: {},
    openStream: (): Promise<Duplex> => Promise.reject(new Error('fake')),
  } as unknown as BurrowTunnel;
}

function expose(held: Set<string>, resumeGraceMs = 60_000): TcpExpose {
  return new TcpExpose({
    range: randomRange(),
    address: '127.0.0.1',
    logger: silentLogger(),
    secure: false,
    baseUrlFor: () => 'http://127.0.0.1:9',
    resumeGraceMs,
    isNameHeld: (n) => held.has(n),
  });
}

void test('hold: a held name gets the same port and token back; connections meanwhile are refused', async (t) => {
  const held = new Set<string>();
  const x = expose(held);
  t.after(() => x.close());
  const a = fakeTunnel('svc');
  const first = await x.onRegistered(a, req, upgrade);
  held.add('svc'); // the registry reserved the name for the agent's resume
  x.onGone(a);
  const port = first['remotePort'] as number;
  assert.equal(x.tokenFor(a), first['accessToken']);
  assert.equal(await bindable(port), false, 'the port stays bound while held');
  const s = connect({ port, host: '127.0.0.1' });
  s.on('error', () => {});
  s.on('data', () => assert.fail('no data while held'));
  await once(s, 'close'); // accepted and closed at once: no agent to serve it
  const b = fakeTunnel('svc');
  held.delete('svc');
  const again = await x.onRegistered(b, req, upgrade);
  assert.equal(again['remotePort'], port);
  assert.equal(again['accessToken'], first['accessToken']);
  assert.equal(x.tokenFor(b), first['accessToken']);
});

void test('hold: an unregistered (not held) tunnel releases its port, and the next one gets a new token', async (t) => {
  const held = new Set<string>();
  const x = expose(held);
  t.after(() => x.close());
  const a = fakeTunnel('svc');
  const first = await x.onRegistered(a, req, upgrade);
  x.onGone(a);
  const port = first['remotePort'] as number;
  await waitUntil(() => bindable(port), { what: 'the port released' });
  assert.equal(await accepts(port), false);
  const again = await x.onRegistered(fakeTunnel('svc'), req, upgrade);
  assert.notEqual(again['accessToken'], first['accessToken']);
});

void test('hold: after the grace the port is released and the token forgotten', async (t) => {
  const held = new Set<string>(['svc']);
  const x = expose(held, 50);
  t.after(() => x.close());
  const a = fakeTunnel('svc');
  const first = await x.onRegistered(a, req, upgrade);
  x.onGone(a);
  await waitUntil(() => bindable(first['remotePort'] as number), { what: 'the port released after the 50 ms grace' });
  assert.equal(await bindable(first['remotePort'] as number), true);
  held.clear();
  const again = await x.onRegistered(fakeTunnel('svc'), req, upgrade);
  assert.notEqual(again['accessToken'], first['accessToken']);
});
