import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AccessPolicy, refusalAsError, type AccessRuleInput } from '../../src/auth/access-policy.js';
import { basicAuthorization } from '../../src/auth/authorization.js';

/** A stand-in for the server's proxy: the policy decides before the "origin" answers. */
async function guardedServer(
  rules: AccessRuleInput,
  host: string,
): Promise<{ server: Server; port: number; seenAuth: Array<string | undefined> }> {
  const policy = AccessPolicy.fromInput(rules, { realm: 'guarded' });
  const seenAuth: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    void Promise.resolve(
      policy.check({ remoteAddress: req.socket.remoteAddress ?? '', authorization: req.headers.authorization }),
    ).then((d) => {
      if (!d.allow) {
        res.writeHead(d.status, { ...d.headers, 'content-type': 'text/plain' });
        res.end(`${d.message}\n`);
        return;
      }
      if (d.stripAuthorization) delete req.headers.authorization;
      seenAuth.push(req.headers.authorization);
      res.end('origin\n');
    });
  });
  server.listen(0, host);
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return { server, port: (server.address() as AddressInfo).port, seenAuth };
}

function get(
  host: string,
  port: number,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const closeAll: Server[] = [];
after(async () => {
  await Promise.all(
    closeAll.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

void describe('visitor access rules over real sockets', () => {
  let dual: Awaited<ReturnType<typeof guardedServer>>;
  before(async () => {
    // Dual-stack listener: IPv4 visitors arrive as ::ffff:127.0.0.1.
    dual = await guardedServer({ allowIps: ['127.0.0.0/8'], basicAuth: 'ann:s3cret', rateLimit: '5/s' }, '::');
    closeAll.push(dual.server);
  });

  void it('IPv4 visitors on a dual-stack socket (IPv4-mapped) match IPv4 allow rules', async () => {
    const res = await get('127.0.0.1', dual.port);
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], 'Basic realm="guarded", charset="UTF-8"');
  });

  void it('IPv6 visitors outside the allow list get 403 before any credential check', async () => {
    const res = await get('::1', dual.port, { authorization: basicAuthorization('ann', 's3cret') });
    assert.equal(res.status, 403);
  });

  void it('right credentials reach the origin without the Authorization header; then the rate limit answers 429', async () => {
    const ok = await get('127.0.0.1', dual.port, { authorization: basicAuthorization('ann', 's3cret') });
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'origin\n');
    assert.deepEqual(dual.seenAuth, [undefined]);
    let last = ok;
    for (let i = 0; i < 10 && last.status !== 429; i++)
      last = await get('127.0.0.1', dual.port, { authorization: basicAuthorization('ann', 's3cret') });
    assert.equal(last.status, 429);
    assert.ok(Number(last.headers['retry-after']) >= 1);
  });

  void it('an IPv6 deny rule refuses ::1 and a bearer rule admits the right token', async () => {
    const v6 = await guardedServer({ denyIps: ['::1/128'] }, '::1');
    closeAll.push(v6.server);
    assert.equal((await get('::1', v6.port)).status, 403);
    const bearer = await guardedServer({ bearer: 'let-me-in' }, '127.0.0.1');
    closeAll.push(bearer.server);
    const wrong = await get('127.0.0.1', bearer.port, { authorization: 'Bearer nope' });
    assert.equal(wrong.status, 401);
    assert.match(String(wrong.headers['www-authenticate']), /error="invalid_token"/);
    assert.equal((await get('127.0.0.1', bearer.port, { authorization: 'Bearer let-me-in' })).status, 200);
  });

  void it('refusalAsError gives the server a BurrowError and flat headers', async () => {
    const d = await AccessPolicy.fromInput({ basicAuth: 'a:b', bearer: 'c' }).check({ remoteAddress: '127.0.0.1' });
    assert.equal(d.allow, false);
    if (d.allow) return;
    const { error, headers } = refusalAsError(d);
    assert.equal(error.code, 'BURROW_ERR_UNAUTHORIZED');
    assert.equal(error.status, 401);
    assert.match(headers['WWW-Authenticate'] ?? '', /^Basic realm="burrow", charset="UTF-8", Bearer realm="burrow"$/);
  });
});
