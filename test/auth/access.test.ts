import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBurrowError } from '../../src/core/errors.js';
import { AccessPolicy, parseBasicAuthFlag, toStoredAccessRules } from '../../src/auth/access-policy.js';
import { basicAuthorization, parseAuthorization } from '../../src/auth/authorization.js';
import { FailedAuthLimiter } from '../../src/auth/failed-auth-limiter.js';
import { IpRules, normalizeAddress, parseCidr } from '../../src/auth/ip-rules.js';
import { hashPassword, verifyPassword } from '../../src/auth/password.js';
import { parseRate, TokenBucket } from '../../src/auth/rate-limit.js';
import { FakeClock } from '../helpers/clock.js';

const invalidRule = (e: unknown) => isBurrowError(e) && e.code === 'BURROW_ERR_INVALID_ACCESS_RULE';

void describe('parseAuthorization', () => {
  void it('reads Basic credentials; the password may contain colons and UTF-8', () => {
    assert.deepEqual(parseAuthorization(basicAuthorization('alice', 'pa:ss:wörd')), {
      scheme: 'basic',
      user: 'alice',
      password: 'pa:ss:wörd',
    });
    assert.deepEqual(parseAuthorization('basic ' + Buffer.from('u:').toString('base64')), {
      scheme: 'basic',
      user: 'u',
      password: '',
    });
    assert.deepEqual(parseAuthorization('  BASIC   ' + Buffer.from('u:p').toString('base64') + ' '), {
      scheme: 'basic',
      user: 'u',
      password: 'p',
    });
  });

  void it('reads Bearer tokens (token68)', () => {
    assert.deepEqual(parseAuthorization('Bearer abc.DEF-_~+/=='), { scheme: 'bearer', token: 'abc.DEF-_~+/==' });
    assert.deepEqual(parseAuthorization('bearer x'), { scheme: 'bearer', token: 'x' });
  });

  void it('refuses malformed, empty, oversized and unknown-scheme headers', () => {
    const cases: Array<string | string[] | undefined> = [
      undefined,
      '',
      'Basic',
      'Basic ',
      'Basic !!!!',
      'Basic ' + Buffer.from('nocolon').toString('base64'),
      'Basic ' + Buffer.from(':emptyuser').toString('base64'),
      'Basic abc', // bad base64 length
      'Basic a b',
      'Bearer',
      'Bearer a b',
      'Bearer a"b',
      'Digest username="x"',
      'Basic ' + 'A'.repeat(5000),
      ['Basic dTpw', 'Basic dTpw'],
    ];
    for (const c of cases) assert.equal(parseAuthorization(c), undefined, JSON.stringify(c));
  });

  void it('parses the --basic-auth flag', () => {
    assert.deepEqual(parseBasicAuthFlag('user:pa:ss'), { user: 'user', password: 'pa:ss' });
    for (const bad of ['user', ':pass', 'user:', '']) assert.throws(() => parseBasicAuthFlag(bad), invalidRule, bad);
  });
});

void describe('CIDR rules', () => {
  void it('parse IPv4, IPv6, single addresses and IPv4-mapped rules', () => {
    assert.equal(parseCidr('10.0.0.0/8').text, '10.0.0.0/8');
    assert.equal(parseCidr('192.168.1.7').text, '192.168.1.7/32');
    assert.equal(parseCidr('2001:DB8::/32').text, '2001:db8::/32');
    assert.equal(parseCidr('::1').text, '::1/128');
    assert.deepEqual(parseCidr('::ffff:10.0.0.0/104'), {
      family: 'ipv4',
      address: '10.0.0.0',
      prefix: 8,
      text: '10.0.0.0/8',
    });
    for (const bad of [
      '10.0.0.0/33',
      '2001:db8::/129',
      '10.0.0/8',
      'example.com',
      '10.0.0.0/-1',
      '10.0.0.0/',
      'fe80::1%eth0',
      '',
    ]) {
      assert.throws(() => parseCidr(bad), invalidRule, bad);
    }
  });

  void it('normalise IPv4-mapped addresses to IPv4', () => {
    assert.deepEqual(normalizeAddress('::ffff:192.0.2.1'), { address: '192.0.2.1', family: 'ipv4' });
    assert.deepEqual(normalizeAddress('::FFFF:192.0.2.1'), { address: '192.0.2.1', family: 'ipv4' });
    assert.deepEqual(normalizeAddress('2001:db8::1'), { address: '2001:db8::1', family: 'ipv6' });
    assert.equal(normalizeAddress('not-an-ip'), undefined);
  });

  void it('allow lists admit only their ranges (IPv4, IPv6 and IPv4-mapped visitors)', () => {
    const rules = new IpRules(['10.0.0.0/8', '2001:db8::/32'], []);
    assert.equal(rules.allows('10.1.2.3'), true);
    assert.equal(rules.allows('::ffff:10.1.2.3'), true);
    assert.equal(rules.allows('11.0.0.1'), false);
    assert.equal(rules.allows('::ffff:11.0.0.1'), false);
    assert.equal(rules.allows('2001:db8:ffff::1'), true);
    assert.equal(rules.allows('2001:db9::1'), false);
    assert.equal(rules.allows('garbage'), false);
  });

  void it('deny wins over allow; deny-only lists admit everything else', () => {
    const both = new IpRules(['10.0.0.0/8'], ['10.9.0.0/16']);
    assert.equal(both.allows('10.1.0.1'), true);
    assert.equal(both.allows('10.9.0.1'), false);
    const denyOnly = new IpRules([], ['192.0.2.0/24', '::1']);
    assert.equal(denyOnly.allows('192.0.2.200'), false);
    assert.equal(denyOnly.allows('::ffff:192.0.2.200'), false);
    assert.equal(denyOnly.allows('::1'), false);
    assert.equal(denyOnly.allows('198.51.100.1'), true);
    assert.equal(denyOnly.allows('garbage'), true);
  });
});

