/**
 * Tunnels with visitor rules ride the relay (the fast path) since the request lifecycle was
 * written once (src/server/http/exchange.ts): 401/403/429 are answered on the relay from the error
 * table, the tunnel's own credentials never reach the origin, pipelined requests behind a verdict
 * keep their order, and the same rules answer the same way on Node's path (a mounted server).
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import type { AccessRuleInput } from '../../../src/auth/access-policy.js';
import { RULES_ADMISSION } from '../../helpers/admission.js';
import { basicAuthorization } from '../../../src/auth/authorization.js';
import { startStack } from '../../helpers/stack.js';

interface Seen {
  url: string;
  authorization: string | undefined;
  /** A field sent after Authorization: it must survive the cut. */
  after?: string | string[] | undefined;
}

async function guarded(ctx: TestContext, rules: AccessRuleInput) {
  const seen: Seen[] = [];
  const stack = await startStack(
    ctx,
    (req, res) => {
      seen.push({ url: req.url ?? '', authorization: req.headers.authorization, after: req.headers['x-after'] });
      res.end(`origin ${req.url}`);
    },
    { server: { admission: RULES_ADMISSION }, tunnel: { subdomain: 'guarded', access: { ...rules } } },
  );
  return { ...stack, seen, hostName: 'guarded.localhost' };
}

/** Raw bytes in, everything until the server closes (or `until` matches) out. */
async function wire(port: number, data: string, until?: RegExp): Promise<string> {
  const s = net.connect(port, '127.0.0.1');
  let got = '';
  s.setEncoding('latin1');
  s.on('data', (c: string) => {
    got += c;
    if (until?.test(got)) s.destroy();
  });
  s.write(data, 'latin1');
  await once(s, 'close');
  return got;
}

async function relayed(stack: { url: string }): Promise<number> {
  const text = await (await fetch(`${stack.url}/metrics`)).text();
  const m = /^burrow_relayed_connections_total (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

const GOOD = basicAuthorization('ann', 's3cret');

void test('a Basic-auth tunnel is carried by the relay: right credentials pass (stripped), wrong ones get 401 on the fast path', async (ctx) => {
  const t = await guarded(ctx, { basicAuth: 'ann:s3cret' });
  const before = await relayed(t);
  const ok = await wire(
    t.port,
    `GET /a HTTP/1.1\r\nHost: ${t.hostName}\r\nAuthorization: ${GOOD}\r\nX-After: kept\r\n\r\nGET /b HTTP/1.1\r\nHost: ${t.hostName}\r\nAuthorization: ${GOOD}\r\nConnection: close\r\n\r\n`,
  );
  assert.deepEqual(
    [...ok.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]),
    ['200', '200'],
  );
  assert.match(ok, /origin \/a[\s\S]*origin \/b/);
  assert.deepEqual(
    t.seen.map((s) => [s.url, s.authorization, s.after]),
    [
      ['/a', undefined, 'kept'],
      ['/b', undefined, undefined],
    ],
    'the origin never sees the tunnel’s own credentials',
  );
  assert.equal(await relayed(t), before + 1, 'one relayed connection carried both requests');

  const refused = await wire(t.port, `GET /c HTTP/1.1\r\nHost: ${t.hostName}\r\nAccept: text/html\r\n\r\n`);
  assert.match(refused, /^HTTP\/1\.1 401 /);
  assert.match(refused, /WWW-Authenticate: Basic realm=/i);
  assert.match(refused, /X-Burrow-Error: BURROW_ERR_VISITOR_UNAUTHORIZED/);
  assert.match(refused, /Content-Type: text\/html/, 'a browser gets the HTML page');
  assert.match(refused, /Connection: close/);
  assert.equal(await relayed(t), before + 2);
  assert.equal(t.seen.length, 2, 'a refused request never reaches the origin');
});

void test('pipelined requests behind a verdict keep their order; a refusal answers after the ones before it and closes', async (ctx) => {
  const t = await guarded(ctx, { basicAuth: 'ann:s3cret' });
  const got = await wire(
    t.port,
    `GET /1 HTTP/1.1\r\nHost: ${t.hostName}\r\nAuthorization: ${GOOD}\r\n\r\n` +
      `POST /2 HTTP/1.1\r\nHost: ${t.hostName}\r\nAuthorization: ${GOOD}\r\nContent-Length: 5\r\n\r\nhello` +
      `HEAD /3 HTTP/1.1\r\nHost: ${t.hostName}\r\n\r\n` +
      `GET /4 HTTP/1.1\r\nHost: ${t.hostName}\r\nAuthorization: ${GOOD}\r\n\r\n`,
  );
  assert.deepEqual(
    [...got.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]),
    ['200', '200', '401'],
  );
  assert.match(got, /origin \/1[\s\S]*origin \/2[\s\S]*401/);
  const page = got.slice(got.indexOf('HTTP/1.1 401'));
  assert.doesNotMatch(page, /\r\n\r\n\S/, 'HEAD gets no body');
  assert.deepEqual(
    t.seen.map((s) => s.url),
    ['/1', '/2'],
    'nothing after the refused request reaches the origin',
  );
});

