/**
 * Regression (issue 21): after a reconnect, a tunnel whose registration the server refuses for a
 * passing reason (a cluster's Redis is down: BURROW_ERR_CLUSTER_UNAVAILABLE) is registered again with
 * backoff, under the same name, instead of being dropped with an error. The agent's connection is cut
 * by a forwarder between it and the server; the server's admission refuses the second registration.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { openTunnel } from '../../src/client/burrow/open-tunnel.js';
import { BurrowError } from '../../src/core/errors.js';
import { OPEN_ADMISSION, type AgentAdmission } from '../../src/server/admission.js';
import { closeHttp, startOrigin, startServer } from '../helpers/harness.js';
import { waitUntil } from '../helpers/wait.js';

async function visit(port: number, host: string): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${port}/`, { headers: { Host: host } }).catch(() => undefined);
  return r?.status ?? 0;
}

void test('regression: a re-registration refused with BURROW_ERR_CLUSTER_UNAVAILABLE is retried, not dropped', async (ctx) => {
  let admits = 0;
  const admission: AgentAdmission = {
    ...OPEN_ADMISSION,
    async admit(req) {
      admits++;
      if (admits === 2) throw new BurrowError('BURROW_ERR_CLUSTER_UNAVAILABLE', 'Redis is down (test)');
      return { name: req.name };
    },
  };
  const origin = await startOrigin((_req, res) => res.end('ok'));
  ctx.after(() => closeHttp(origin.server));
  const srv = await startServer({ admission });
  ctx.after(() => srv.server.close());
  // a forwarder whose connections the test cuts, as a dying node or a network blip would
  const open = new Set<net.Socket>();
  const forwarder = net.createServer((a) => {
    const b = net.connect(srv.port, '127.0.0.1');
    for (const s of [a, b]) {
      open.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        open.delete(s);
        a.destroy();
        b.destroy();
      });
    }
    a.pipe(b).pipe(a);
  });
  forwarder.listen(0, '127.0.0.1');
  await once(forwarder, 'listening');
  ctx.after(() => forwarder.close());

  const tunnel = await openTunnel({
    port: origin.port,
    localHost: '127.0.0.1',
    server: `http://127.0.0.1:${(forwarder.address() as net.AddressInfo).port}`,
    subdomain: 'stays-here',
    backoff: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  ctx.after(() => tunnel.close());
  const errors: BurrowError[] = [];
  tunnel.on('error', (e) => errors.push(e));
  const host = 'stays-here.localhost';
  assert.equal(await visit(srv.port, host), 200);

  for (const s of open) s.destroy();
  // the reconnect's registration is refused once (admission #2), then sent again and admitted (#3)
  await waitUntil(async () => admits >= 3 && (await visit(srv.port, host)) === 200, {
    timeoutMs: 10_000,
    what: 'the tunnel to be registered again after the refusal',
  });
  assert.equal(tunnel.name, 'stays-here');
  assert.deepEqual(errors, []);
});