void describe('rate limits', () => {
  void it('parse 100/s, 20/m, 1000/h and refuse the rest', () => {
    assert.deepEqual(parseRate('100/s'), { count: 100, periodMs: 1000, text: '100/s' });
    assert.deepEqual(parseRate(' 20 / min '), { count: 20, periodMs: 60_000, text: '20/m' });
    assert.deepEqual(parseRate('1000/hour'), { count: 1000, periodMs: 3_600_000, text: '1000/h' });
    for (const bad of ['', '100', '0/s', '-1/s', '1.5/s', '10/d', '10/', '/s', '2000000/s']) {
      assert.throws(() => parseRate(bad), invalidRule, bad);
    }
  });

  void it('a token bucket allows the burst, then refills at the rate, with Retry-After seconds', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(parseRate('3/s'), clock.now);
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [0, 0, 0]);
    assert.equal(bucket.take(), 1);
    clock.advance(334);
    assert.equal(bucket.take(), 0);
    assert.equal(bucket.take(), 1);
    const slow = new TokenBucket(parseRate('2/m'), clock.now);
    slow.take();
    slow.take();
    assert.equal(slow.take(), 30);
    clock.advance(10_000);
    assert.equal(slow.take(), 20);
    clock.advance(60_000);
    assert.deepEqual([slow.take(), slow.take(), slow.take()], [0, 0, 30]);
  });
});

void describe('scrypt passwords', () => {
  void it('hash with a salt and verify in constant time; malformed or extreme hashes never match', async () => {
    const h = await hashPassword('s3cret');
    assert.match(h, /^scrypt\$16384\$8\$1\$/);
    assert.notEqual(h, await hashPassword('s3cret'));
    assert.equal(await verifyPassword('s3cret', h), true);
    assert.equal(await verifyPassword('s3cret!', h), false);
    assert.equal(await verifyPassword('s3cret', 'plain'), false);
    assert.equal(await verifyPassword('s3cret', h.replace('$16384$', '$1073741824$')), false);
    assert.equal(await verifyPassword('s3cret', h.replace('$16384$', '$1000$')), false);
  });
});