void test('IP rules (403) and the rate limit (429, Retry-After) answer on the relay from the error table', async (ctx) => {
  const denied = await guarded(ctx, { denyIps: ['127.0.0.0/8'] });
  const r403 = await wire(denied.port, `GET / HTTP/1.1\r\nHost: ${denied.hostName}\r\n\r\n`);
  assert.match(r403, /^HTTP\/1\.1 403 /);
  assert.match(r403, /X-Burrow-Error: BURROW_ERR_VISITOR_FORBIDDEN/);
  assert.match(r403, /"code":"BURROW_ERR_VISITOR_FORBIDDEN"/, 'a tool gets JSON');
  assert.equal(denied.seen.length, 0);

  await denied.close();
  const limited = await guarded(ctx, { rateLimit: '2/min' });
  const statuses: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await wire(limited.port, `GET /${i} HTTP/1.1\r\nHost: ${limited.hostName}\r\nConnection: close\r\n\r\n`);
    statuses.push(r.slice(9, 12));
    if (i === 2) assert.match(r, /Retry-After: \d+/);
  }
  assert.deepEqual(statuses, ['200', '200', '429']);
});

void test('a WebSocket upgrade through a Bearer tunnel on the relay: refused without the token, switched with it', async (ctx) => {
  const stack = await startStack(ctx, (_req, res) => res.end('plain'), {
    server: { admission: RULES_ADMISSION },
    tunnel: { subdomain: 'ws-guarded', access: { bearer: 'tok-123' } },
  });
  stack.origin.on('upgrade', (_req: http.IncomingMessage, socket: net.Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    socket.pipe(socket);
  });
  const head = (auth: string): string =>
    `GET /ws HTTP/1.1\r\nHost: ws-guarded.localhost\r\nUpgrade: echo\r\nConnection: Upgrade\r\n${auth}\r\n`;
  const refused = await wire(stack.port, head(''));
  assert.match(refused, /^HTTP\/1\.1 401 /);

  const s = net.connect(stack.port, '127.0.0.1');
  s.setEncoding('latin1');
  let got = '';
  s.on('data', (c: string) => (got += c));
  s.write(head('Authorization: Bearer tok-123\r\n'));
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (got.includes('\r\n\r\n')) resolve();
      else s.once('data', check);
    };
    check();
  });
  assert.match(got, /^HTTP\/1\.1 101 /);
  s.write('ping');
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (got.endsWith('ping')) resolve();
      else s.once('data', check);
    };
    check();
  });
  s.destroy();
});

void test('the same rules answer the same way on Node’s path (a mounted server takes the proxy)', async (ctx) => {
  const t = await guarded(ctx, { basicAuth: 'ann:s3cret' });
  // attach() mounts burrow into another http.Server: no relay there
  const mount = http.createServer();
  t.server.attach(mount);
  mount.listen(0, '127.0.0.1');
  await once(mount, 'listening');
  ctx.after(() => new Promise<void>((resolve) => mount.close(() => resolve())));
  const port = (mount.address() as net.AddressInfo).port;
  const before = await relayed(t);
  const refused = await wire(port, `GET /n HTTP/1.1\r\nHost: ${t.hostName}\r\nConnection: close\r\n\r\n`);
  assert.match(refused, /^HTTP\/1\.1 401 /);
  assert.match(refused, /X-Burrow-Error: BURROW_ERR_VISITOR_UNAUTHORIZED/i);
  const ok = await wire(
    port,
    `GET /m HTTP/1.1\r\nHost: ${t.hostName}\r\nAuthorization: ${GOOD}\r\nConnection: close\r\n\r\n`,
  );
  assert.match(ok, /^HTTP\/1\.1 200 /);
  assert.deepEqual(t.seen.at(-1), { url: '/m', authorization: undefined, after: undefined });
  assert.equal(await relayed(t), before, 'the mounted server never used the relay');
});
