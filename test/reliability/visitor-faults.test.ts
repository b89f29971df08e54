/**
 * Hostile visitors and faulty agents, answered at once and with the right status: a slowloris head
 * is cut at an absolute deadline on every path (408), bare-LF and HTTP/0.9 requests get 400/505
 * at once, one address cannot hold more than --max-connections-per-ip sockets, and an agent that
 * RESETs a stream with a code it should not use makes a 502 for the visitor, never a 400.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import WebSocket from 'ws';
import { FrameDecoder, FrameType, decodeJson, encodeJsonFrame } from '../../src/wire/mux/frames.js';
import { request, startServer } from '../helpers/harness.js';
import { startStack, type Stack } from '../helpers/stack.js';
import type { ServerOptions } from '../../src/server/config.js';

/** A raw visitor connection: collects what the server sends, resolves `closed` with it. */
function visitor(port: number, localAddress = '127.0.0.1') {
  const s = net.connect({ port, host: '127.0.0.1', localAddress });
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.on('error', () => {});
  const closed = once(s, 'close').then(() => Buffer.concat(chunks).toString('latin1'));
  return { s, closed, text: () => Buffer.concat(chunks).toString('latin1') };
}

/** Send `text` one byte every `everyMs` until the socket closes; returns how long it was held. */
async function trickle(v: ReturnType<typeof visitor>, text: string, everyMs: number): Promise<number> {
  const started = Date.now();
  let i = 0;
  const timer = setInterval(() => {
    if (i < text.length && !v.s.destroyed) v.s.write(text[i++]!);
  }, everyMs);
  await v.closed;
  clearInterval(timer);
  return Date.now() - started;
}

const SLOW_HEAD = 'GET /slow HTTP/1.1\r\nHost: calm.localhost\r\nX-Padding: ' + 'a'.repeat(200) + '\r\n\r\n';

/** The stack with a calm origin on `calm`. */
function calmStack(ctx: TestContext, options: ServerOptions = {}): Promise<Stack> {
  return startStack(ctx, (_q, r) => r.end('calm'), { server: options, tunnel: { subdomain: 'calm' } });
}

void test('regression: slowloris is cut at an absolute head deadline (first head, relay)', async (ctx) => {
  const t = await calmStack(ctx, { headTimeoutMs: 400 });
  try {
    const v = visitor(t.port);
    const held = await trickle(v, SLOW_HEAD, 20);
    assert.ok(held < 1500, `held ${held} ms`);
    assert.match(v.text(), /^HTTP\/1\.1 408 /);
    assert.match(v.text(), /BURROW_ERR_REQUEST_TIMEOUT/);
    assert.equal((await request(t.port, 'calm.localhost', '/')).status, 200);
  } finally {
    await t.close();
  }
});

void test('regression: slowloris is cut at an absolute head deadline (second head on a relayed keep-alive connection)', async (ctx) => {
  const t = await calmStack(ctx, { headTimeoutMs: 400 });
  try {
    const v = visitor(t.port);
    v.s.write('GET /first HTTP/1.1\r\nHost: calm.localhost\r\n\r\n');
    while (!v.text().includes('calm')) await once(v.s, 'data');
    const held = await trickle(v, SLOW_HEAD, 20);
    assert.ok(held < 1500, `held ${held} ms`);
    assert.match(v.text(), /HTTP\/1\.1 408 /);
  } finally {
    await t.close();
  }
});

