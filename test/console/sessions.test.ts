/** The console's sessions: idle and absolute expiry on an injected clock, the CSRF check, the cap. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csrfMatches, ConsoleSessions } from '../../src/console/sessions.js';
import { sessionCookie, sessionIdOf } from '../../src/console/http.js';
import type { IncomingMessage } from 'node:http';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

test('a session ends after the idle time unused, and is kept alive by use', () => {
  const c = clock();
  const store = new ConsoleSessions({ idleMs: 1000, absoluteMs: 10_000, now: c.now });
  const s = store.create();
  c.advance(900);
  assert.equal(store.get(s.id), s, 'used within the idle time');
  c.advance(900);
  assert.equal(store.get(s.id), s, 'the last use counts, not the sign-in');
  c.advance(1000);
  assert.equal(store.get(s.id), undefined, 'idle too long');
  assert.equal(store.size, 0);
});

test('a session ends at the absolute limit however busy; peek does not count as use', () => {
  const c = clock();
  const store = new ConsoleSessions({ idleMs: 1000, absoluteMs: 3000, now: c.now });
  const s = store.create();
  for (let i = 0; i < 5; i++) {
    c.advance(500);
    assert.ok(store.get(s.id));
  }
  assert.equal(store.expiresAt(s), s.createdAt + 3000);
  c.advance(500);
  assert.equal(store.get(s.id), undefined, 'absolute limit reached');
  const t = store.create();
  c.advance(600);
  assert.ok(store.peek(t.id));
  c.advance(600);
  assert.equal(store.peek(t.id), undefined, 'peek did not keep it alive');
});

test('ids and CSRF tokens are long, random and distinct; the CSRF check needs the exact token', () => {
  const store = new ConsoleSessions();
  const a = store.create();
  const b = store.create();
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.csrf, a.id);
  assert.ok(a.id.length >= 43 && a.csrf.length >= 43);
  assert.equal(csrfMatches(a, a.csrf), true);
  assert.equal(csrfMatches(a, b.csrf), false, "another session's token");
  assert.equal(csrfMatches(a, undefined), false);
  assert.equal(csrfMatches(a, ''), false);
  assert.equal(csrfMatches(a, `${a.csrf}x`), false, 'longer');
  assert.equal(csrfMatches(a, a.csrf.slice(0, -1)), false, 'shorter');
  store.destroy(a.id);
  assert.equal(store.get(a.id), undefined, 'signed out');
});

test('the store holds at most maxSessions: the oldest goes first', () => {
  const store = new ConsoleSessions({ maxSessions: 2 });
  const a = store.create();
  const b = store.create();
  const c = store.create();
  assert.equal(store.get(a.id), undefined);
  assert.ok(store.get(b.id));
  assert.ok(store.get(c.id));
});

test('the cookie: HttpOnly, SameSite=Strict, Path=/admin, Secure only over HTTPS; read back from a Cookie header', () => {
  assert.equal(sessionCookie('abc', false), 'burrow_console=abc; Path=/admin; HttpOnly; SameSite=Strict');
  assert.equal(sessionCookie('abc', true), 'burrow_console=abc; Path=/admin; HttpOnly; SameSite=Strict; Secure');
  assert.match(sessionCookie(null, false), /^burrow_console=; Max-Age=0;/);
  const req = (cookie?: string) => ({ headers: cookie === undefined ? {} : { cookie } }) as IncomingMessage;
  assert.equal(sessionIdOf(req('a=1; burrow_console=xyz; b=2')), 'xyz');
  assert.equal(sessionIdOf(req('burrow_consolex=1')), undefined);
  assert.equal(sessionIdOf(req()), undefined);
});
