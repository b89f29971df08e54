/** `exposeTcp` against the composed server: a local service reached through its public TCP port. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import {
  accepts,
  bindable,
  dial,
  dialHalfOpen,
  echo,
  expose,
  hashUntilEnd,
  publicPort,
  readBytes,
  startComposedTcp,
  startTarget,
  writePattern,
} from './helpers.js';
import { waitUntil } from '../../helpers/wait.js';
import { REFUSED_PORT, readAll } from '../../helpers/net.js';

const BIG = 64 * 1024 * 1024;

async function setup(onConnection: (s: Socket) => void, targetOptions: { allowHalfOpen?: boolean } = {}) {
  const stack = await startComposedTcp();
  const target = await startTarget(onConnection, targetOptions);
  const tunnel = await expose(stack, target.port);
  return {
    stack,
    target,
    tunnel,
    port: publicPort(tunnel),
    async close() {
      tunnel.close();
      await stack.close();
      await target.close();
    },
  };
}

void test('expose: ready with tcp://127.0.0.1:<port in range>, ws://…/tcp/<name> and an access token', async (t) => {
  const s = await setup(echo);
  t.after(() => s.close());
  const range = s.stack.range!;
  assert.match(s.tunnel.tcpAddress!, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(s.port >= range.from && s.port <= range.to, `${s.port} in ${range.from}-${range.to}`);
  assert.equal(s.tunnel.wsUrl, `ws://127.0.0.1:${s.stack.port}/tcp/${s.tunnel.name}`);
  assert.ok((s.tunnel.accessToken ?? '').length >= 32);
});

void test('expose: echo is byte-exact (all 256 byte values, several writes)', async (t) => {
  const s = await setup(echo);
  t.after(() => s.close());
  const sock = await dial(s.port);
  t.after(() => sock.destroy());
  const all = Buffer.alloc(256 * 64);
  for (let i = 0; i < all.length; i++) all[i] = i % 256;
  const pending = readBytes(sock, all.length * 2);
  sock.write(all.subarray(0, 1000));
  sock.write(all.subarray(1000));
  sock.write(all);
  const got = await pending;
  assert.ok(got.equals(Buffer.concat([all, all])));
});

void test('expose: 64 MiB each way, byte-exact (sha-256)', async (t) => {
  let uploaded: Promise<{ bytes: number; sha: string }> | undefined;
  let downloadSha: Promise<string> | undefined;
  let n = 0;
  const s = await setup((sock) => {
    if (n++ === 0) uploaded = hashUntilEnd(sock);
    else downloadSha = writePattern(sock, BIG, 2);
  });
  t.after(() => s.close());

  const t0 = performance.now();
  const up = await dial(s.port);
  const sentSha = await writePattern(up, BIG, 1, true);
  await waitUntil(() => uploaded !== undefined);
  assert.deepEqual(await uploaded, { bytes: BIG, sha: sentSha });
  const upMs = performance.now() - t0;
  up.destroy();

  const t1 = performance.now();
  const down = await dial(s.port);
  const got = await hashUntilEnd(down);
  const downMs = performance.now() - t1;
  await waitUntil(() => downloadSha !== undefined);
  assert.deepEqual(got, { bytes: BIG, sha: await downloadSha! });
  down.destroy();
  t.diagnostic(
    `64 MiB up ${((BIG / 1048576 / upMs) * 1000).toFixed(0)} MiB/s, down ${((BIG / 1048576 / downMs) * 1000).toFixed(0)} MiB/s`,
  );
});

void test('expose: 64 MiB full duplex on one connection (echo), byte-exact', async (t) => {
  const s = await setup(echo);
  t.after(() => s.close());
  const sock = await dial(s.port);
  t.after(() => sock.destroy());
  const back = hashUntilEnd(sock);
  const sent = await writePattern(sock, BIG, 3, true);
  assert.deepEqual(await back, { bytes: BIG, sha: sent });
});

void test('expose: half-close — our FIN reaches the service, which still answers, then closes', async (t) => {
  let sawFin = false;
  const s = await setup(
    (sock) => {
      const h = createHash('sha256');
      let total = 0;
      sock.on('data', (c: Buffer) => {
        h.update(c);
        total += c.length;
      });
      sock.on('end', () => {
        sawFin = true;
        setTimeout(() => sock.end(`got ${total} ${h.digest('hex')}`), 50);
      });
    },
    { allowHalfOpen: true },
  );
  t.after(() => s.close());
  const sock = await dial(s.port);
  t.after(() => sock.destroy());
  const reply = readAll(sock);
  const body = Buffer.alloc(300_000, 7);
  sock.end(body);
  const text = (await reply).toString();
  assert.ok(sawFin);
  assert.equal(text, `got ${body.length} ${createHash('sha256').update(body).digest('hex')}`);
  await once(sock, 'close');
});

void test('expose: half-close the other way — the service FINs first and still receives what we send after', async (t) => {
  let received: Promise<Buffer> | undefined;
  const s = await setup(
    (sock) => {
      received = readAll(sock);
      sock.end('bye\n'); // server FIN, keeps reading
    },
    { allowHalfOpen: true },
  );
  t.after(() => s.close());
  const sock = await dialHalfOpen(s.port);
  t.after(() => sock.destroy());
  const fromService = readAll(sock);
  assert.equal((await fromService).toString(), 'bye\n');
  // After the service's FIN our side is still writable.
  await new Promise((r) => setTimeout(r, 50));
  sock.end('still-here');
  await waitUntil(() => received !== undefined);
  assert.equal((await received!).toString(), 'still-here');
});

void test('expose: a server-speaks-first service greets before we write', async (t) => {
  const s = await setup((sock) => {
    sock.write('SSH-2.0-burrow-test\r\n');
    sock.pipe(sock);
  });
  t.after(() => s.close());
  const sock = await dial(s.port);
  t.after(() => sock.destroy());
  assert.equal((await readBytes(sock, 21)).toString(), 'SSH-2.0-burrow-test\r\n');
  sock.write('hello');
  assert.equal((await readBytes(sock, 5)).toString(), 'hello');
});

void test('expose: 500 concurrent TCP connections through one tunnel, each echoes its own bytes', async (t) => {
  const s = await setup(echo);
  t.after(() => s.close());
  const N = 500;
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const sock = await dial(s.port);
      const msg = Buffer.from(`connection ${i} `.repeat(1 + (i % 40)));
      const back = readAll(sock);
      sock.write(msg.subarray(0, 3));
      await new Promise((r) => setImmediate(r));
      sock.end(msg.subarray(3));
      const got = await back;
      sock.destroy();
      return got.equals(msg);
    }),
  );
  const ms = performance.now() - t0;
  assert.equal(results.filter(Boolean).length, N);
  assert.equal(s.target.accepted(), N);
  t.diagnostic(`${N} concurrent connections in ${ms.toFixed(0)} ms`);
});

void test('expose: --remote-port is honoured', async (t) => {
  const stack = await startComposedTcp();
  const target = await startTarget(echo);
  t.after(async () => {
    await stack.close();
    await target.close();
  });
  let wanted = stack.range!.from + 7;
  while (!(await bindable(wanted))) wanted++;
  const tunnel = await expose(stack, target.port, { remotePort: wanted });
  t.after(() => tunnel.close());
  assert.equal(tunnel.tcpAddress, `tcp://127.0.0.1:${wanted}`);
  const sock = await dial(wanted);
  t.after(() => sock.destroy());
  sock.write('x');
  assert.equal((await readBytes(sock, 1)).toString(), 'x');
  // A second tunnel cannot take the same port.
  await assert.rejects(expose(stack, target.port, { remotePort: wanted }), (e: Error & { code?: string }) => {
    assert.ok(e.code === 'BURROW_ERR_NAME_TAKEN' || e.code === 'BURROW_ERR_FORBIDDEN', String(e.code));
    return true;
  });
});

void test('expose: --remote-port outside the range → FORBIDDEN, and the name is free again', async (t) => {
  const stack = await startComposedTcp();
  const target = await startTarget(echo);
  t.after(async () => {
    await stack.close();
    await target.close();
  });
  const outside = stack.range!.from - 1;
  await assert.rejects(
    expose(stack, target.port, { remotePort: outside, name: 'outside' }),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'BURROW_ERR_FORBIDDEN');
      assert.match(e.message, /outside the allowed range/);
      return true;
    },
  );
  assert.equal(await accepts(outside), false);
  // The failed registration left nothing behind: the same name registers fine.
  const tunnel = await expose(stack, target.port, { name: 'outside' });
  t.after(() => tunnel.close());
  assert.equal(tunnel.name, 'outside');
});

void test('expose: publicPort false on a server with a range → no public port, WebSocket access only', async (t) => {
  const s = await setup(echo);
  t.after(() => s.close());
  const priv = await expose(s.stack, s.target.port, { publicPort: false });
  t.after(() => priv.close());
  assert.equal(priv.tcpAddress, undefined);
  assert.ok(priv.wsUrl && priv.accessToken);
});

void test('expose: two tunnels get different public ports; each reaches its own service', async (t) => {
  const s = await setup((sock) => sock.end('one'));
  t.after(() => s.close());
  const other = await startTarget((sock) => sock.end('two'));
  t.after(() => other.close());
  const t2 = await expose(s.stack, other.port);
  t.after(() => t2.close());
  assert.notEqual(publicPort(t2), s.port);
  const a = await dial(s.port);
  const b = await dial(publicPort(t2));
  assert.equal((await readAll(a)).toString(), 'one');
  assert.equal((await readAll(b)).toString(), 'two');
});

void test('expose: the agent going away closes public connections and releases the port', async (t) => {
  const s = await setup(echo);
  t.after(() => s.close());
  const sock = await dial(s.port);
  sock.on('error', () => {});
  sock.write('a');
  assert.equal((await readBytes(sock, 1)).toString(), 'a');
  const closed = once(sock, 'close');
  s.tunnel.close();
  await closed;
  await waitUntil(() => s.stack.composed.server.registry.get(s.tunnel.name) === undefined);
  // The listener is gone: connections are refused and the port can be bound again.
  let released = false;
  await waitUntil(async () => (released = !(await accepts(s.port)) && (await bindable(s.port))), {
    timeoutMs: 5_000,
    what: `port ${s.port} released`,
  }).catch(() => {});
  assert.ok(released, `port ${s.port} released`);
});

void test('expose: the local service is down → the public connection is closed, the tunnel stays up', async (t) => {
  const stack = await startComposedTcp();
  t.after(() => stack.close());
  const tunnel = await expose(stack, REFUSED_PORT);
  t.after(() => tunnel.close());
  const sock = await dial(publicPort(tunnel));
  sock.on('error', () => {});
  await once(sock, 'close');
  assert.ok(stack.composed.server.registry.get(tunnel.name));
});