void test("regression: slowloris is cut at an absolute head deadline (Node's HTTP server path, second head)", async (ctx) => {
  const t = await calmStack(ctx, { headTimeoutMs: 400 });
  try {
    const v = visitor(t.port);
    v.s.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${t.port}\r\n\r\n`);
    while (!v.text().includes('"ok"')) await once(v.s, 'data');
    const held = await trickle(
      v,
      `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${t.port}\r\nX-Pad: ${'b'.repeat(200)}\r\n\r\n`,
      20,
    );
    assert.ok(held < 2000, `held ${held} ms`);
    assert.match(v.text(), /HTTP\/1\.1 408 /);
  } finally {
    await t.close();
  }
});

void test('a connection that sends nothing is closed at the head deadline, without a response', async (ctx) => {
  const t = await calmStack(ctx, { headTimeoutMs: 300 });
  try {
    const v = visitor(t.port);
    const started = Date.now();
    assert.equal(await v.closed, '');
    assert.ok(Date.now() - started < 1500);
  } finally {
    await t.close();
  }
});

for (const [name, wire, status] of [
  ['bare LF line ends', 'GET / HTTP/1.1\nHost: calm.localhost\n\n', 400],
  ['a bare LF after a CRLF request line', 'GET / HTTP/1.1\r\nHost: calm.localhost\n\n', 400],
  ['HTTP/0.9', 'GET /\r\n', 400],
  ['HTTP/2.0 text', 'GET / HTTP/2.0\r\n', 505],
] as const) {
  void test(`regression: ${name} is answered ${status} at once, on a fresh and on a kept-alive connection`, async (ctx) => {
    const t = await calmStack(ctx);
    try {
      const fresh = visitor(t.port);
      fresh.s.write(wire);
      const started = Date.now();
      const got = await fresh.closed;
      assert.ok(Date.now() - started < 2000);
      assert.match(got, new RegExp(`^HTTP/1\\.1 ${status} `));
      const kept = visitor(t.port);
      kept.s.write('GET /first HTTP/1.1\r\nHost: calm.localhost\r\n\r\n');
      while (!kept.text().includes('calm')) await once(kept.s, 'data');
      kept.s.write(wire);
      const all = await kept.closed;
      assert.match(all, new RegExp(`HTTP/1\\.1 ${status} `));
    } finally {
      await t.close();
    }
  });
}

void test('--max-connections-per-ip: the connection over the cap is refused, other addresses are not', async (ctx) => {
  const t = await calmStack(ctx, { maxConnectionsPerIp: 4 });
  try {
    const held = [0, 1, 2, 3].map(() => visitor(t.port, '127.0.0.2'));
    await Promise.all(held.map((v) => once(v.s, 'connect')));
    const over = visitor(t.port, '127.0.0.2');
    assert.equal(await over.closed, '', 'refused without a byte');
    // another address is not affected
    const other = visitor(t.port, '127.0.0.3');
    other.s.write('GET / HTTP/1.1\r\nHost: calm.localhost\r\nConnection: close\r\n\r\n');
    assert.match(await other.closed, /^HTTP\/1\.1 200 /);
    // one held connection goes: the address may connect again (once the server has seen it close)
    held[0]!.s.destroy();
    await held[0]!.closed;
    let answer = '';
    for (let i = 0; i < 50 && !answer.startsWith('HTTP/1.1 200 '); i++) {
      const again = visitor(t.port, '127.0.0.2');
      again.s.write('GET / HTTP/1.1\r\nHost: calm.localhost\r\nConnection: close\r\n\r\n');
      answer = await again.closed;
    }
    assert.match(answer, /^HTTP\/1\.1 200 /);
    const metrics = await request(t.port, `127.0.0.1:${t.port}`, '/metrics');
    assert.match(metrics.body.toString(), /burrow_errors_total\{code="BURROW_ERR_CONNECTION_LIMIT"\} [1-9]/);
    for (const v of held) v.s.destroy();
  } finally {
    await t.close();
  }
});

/** A hand-made agent: registers `name`, then answers every stream the server opens with `reset`. */
async function resettingAgent(port: number, name: string, reset: Record<string, unknown>): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/agent`);
  const decoder = new FrameDecoder();
  let registered: () => void = () => {};
  const ready = new Promise<void>((r) => (registered = r));
  ws.on('message', (data: Buffer) => {
    for (const f of decoder.push(data)) {
      if (f.type === FrameType.WELCOME) {
        ws.send(encodeJsonFrame(FrameType.REGISTER, 0, { req: 1, kind: 'http', name }));
      } else if (f.type === FrameType.REGISTERED) {
        registered();
      } else if (f.type === FrameType.OPEN) {
        ws.send(encodeJsonFrame(FrameType.RESET, f.streamId, reset));
      } else if (f.type === FrameType.PING) {
        ws.send(Buffer.concat([Buffer.from([FrameType.PONG]), Buffer.alloc(0)]));
      }
    }
  });
  await once(ws, 'open');
  ws.send(encodeJsonFrame(FrameType.HELLO, 0, { v: 1, client: 'resetting-agent' }));
  await ready;
  return ws;
}

for (const [name, reset] of [
  ['an unknown code', { code: 'BURROW_ERR_MADE_UP', message: 'no such code' }],
  ['a visitor-side code', { code: 'BURROW_ERR_BAD_REQUEST', message: 'not the visitor' }],
  ['an over-long message', { code: 'BURROW_ERR_ORIGIN_ERROR', message: 'x'.repeat(10_000) }],
] as const) {
  void test(`regression: an agent RESET with ${name} is a 502 for the visitor (relay and WebSocket upgrade)`, async () => {
    const srv = await startServer();
    const ws = await resettingAgent(srv.port, 'resetter', reset);
    try {
      const r = await request(srv.port, 'resetter.localhost', '/');
      assert.equal(r.status, 502, r.body.toString().slice(0, 200));
      const v = visitor(srv.port);
      v.s.write(
        'GET /ws HTTP/1.1\r\nHost: resetter.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      assert.match(await v.closed, /^HTTP\/1\.1 502 /);
    } finally {
      ws.terminate();
      await srv.server.close();
    }
  });
}

void test('decodeJson is what the hand-made agent relies on', () => {
  const f = new FrameDecoder().push(encodeJsonFrame(FrameType.RESET, 3, { code: 'X', message: 'y' }));
  assert.deepEqual(decodeJson(f[0]!), { code: 'X', message: 'y' });
});
