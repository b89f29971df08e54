/**
 * forward-tcp (issue 16): TCP over a pair of pipes, through `burrow pipe serve`'s handler and
 * through the real piping-server npm package. Burrow on both sides multiplexes (10 concurrent
 * connections byte-exact, an SSH-like exchange, 256 MiB with flat memory); a plain-recipe peer
 * (GET up → service → PUT down, raw, as `curl | nc | curl` does) still works one connection at a time.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, request, type IncomingMessage, type RequestListener } from 'node:http';
import { createRequire } from 'node:module';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import {
  forwardTcpListen,
  forwardTcpTarget,
  type ForwardEvent,
  type ForwardTcp,
} from '../../../src/client/pipe/forward-tcp.js';
import { readAll } from '../../helpers/net.js';
import { waitUntil } from '../../helpers/wait.js';
import { startPipe } from './helpers.js';

const FAST = { negotiateGraceMs: 300, reconnectBaseMs: 50 };

/** A TCP service for the tests; closed with `t.after`-style cleanup by the caller. */
async function service(onConn: (s: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onConn(s);
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return {
    port: (srv.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

const echo = (s: net.Socket): void => void s.pipe(s);

/** Speaks first, like sshd: a banner, then one answer per line. */
function sshLike(s: net.Socket): void {
  s.write('SSH-2.0-burrowtest\r\n');
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (c: string) => {
    buf += c;
    let i: number;
    while ((i = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      s.write(`reply:${line.split('').reverse().join('')}\n`);
    }
  });
  s.on('end', () => s.end());
}

/** Sends `data` on a new connection to `port`, half-closes, returns all it got back. */
async function roundTrip(port: number, data: Buffer): Promise<Buffer> {
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const got = readAll(s);
  s.end(data);
  return got;
}

/** An SSH-like session: read the banner, then three request/response turns. */
async function sshSession(port: number): Promise<string[]> {
  const s = net.connect({ port, host: '127.0.0.1' });
  s.setEncoding('utf8');
  const lines: string[] = [];
  let buf = '';
  const next = (): Promise<string> =>
    new Promise((resolve) => {
      const check = (): void => {
        const i = buf.indexOf('\n');
        if (i === -1) return void s.once('data', (c: string) => ((buf += c), check()));
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        resolve(line);
      };
      check();
    });
  lines.push(await next());
  for (const word of ['abc', 'hello', 'xyz']) {
    s.write(`${word}\n`);
    lines.push(await next());
  }
  s.end();
  return lines;
}

interface PipeServer {
  url: string;
  close(): Promise<void>;
}

async function burrowPipe(): Promise<PipeServer> {
  const p = await startPipe();
  return { url: p.url, close: () => p.close() };
}

async function pipingServer(): Promise<PipeServer> {
  const require = createRequire(import.meta.url);
  const piping = require('piping-server') as { Server: new () => { generateHandler(https: boolean): RequestListener } };
  const handler = new piping.Server().generateHandler(false);
  // piping-server 1.12.9 writes "[INFO] A receiver aborted." to a sender response it already ended
  // when both ends of a pipe go at once; the error event it raises would crash the test process
  const srv = createHttpServer({ requestTimeout: 0 }, (req, res) => {
    res.on('error', () => {});
    handler(req, res);
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    close: async () => {
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

/** Both sides burrow, over `server`, to a service; `events` records both sides' events. */
async function pair(
  server: string,
  target: number,
  paths: { up: string; down: string },
): Promise<{ listen: ForwardTcp; target: ForwardTcp; port: number; events: ForwardEvent[]; close(): Promise<void> }> {
  const events: ForwardEvent[] = [];
  const opts = { server, ...paths, ...FAST, onEvent: (e: ForwardEvent) => events.push(e) };
  const t = forwardTcpTarget({ host: '127.0.0.1', port: target }, opts);
  const l = await forwardTcpListen({ host: '127.0.0.1', port: 0 }, opts);
  return {
    listen: l,
    target: t,
    port: l.address!.port,
    events,
    close: async () => {
      await l.close();
      await t.close();
    },
  };
}

for (const [name, start] of [
  ['burrow pipe serve', burrowPipe],
  ['piping-server (npm)', pipingServer],
] as const) {
  void describe(`forward-tcp over ${name}`, () => {
    let pipe: PipeServer;
    before(async () => {
      pipe = await start();
    });
    after(async () => {
      await pipe.close();
    });

    void test('burrow on both sides: 10 concurrent connections byte-exact over one mux pair', async () => {
      const svc = await service(echo);
      const fwd = await pair(pipe.url, svc.port, { up: 'mx-up', down: 'mx-down' });
      try {
        const payloads = Array.from({ length: 10 }, (_, i) => randomBytes(64 * 1024 + i * 4099));
        const got = await Promise.all(payloads.map((p) => roundTrip(fwd.port, p)));
        got.forEach((g, i) =>
          assert.ok(g.equals(payloads[i]!), `connection ${i}: ${g.length} of ${payloads[i]!.length}`),
        );
        const connected = fwd.events.filter((e) => e.type === 'connected');
        assert.ok(connected.length >= 2, 'both sides connected');
        assert.ok(
          connected.every((e) => e.type === 'connected' && e.mode === 'mux'),
          JSON.stringify(connected),
        );
      } finally {
        await fwd.close();
        await svc.close();
      }
    });

    void test('an SSH-like exchange (the service speaks first) works multiplexed', async () => {
      const svc = await service(sshLike);
      const fwd = await pair(pipe.url, svc.port, { up: 'ssh-up', down: 'ssh-down' });
      try {
        const [a, b] = await Promise.all([sshSession(fwd.port), sshSession(fwd.port)]);
        for (const lines of [a, b])
          assert.deepEqual(lines, ['SSH-2.0-burrowtest\r', 'reply:cba', 'reply:olleh', 'reply:zyx']);
      } finally {
        await fwd.close();
        await svc.close();
      }
    });

    void test('a plain-recipe target (GET up | service | PUT down) works, one connection at a time', async () => {
      const svc = await service(sshLike);
      const events: ForwardEvent[] = [];
      const l = await forwardTcpListen(
        { host: '127.0.0.1', port: 0 },
        { server: pipe.url, up: 'pl-up', down: 'pl-down', ...FAST, onEvent: (e) => events.push(e) },
      );
      // what `curl -sN URL/pl-up | nc 127.0.0.1 PORT | curl -sT - URL/pl-down` does
      const plain = plainTarget(`${pipe.url}/pl-up`, `${pipe.url}/pl-down`, svc.port);
      try {
        const lines = await sshSession(l.address!.port);
        assert.deepEqual(lines, ['SSH-2.0-burrowtest\r', 'reply:cba', 'reply:olleh', 'reply:zyx']);
        assert.ok(
          events.some((e) => e.type === 'connected' && e.mode === 'plain'),
          JSON.stringify(events),
        );
        await plain;
      } finally {
        await l.close();
        await svc.close();
      }
    });

    void test('a plain-recipe listener (nc -l | PUT up, GET down) reaches a burrow target', async () => {
      const svc = await service(echo);
      const events: ForwardEvent[] = [];
      const t = forwardTcpTarget(
        { host: '127.0.0.1', port: svc.port },
        { server: pipe.url, up: 'pt-up', down: 'pt-down', ...FAST, onEvent: (e) => events.push(e) },
      );
      try {
        // what `curl -sN URL/pt-down | nc -l PORT | curl -sT - URL/pt-up` does, with a client on PORT
        const data = randomBytes(200_000);
        const got = await plainListener(`${pipe.url}/pt-up`, `${pipe.url}/pt-down`, data);
        assert.ok(got.equals(data), `${got.length} of ${data.length}`);
        assert.ok(
          events.some((e) => e.type === 'connected' && e.mode === 'plain'),
          JSON.stringify(events),
        );
      } finally {
        await t.close();
        await svc.close();
      }
    });
  });
}

/** The plain target recipe in-process: GET up into a fresh service connection, its output PUT to down. */
async function plainTarget(upUrl: string, downUrl: string, port: number): Promise<void> {
  // like nc, the service connection opens at once (an SSH server greets before anything arrives)
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const put = request(downUrl, { method: 'PUT', agent: false });
  put.on('error', () => {});
  const done = new Promise<void>((resolve) =>
    put.on('response', (r: IncomingMessage) => (r.resume(), r.on('end', resolve))),
  );
  put.flushHeaders();
  s.pipe(put);
  const get = request(upUrl, { agent: false }, (res) => res.pipe(s));
  get.on('error', () => {});
  get.end();
  await done;
}

/** The plain listener recipe in-process: a client's bytes PUT to up, GET down back to the client. */
async function plainListener(upUrl: string, downUrl: string, data: Buffer): Promise<Buffer> {
  const put = request(upUrl, { method: 'PUT', agent: false });
  put.on('error', () => {});
  put.on('response', (r: IncomingMessage) => r.resume());
  put.end(data);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(downUrl, { agent: false }, resolve);
    req.on('error', reject);
    req.end();
  });
  return readAll(res);
}

void describe('forward-tcp: flat memory, fresh paths', () => {
  void test('256 MiB through one forwarded connection (burrow pipe serve): byte-exact, RSS stays flat', async () => {
    const size = 256 * 1024 * 1024;
    const pipe = await burrowPipe();
    // the service hashes what it gets and answers the digest
    const svc = await service((s) => {
      const h = createHash('sha256');
      let n = 0;
      s.on('data', (c: Buffer) => {
        h.update(c);
        n += c.length;
      });
      s.on('end', () => s.end(`${n} ${h.digest('hex')}`));
    });
    const fwd = await pair(pipe.url, svc.port, { up: 'big-up', down: 'big-down' });
    try {
      const s = net.connect({ port: fwd.port, host: '127.0.0.1', allowHalfOpen: true });
      const answer = readAll(s);
      const chunk = randomBytes(1024 * 1024);
      const expected = createHash('sha256');
      const base = process.memoryUsage().rss;
      let peak = base;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      for (let sent = 0; sent < size; sent += chunk.length) {
        expected.update(chunk);
        if (!s.write(chunk)) await once(s, 'drain');
      }
      s.end();
      const [n, digest] = (await answer).toString().split(' ');
      clearInterval(sampler);
      assert.equal(Number(n), size);
      assert.equal(digest, expected.digest('hex'));
      const grew = (peak - base) / 1024 / 1024;
      assert.ok(grew < 96, `RSS grew by ${grew.toFixed(0)} MiB moving 256 MiB`);
    } finally {
      await fwd.close();
      await svc.close();
      await pipe.close();
    }
  });

  void test('a taken path moves both sides to a fresh derived pair, printed as an event', async () => {
    const pipe = await burrowPipe();
    const svc = await service(echo);
    // strangers hold both given paths with transfers of their own (a sender and a receiver each)
    const held = ['tk-up', 'tk-down'].flatMap((p) => {
      const put = request(`${pipe.url}/${p}`, { method: 'PUT', agent: false });
      put.on('error', () => {});
      put.write('x');
      const get = request(`${pipe.url}/${p}`, { agent: false }, (res) => res.resume());
      get.on('error', () => {});
      get.end();
      return [put, get];
    });
    await waitUntil(
      async () => ((await (await fetch(`${pipe.url}/api/v1/pipe/health`)).json()) as { active: number }).active === 2,
    );
    const fwd = await pair(pipe.url, svc.port, { up: 'tk-up', down: 'tk-down' });
    try {
      const data = randomBytes(10_000);
      assert.ok((await roundTrip(fwd.port, data)).equals(data));
      const fresh = fwd.events.filter((e) => e.type === 'fresh-paths');
      assert.ok(fresh.length >= 2, JSON.stringify(fwd.events));
      assert.deepEqual(fresh[0], { type: 'fresh-paths', up: 'tk-up.1', down: 'tk-down.1' });
      assert.ok(fwd.events.some((e) => e.type === 'connected' && e.up === 'tk-up.1'));
    } finally {
      for (const r of held) r.destroy();
      await fwd.close();
      await svc.close();
      await pipe.close();
    }
  });
});