void describe('AccessPolicy', () => {
  const visitor = (remoteAddress: string, authorization?: string) => ({ remoteAddress, authorization });

  void it('with no rules lets everything through', async () => {
    const p = AccessPolicy.fromInput({});
    assert.equal(p.open, true);
    assert.deepEqual(await p.check(visitor('1.2.3.4')), { allow: true, stripAuthorization: false });
  });

  void it('basic auth: 401 with WWW-Authenticate, then allow (and strip the header) with the right credentials', async () => {
    const p = AccessPolicy.fromInput({ basicAuth: 'alice:wonder:land' }, { realm: 'my-app' });
    const none = await p.check(visitor('1.2.3.4'));
    assert.equal(none.allow, false);
    if (!none.allow) {
      assert.equal(none.status, 401);
      assert.equal(none.headers['WWW-Authenticate'], 'Basic realm="my-app", charset="UTF-8"');
    }
    assert.equal((await p.check(visitor('1.2.3.4', basicAuthorization('alice', 'wrong')))).allow, false);
    assert.equal((await p.check(visitor('1.2.3.4', basicAuthorization('bob', 'wonder:land')))).allow, false);
    assert.equal((await p.check(visitor('1.2.3.4', 'Bearer wonder'))).allow, false);
    assert.deepEqual(await p.check(visitor('1.2.3.4', basicAuthorization('alice', 'wonder:land'))), {
      allow: true,
      stripAuthorization: true,
    });
  });

  void it('bearer: 401 with error="invalid_token" for a wrong token, allow for the right one', async () => {
    const p = AccessPolicy.fromInput({ bearer: 'visitor-token-1' });
    const wrong = await p.check(visitor('1.2.3.4', 'Bearer nope'));
    assert.ok(!wrong.allow && wrong.status === 401 && /invalid_token/.test(String(wrong.headers['WWW-Authenticate'])));
    assert.equal((await p.check(visitor('1.2.3.4', 'Bearer visitor-token-1'))).allow, true);
  });

  void it('basic and bearer together: either works, both challenges are sent', async () => {
    const p = AccessPolicy.fromInput({ basicAuth: 'a:b', bearer: 'tok' });
    const d = await p.check(visitor('1.2.3.4'));
    assert.ok(!d.allow && Array.isArray(d.headers['WWW-Authenticate']) && d.headers['WWW-Authenticate'].length === 2);
    assert.equal((await p.check(visitor('1.2.3.4', 'Bearer tok'))).allow, true);
    assert.equal((await p.check(visitor('1.2.3.4', basicAuthorization('a', 'b')))).allow, true);
  });

  void it('IP rules answer 403 before asking for credentials', async () => {
    const p = AccessPolicy.fromInput({ allowIps: ['10.0.0.0/8'], basicAuth: 'a:b' });
    const d = await p.check(visitor('192.0.2.1', basicAuthorization('a', 'b')));
    assert.ok(!d.allow && d.status === 403 && d.code === 'BURROW_ERR_FORBIDDEN');
    assert.equal((await p.check(visitor('::ffff:10.0.0.1', basicAuthorization('a', 'b')))).allow, true);
  });

  void it('the rate limit answers 429 with Retry-After', async () => {
    const clock = new FakeClock();
    const p = AccessPolicy.fromInput({ rateLimit: '2/s' }, { now: clock.now });
    assert.equal((await p.check(visitor('1.1.1.1'))).allow, true);
    assert.equal((await p.check(visitor('2.2.2.2'))).allow, true);
    const d = await p.check(visitor('3.3.3.3'));
    assert.ok(!d.allow && d.status === 429 && d.headers['Retry-After'] === '1');
    clock.advance(500);
    assert.equal((await p.check(visitor('3.3.3.3'))).allow, true);
  });

  void it('wrong credentials count against the visitor address in a shared limiter (429 after too many)', async () => {
    const limiter = new FailedAuthLimiter({ maxAttempts: 3 });
    const p = AccessPolicy.fromInput({ basicAuth: 'a:b' }, { limiter });
    for (let i = 0; i < 3; i++)
      assert.equal((await p.check(visitor('7.7.7.7', basicAuthorization('a', `x${i}`)))).allow, false);
    const d = await p.check(visitor('7.7.7.7', basicAuthorization('a', 'b')));
    assert.ok(!d.allow && d.status === 429 && Number(d.headers['Retry-After']) > 0);
    // A visitor without credentials (a browser's first request) is not counted.
    assert.equal((await p.check(visitor('8.8.8.8'))).allow, false);
    assert.equal(limiter.retryAfter('8.8.8.8', 'visitor'), 0);
  });

  void it('refuses invalid rules with BURROW_ERR_INVALID_ACCESS_RULE', () => {
    assert.throws(() => AccessPolicy.fromInput({ allowIps: ['10.0.0.0/40'] }), invalidRule);
    assert.throws(() => AccessPolicy.fromInput({ rateLimit: 'fast' }), invalidRule);
    assert.throws(() => AccessPolicy.fromInput({ basicAuth: 'nopassword' }), invalidRule);
    assert.throws(() => AccessPolicy.fromInput({ bearer: '' }), invalidRule);
  });

  void it('stored rules hash the secrets and enforce the same decisions', async () => {
    const stored = await toStoredAccessRules(
      { basicAuth: 'alice:pw', bearer: 'bt', allowIps: ['2001:db8::/32'], rateLimit: '10/m' },
      5,
    );
    assert.equal(stored.basicUser, 'alice');
    assert.ok(stored.basicPasswordHash?.startsWith('scrypt$'));
    assert.ok(!JSON.stringify(stored).includes('"pw"') && !JSON.stringify(stored).includes('"bt"'));
    assert.equal(stored.rateLimit, '10/m');
    const p = AccessPolicy.fromStored(stored);
    assert.deepEqual(p.describe(), {
      basicAuth: true,
      bearer: true,
      allowIps: ['2001:db8::/32'],
      denyIps: [],
      rateLimit: '10/m',
    });
    assert.equal((await p.check(visitor('2001:db8::5', basicAuthorization('alice', 'pw')))).allow, true);
    // Second time comes from the verified-credentials cache.
    assert.equal((await p.check(visitor('2001:db8::5', basicAuthorization('alice', 'pw')))).allow, true);
    assert.equal((await p.check(visitor('2001:db8::5', basicAuthorization('alice', 'nope')))).allow, false);
    assert.equal((await p.check(visitor('2001:db8::5', 'Bearer bt'))).allow, true);
    assert.equal((await p.check(visitor('2001:db9::5', 'Bearer bt'))).allow, false);
  });
});
