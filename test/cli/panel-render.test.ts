/**
 * The status panel's pure parts (issue 20): the rates over RATE_WINDOW_S with an injected clock, and
 * the drawing — every line within the terminal's width (escape sequences do not count), the request
 * list cut to its height, colours only when asked, the reconnect countdown.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fit, renderPanel } from '../../src/cli/panel/render.js';
import { LAST_REQUESTS_KEPT, PanelState, RATE_WINDOW_S, RateCounter } from '../../src/cli/panel/state.js';

// eslint-disable-next-line no-control-regex -- escape sequences are what is measured
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
const visible = (line: string): number => [...line.replace(ANSI, '')].length;
const T0 = 1_800_000_000_000;

test('a rate is events per second over the last RATE_WINDOW_S seconds', () => {
  const r = new RateCounter(T0);
  for (let i = 0; i < 30; i++) r.add(T0 + i * 1000); // one a second for 30 s
  assert.equal(r.rate(T0 + 30_000), 1, 'over the 30 s since the start');
  // counted per whole second: the window's oldest second may be in or out
  const inWindow = (now: number): number => r.rate(now) * RATE_WINDOW_S;
  const near = (got: number, want: number, what: string): void =>
    assert.ok(Math.abs(got - want) <= 1, `${what}: ${got} events, ${want} expected`);
  near(inWindow(T0 + RATE_WINDOW_S * 1000), 30, 'all in the full window');
  near(inWindow(T0 + (RATE_WINDOW_S + 15) * 1000), 15, 'the first 15 s left the window');
  assert.equal(r.rate(T0 + (RATE_WINDOW_S + 40) * 1000), 0, 'all of them gone');
});

test('fit() cuts to a width of visible characters and closes a colour it cut', () => {
  assert.equal(fit('abcdef', 4), 'abcd');
  assert.equal(fit('\x1b[32monline\x1b[0m now', 3), '\x1b[32monl\x1b[0m');
  assert.equal(fit('short', 10), 'short');
  assert.equal(visible(fit('\x1b[1m' + 'x'.repeat(50) + '\x1b[0m', 20)), 20);
});

function busyState(): PanelState {
  const s = new PanelState(T0);
  s.tunnels.push(
    { label: 'web', url: 'https://myapp.example.com', local: 'http://localhost:3000' },
    { label: 'db', url: 'tcp://example.com:20001', local: 'localhost:5432' },
  );
  s.inspector = 'http://127.0.0.1:4040';
  for (let i = 0; i < 25; i++) {
    s.connectionOpened(T0 + i * 100);
    s.request(
      {
        method: 'GET',
        path: `/a/very/long/path/${i}/${'x'.repeat(200)}`,
        status: 200 + i,
        durationMs: i,
        tunnel: 'web',
      },
      T0 + i * 100,
    );
  }
  s.connectionClosed();
  return s;
}

test('every line fits the terminal width; the request list keeps the newest LAST_REQUESTS_KEPT', () => {
  const s = busyState();
  assert.equal(s.last.length, LAST_REQUESTS_KEPT);
  assert.equal(s.requests.total, 25);
  for (const width of [40, 80, 200]) {
    const lines = renderPanel(s, { now: T0 + 10_000, width, height: 100, color: true });
    for (const l of lines) assert.ok(visible(l) <= width - 1, `${visible(l)} > ${width - 1}: ${l}`);
  }
  const lines = renderPanel(s, { now: T0 + 10_000, width: 120, height: 100, color: false });
  const text = lines.join('\n');
  assert.match(text, /^Connections +25 total +24 open +2\.50\/s$/m);
  assert.match(text, /^Requests +25 total +2\.50\/s$/m);
  assert.match(text, /^Inspector +http:\/\/127\.0\.0\.1:4040$/m);
  const rows = lines.slice(lines.indexOf('Last requests') + 1);
  assert.equal(rows.length, LAST_REQUESTS_KEPT);
  assert.match(rows[0]!, /^ {2}GET +\/a\/very\/long\/path\/24\/x+… +224 +24 ms +web$/, 'newest first, path cut');
});

test('the panel fits the terminal height: the request list gives way', () => {
  const s = busyState();
  const lines = renderPanel(s, { now: T0, width: 100, height: 16, color: false });
  assert.ok(lines.length <= 15, `${lines.length} lines in 16 rows (one row spare)`);
  assert.ok(lines.includes('Last requests'));
});

test('colours only when asked; the reconnect countdown in whole seconds', () => {
  const s = new PanelState(T0);
  s.session = { state: 'reconnecting', attempt: 3, nextAt: T0 + 4_200, reason: 'nothing listens at 127.0.0.1:8080' };
  const plain = renderPanel(s, { now: T0, width: 100, height: 40, color: false }).join('\n');
  assert.doesNotMatch(plain, ANSI);
  assert.match(plain, /^Session +reconnecting in 5s \(attempt 3: nothing listens at 127\.0\.0\.1:8080\)$/m);
  assert.match(plain, /^Latency +-$/m);
  const coloured = renderPanel(s, { now: T0 + 4_000, width: 100, height: 40, color: true }).join('\n');
  assert.match(coloured, /\x1b\[33mreconnecting in 1s/); // eslint-disable-line no-control-regex
});
